"""The window's long operations: script import, planning, generation, export, job polling.

Each runs through the engine: planning and export on the thread pool (studio.tasks),
generation as job rows run by the worker process. Engine errors are shown to the user as
one sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from engine.jobs.worker import WorkerProcess
from engine.model import Job, JobStatus
from engine.ops import jobs as job_ops
from engine.ops import story as story_ops
from engine.render.export import export_film
from studio import preferences
from studio.i18n import tr
from studio.tasks import Task, run_task, start_task

ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)

# Engine modules the window's work needs. Importing them the first time runs C extension
# initialisers that hold the GIL for tenths of a second; done on a pool thread right after
# a project opens, that cost is paid once, up front, instead of as a UI stall in the middle
# of the first generation or export.
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
        self.task: Task | None = None
        self.worker: Any = None  # our own WorkerProcess when there is no jobs dock
        self.start_worker_hook: Callable[[], None] | None = None
        self._job_state: dict[str, tuple[str, float, str]] = {}  # status, progress, shot
        self.warm_task: Task | None = None
        self.poll = QTimer(self)
        self.poll.setInterval(250)
        self.poll.timeout.connect(self.poll_jobs)

    # ------------------------------------------------------------------ lifecycle
    def attach(self, store: Any) -> None:
        self.store = store
        self._job_state = self._read_jobs()
        self.poll.start()
        if self.warm_task is None:
            self.warm_task = run_task(warm_up, pass_progress=False, label="warm up")

    def detach(self) -> None:
        self.poll.stop()
        if self.task is not None:
            self.task.cancel()
        self.stop_worker()
        self.store = None

    # ------------------------------------------------------------------ thread tasks
    def _start(self, label: str, fn: Callable[..., Any], *args: Any,
               on_done: Callable[[Any], None] | None = None, **kwargs: Any) -> Task | None:
        if self.task is not None and not self.task.done:
            self.error.emit(tr("Wait for the running task to finish, or cancel it.")
                            + f" ({self.task.label})")
            return None
        task = run_task(fn, *args, label=label, start=False, **kwargs)
        self.task = task
        task.signals.progress.connect(self.progress)
        task.signals.failed.connect(self.error)
        task.signals.cancelled.connect(lambda: self.message.emit(label + " " + tr("cancelled")))
        if on_done is not None:
            task.signals.succeeded.connect(on_done)
        task.signals.finished.connect(self._task_finished)
        self.busy.emit(label)
        start_task(task)
        return task

    def _task_finished(self) -> None:
        self.idle.emit()

    def cancel_task(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def wait(self, timeout_ms: int = 60_000) -> bool:
        """Block until the current task is done (for scripts and tests)."""
        from PySide6.QtCore import QThreadPool
        return QThreadPool.globalInstance().waitForDone(timeout_ms)

    # ------------------------------------------------------------------ script
    def import_script_file(self, path: str) -> None:
        self._start(tr("Import script"), story_ops.import_script, self.store, path,
                    on_done=lambda _r: self.message.emit(tr("Script imported.")))

    def apply_script_text(self, text: str) -> None:
        self._start(tr("Import script"), story_ops.import_script_text, self.store, text,
                    on_done=lambda _r: self.message.emit(tr("Script imported.")))

    def plan(self, idea: str | None = None) -> None:
        kwargs = preferences.llm().planner_kwargs()
        self._start(tr("Plan shots"), story_ops.plan, self.store, idea=idea, **kwargs,
                    on_done=lambda _r: self.message.emit(tr("Shots planned.")))

    # ------------------------------------------------------------------ generation
    def ensure_worker(self) -> None:
        if self.start_worker_hook is not None:
            self.start_worker_hook()
            return
        if self.worker is not None and self.worker.is_alive():
            return
        self.worker = WorkerProcess(self.store.root)
        self.worker.start()

    def stop_worker(self) -> None:
        if self.worker is not None:
            try:
                self.worker.stop()
            except Exception:  # noqa: BLE001 - shutting down anyway
                pass
            self.worker = None

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
        if self.store is None:
            return {}
        try:
            return {j.id: (str(j.status), j.progress, j.shot_id or "")
                    for j in self.store.all(Job)}
        except Exception:  # noqa: BLE001 - a locked database: try again next tick
            return self._job_state

    def poll_jobs(self) -> None:
        state = self._read_jobs()
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
        self._start(tr("Export"), export_film, self.store, out_path, preset=preset, **options,
                    on_done=lambda _r: self.message.emit(tr("Exported") + f" {out_path}"))
