"""The window's long operations: script import, planning, generation, export, job polling.

Each is a job row: import, planning and export run in the window's one local runner
(``studio.job_runner.StudioJobs``), generation in the worker process. The jobs dock shows
them all; the status bar follows the window's current task. Engine errors are shown to
the user as one sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from engine.jobs import kinds
from engine.model import Job, JobStatus
from engine.ops import jobs as job_ops
from studio import preferences
from studio.background import shared_reader
from studio.i18n import tr
from studio.job_runner import JobTicket, StudioJobs

ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)

# Engine modules the window's work needs. Importing them the first time runs C extension
# initialisers that hold the GIL for tenths of a second; done on the background thread
# right after a project opens, that cost is paid once, up front, instead of as a UI stall
# in the middle of the first generation or export.
WARM_MODULES = (
    "engine.story.importer", "engine.story.planner", "engine.ops.story", "engine.jobs.queue",
    "engine.generate.service", "engine.generate.animatic", "engine.render.timeline_builder",
    "engine.render.export", "engine.audio.mix", "engine.audio.loudness", "engine.audio.voices",
    "engine.interchange.subtitles", "av",
)


def warm_up(modules: tuple[str, ...] = WARM_MODULES) -> list[str]:
    """Import ``modules`` (by name: warming them is the point); returns the ones imported."""
    import importlib

    for name in modules:
        importlib.import_module(name)
    return list(modules)


class WarmUp:
    """The engine modules imported on the studio's background thread after opening."""

    def __init__(self) -> None:
        self.done = False
        self.result: list[str] = []

    def run(self) -> None:
        try:
            self.result = warm_up()
        finally:
            self.done = True


class _Relay(QObject):
    read = Signal(object)  # the job rows' state, read on the background thread


class Workflows(QObject):
    """Starts engine work for the window and reports back with signals (UI thread)."""

    busy = Signal(str)  # a task started: its label
    progress = Signal(float, str)
    idle = Signal()
    message = Signal(str)  # status bar text
    error = Signal(str)
    jobs_changed = Signal()  # job rows changed status (takes may have arrived)
    shot_progress = Signal(dict)  # shot id → progress of its active job

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store: Any = None
        self.jobs: StudioJobs | None = None  # the window's runner (set by attach)
        self.task: JobTicket | None = None
        self.start_worker_hook: Callable[[], None] | None = None
        self._job_state: dict[str, tuple[str, float, str]] = {}  # status, progress, shot
        self._reading = False
        self._relay = _Relay(self)
        self._relay.read.connect(self._apply_jobs)
        self.warm_task: WarmUp | None = None
        self.poll = QTimer(self)
        self.poll.setInterval(250)
        self.poll.timeout.connect(self.poll_jobs)

    # ------------------------------------------------------------------ lifecycle
    def attach(self, store: Any, jobs: StudioJobs) -> None:
        self.store = store
        self.jobs = jobs
        self._job_state = {}
        self.poll.start()
        self.poll_jobs()
        if self.warm_task is None:
            self.warm_task = WarmUp()
            shared_reader().submit(self.warm_task.run)

    def detach(self) -> None:
        self.poll.stop()
        if self.task is not None:
            self.task.cancel()
        self.store = None
        self.jobs = None

    # ------------------------------------------------------------------ local jobs
    def _start(self, label: str, kind: str, params: dict[str, Any],
               done_message: str) -> JobTicket | None:
        if self.jobs is None:
            return None
        if self.task is not None and not self.task.done:
            self.error.emit(tr("Wait for the running task to finish, or cancel it.")
                            + f" ({self.task.label})")
            return None

        def done(_result: dict[str, Any]) -> None:
            self.message.emit(done_message)
            self.idle.emit()

        def failed(sentence: str) -> None:
            self.error.emit(sentence)
            self.idle.emit()

        def cancelled() -> None:
            self.message.emit(label + " " + tr("cancelled"))
            self.idle.emit()

        self.task = self.jobs.submit(
            kind, params, label=label, done=done, failed=failed, cancelled=cancelled,
            progress=lambda job: self.progress.emit(float(job.progress), job.message))
        self.busy.emit(label)
        return self.task

    def cancel_task(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def wait(self, timeout_ms: int = 60_000) -> bool:
        """Block until the window's jobs are done (closing, scripts and tests)."""
        return self.jobs is None or self.jobs.wait(timeout_ms / 1000)

    # ------------------------------------------------------------------ script
    def import_script_file(self, path: str) -> None:
        self._start(tr("Import script"), kinds.IMPORT_SCRIPT, {"path": str(path)},
                    tr("Script imported."))

    def apply_script_text(self, text: str) -> None:
        self._start(tr("Import script"), kinds.IMPORT_SCRIPT, {"text": text},
                    tr("Script imported."))

    def plan(self, idea: str | None = None) -> None:
        params = {k: (str(v) if k == "model_path" else v)
                  for k, v in preferences.llm().planner_kwargs().items() if v is not None}
        if idea is not None:
            params["idea"] = idea
        self._start(tr("Plan shots"), kinds.PLAN, params, tr("Shots planned."))

    # ------------------------------------------------------------------ generation
    def ensure_worker(self) -> None:
        """Start the generation worker: the jobs dock owns it (the window's one owner)."""
        if self.start_worker_hook is not None:
            self.start_worker_hook()

    def generate(self, shot_ids: list[str], quality: str = "draft", takes: int = 1
                 ) -> list[Any]:
        if not shot_ids:
            self.error.emit(tr("Select one or more shots to generate."))
            return []
        try:
            jobs: list[Any] = job_ops.enqueue_generation(self.store, shot_ids, quality=quality,
                                                          takes=takes)
            self.ensure_worker()
        except Exception as exc:  # noqa: BLE001 - the engine's sentence, as a dialog
            self.error.emit(str(exc))
            return []
        self.message.emit(tr("Queued generation of") + f" {len(shot_ids)} " + tr("shots"))
        self.poll_jobs()
        return jobs

    def _read_jobs(self) -> dict[str, tuple[str, float, str]]:
        return {j.id: (str(j.status), j.progress, j.shot_id or "")
                for j in self.store.all(Job)}

    def poll_jobs(self) -> None:
        """Read the job rows on the background thread; applied on the UI thread."""
        store = self.store
        if store is None or self._reading:
            return
        self._reading = True
        relay = self._relay

        def work() -> None:
            try:
                state: Any = {j.id: (str(j.status), j.progress, j.shot_id or "")
                              for j in store.all(Job)}
            except Exception:  # noqa: BLE001 - a locked or closed database: next tick
                state = None
            try:
                relay.read.emit(state)
            except RuntimeError:  # the window is gone
                pass

        shared_reader().submit(work)

    def _apply_jobs(self, state: dict[str, tuple[str, float, str]] | None) -> None:
        self._reading = False
        if state is None or self.store is None:
            return
        if state != self._job_state:
            statuses_changed = any(
                self._job_state.get(k, ("", 0.0, ""))[0] != v[0] for k, v in state.items())
            self._job_state = state
            if statuses_changed:
                self.jobs_changed.emit()
            self.shot_progress.emit(self.running_shots())

    def active_jobs(self) -> int:
        return sum(1 for s, _, _ in self._job_state.values() if s in ACTIVE)

    def running_shots(self) -> dict[str, float]:
        """Shot id → progress of its running (or queued, 0.0) generation job."""
        return {shot: progress for status, progress, shot in self._job_state.values()
                if shot and status in ACTIVE}

    # ------------------------------------------------------------------ export
    def export_film(self, out_path: str, preset: str = "douyin", **options: Any) -> None:
        self._start(tr("Export"), kinds.EXPORT,
                    {"out_path": str(out_path), "preset": preset, "isolated": True, **options},
                    tr("Exported") + f" {out_path}")
