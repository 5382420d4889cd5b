"""JobsDock polls job rows written by another process; cancel and retry change the rows."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
import types
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from engine.jobs.queue import JobQueue
from engine.jobs.worker import LOCK_NAME
from engine.model import Job, JobStatus, Scene, Shot
from studio import jobs_dock
from studio.jobs_dock import JobsDock, format_eta

ROOT = Path(__file__).resolve().parents[2]
CHILD_TIMEOUT = 60


class _Worker:
    """Another process (like the worker) that claims the job through JobQueue and reports
    one progress step each time the test says ``next``, so the test sees every step."""

    def __init__(self, project_dir: Path, steps: list[float]) -> None:
        code = textwrap.dedent(f"""
            import sys
            from engine.jobs.queue import JobQueue
            from engine.store import ProjectStore
            store = ProjectStore.open({str(project_dir)!r})
            queue = JobQueue(store)
            job = queue.claim_next()
            print(job.id, flush=True)
            for p in {steps!r}:
                assert sys.stdin.readline().strip() == "next"
                assert queue.report(job.id, p, f"step {{round(p * 10)}}/10")
                print(p, flush=True)
            store.close()
        """)
        self.proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin, self.stdout = self.proc.stdin, self.proc.stdout

    def claimed(self) -> str:
        return self.stdout.readline().strip()

    def step(self) -> float:
        """Let the child write its next step; returns the progress it committed."""
        self.stdin.write("next\n")
        self.stdin.flush()
        return float(self.stdout.readline())

    def close(self) -> int:
        self.stdin.close()
        try:
            return self.proc.wait(timeout=CHILD_TIMEOUT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


class _Clock:
    """A settable monotonic clock for the dock, so the ETA from the observed rate is exact."""

    def __init__(self, now: float) -> None:
        self.now = now

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def dock(qtbot, project):
    scene = project.add(Scene(number=2))
    project.add(Shot(scene_id=scene.id, order=0))
    shot = project.add(Shot(scene_id=scene.id, order=1))
    job, = JobQueue(project).enqueue_generation([shot.id], backend="animatic")
    widget = JobsDock(project)
    qtbot.addWidget(widget)
    widget.resize(900, 240)
    widget.show()
    errors: list[str] = []
    widget.show_error = errors.append
    # the rows are read on the background thread, never the UI's: shown once they arrive
    qtbot.waitUntil(lambda: job.id in widget._row_of, timeout=5000)
    yield widget, job, errors
    widget.shutdown()


def test_shows_progress_written_by_another_process(dock, project, qtbot) -> None:
    widget, job, _ = dock
    row = widget.row_values(job.id)
    assert (row["kind"], row["shot"], row["status"], row["progress"]) == ("generate", "2-2",
                                                                            "queued", 0.0)
    child = _Worker(project.root, [0.2, 0.4, 0.6])
    try:
        assert child.claimed() == job.id
        qtbot.waitUntil(lambda: widget.row_values(job.id)["status"] == "running",
                        timeout=3000)
        for expected in (0.2, 0.4, 0.6):  # the dock's own timer sees each committed step
            assert child.step() == expected
            qtbot.waitUntil(
                lambda p=expected: widget.row_values(job.id)["progress"] == pytest.approx(p),
                timeout=3000)
            assert widget.row_values(job.id)["message"] == f"step {round(expected * 10)}/10"
    finally:
        assert child.close() == 0
    row = widget.row_values(job.id)
    assert row["status"] == "running"
    assert row["message"] == "step 6/10"
    assert widget.summary_label.text() == "0 queued · 1 running"
    assert widget.button(job.id, "cancel").isEnabled()
    assert not widget.button(job.id, "retry").isEnabled()
    widget.grab().save("/tmp/jobs_dock.png")


def test_eta_follows_the_progress_rate(dock, project, monkeypatch) -> None:
    widget, job, _ = dock
    clock = _Clock(1000.0)
    monkeypatch.setattr(jobs_dock, "time", types.SimpleNamespace(monotonic=clock.monotonic,
                                                                 time=time.time))
    queue = JobQueue(project)
    assert queue.claim_next().id == job.id
    assert queue.report(job.id, 0.1, "step 1/10")
    widget.poll()  # the first observation of the running job: where the rate starts
    clock.now += 4.0
    assert queue.report(job.id, 0.5, "step 5/10")
    widget.poll()
    assert widget.row_values(job.id)["eta"] == "5s"  # 0.4 in 4 s → 0.5 left in 5 s
    clock.now += 2.0
    assert queue.report(job.id, 0.7, "step 7/10")
    widget.poll()
    assert widget.row_values(job.id)["eta"] == "3s"  # 0.6 in 6 s → 0.3 left in 3 s
    queue.finish(job.id, JobStatus.DONE)
    widget.poll()
    assert widget.row_values(job.id)["eta"] == "—"


def test_first_eta_is_the_engines_estimate_from_the_start(dock, project) -> None:
    """Before the dock has seen the progress move, the ETA is engine.jobs.kinds'
    estimate from the job's start: half done after 10 s → 10 s left."""
    from datetime import UTC, datetime, timedelta

    widget, job, _ = dock
    queue = JobQueue(project)
    assert queue.claim_next().id == job.id
    assert queue.report(job.id, 0.5, "step 5/10")
    started = (datetime.now(UTC) - timedelta(seconds=10)).isoformat()
    queue._exec("UPDATE jobs SET started_at=:t WHERE id=:id", t=started, id=job.id)
    widget.poll()
    assert widget.row_values(job.id)["eta"] in ("10s", "11s")


def test_cancel_button_sets_the_row_status_and_retry_requeues(dock, project, qtbot) -> None:
    widget, job, _ = dock
    ui_thread = threading.get_ident()
    writers: list[int] = []
    real_cancel = JobQueue.cancel

    def cancel(self, job_id):
        writers.append(threading.get_ident())
        return real_cancel(self, job_id)

    JobQueue.cancel = cancel
    try:
        with qtbot.waitSignal(widget.acted, timeout=5000):
            qtbot.mouseClick(widget.button(job.id, "cancel"), Qt.MouseButton.LeftButton)
    finally:
        JobQueue.cancel = real_cancel
    assert writers and ui_thread not in writers  # the row is written off the UI thread
    assert project.get(Job, job.id).status == JobStatus.CANCELLED
    assert widget.row_values(job.id)["status"] == "cancelled"
    assert not widget.button(job.id, "cancel").isEnabled()
    with qtbot.waitSignal(widget.acted, timeout=5000):
        widget.button(job.id, "retry").click()
    again = project.get(Job, job.id)
    assert again.status == JobStatus.QUEUED and again.progress == 0.0


def test_failed_job_shows_its_reason(dock, project, qtbot) -> None:
    widget, job, _ = dock
    finished: list[tuple[str, str]] = []
    widget.jobFinished.connect(lambda jid, status: finished.append((jid, status)))
    queue = JobQueue(project)
    assert queue.claim_next().id == job.id
    assert queue.finish(job.id, JobStatus.FAILED, message="failed",
                        error="Out of GPU memory at 480p; try the draft quality.")
    qtbot.waitUntil(lambda: widget.row_values(job.id)["status"] == "failed", timeout=2000)
    assert widget.row_values(job.id)["message"] == (
        "Out of GPU memory at 480p; try the draft quality.")
    assert finished == [(job.id, "failed")]
    assert widget.button(job.id, "retry").isEnabled()
    widget.hide_finished.setChecked(True)
    assert widget.table.rowCount() == 0
    assert not widget.empty_label.isHidden()
    widget.hide_finished.setChecked(False)
    done, = queue.enqueue_generation([job.shot_id], backend="animatic")
    assert queue.claim_next().id == done.id
    assert queue.finish(done.id, JobStatus.DONE, message="done")
    widget.poll()
    assert widget.table.rowCount() == 2
    with qtbot.waitSignal(widget.acted, timeout=5000) as cleared:
        widget.clear_finished()
    assert cleared.args[:2] == ["clear", 1]  # the failed job stays with its reason
    assert [j.id for j in queue.jobs()] == [job.id] and widget.table.rowCount() == 1


def test_start_worker_runs_it_and_shutdown_stops_it(dock, qtbot) -> None:
    widget, _, errors = dock
    states: list[bool] = []
    widget.workerStateChanged.connect(states.append)
    assert widget.start_worker(), errors
    assert errors == [] and widget.worker_running()
    assert widget.worker_label.text() == "Worker: running"
    assert widget.start_worker() and widget.worker_running()  # a second start: same worker
    # the worker clears stale stop flags as it starts: wait until it holds the queue
    lock = widget.store.cache_dir / LOCK_NAME
    pid = str(widget.worker.pid)
    qtbot.waitUntil(lambda: lock.exists() and lock.read_text().strip() == pid, timeout=20_000)
    widget.shutdown()
    assert not widget.worker_running() and widget.worker.proc.returncode == 0
    assert states == [True, False] and widget.worker_label.text() == "Worker: stopped"
    assert errors == []


def test_format_eta() -> None:
    assert format_eta(None) == "—"
    assert format_eta(42.4) == "42s"
    assert format_eta(125) == "2m05s"
    assert format_eta(3 * 3600 + 61) == "3h01m"


def test_worker_started_from_the_dock_runs_an_animatic_job(qtbot, project, tmp_path) -> None:
    from fractions import Fraction

    settings = project.project
    settings.fps, settings.width, settings.height = Fraction(12), 96, 160
    project.update(settings)
    scene = project.add(Scene(number=1, heading="第1场 夜 外 天台"))
    shot = project.add(Shot(scene_id=scene.id, duration=1.0, action="她望向城市的灯火"))
    job, = JobQueue(project).enqueue_generation([shot.id], backend="animatic")
    widget = JobsDock(project)
    qtbot.addWidget(widget)
    errors: list[str] = []
    widget.show_error = errors.append
    states: list[bool] = []
    widget.workerStateChanged.connect(states.append)
    assert widget.start_worker(), errors
    try:
        qtbot.waitUntil(lambda: job.id in widget._row_of
                        and widget.row_values(job.id)["status"] == "done", timeout=90_000)
    finally:
        widget.shutdown()
    assert widget.row_values(job.id)["progress"] == 1.0
    assert len(project.takes(shot.id)) == 1
    assert states[0] is True and not widget.worker_running()


def test_a_job_without_a_shot_names_what_it_works_on(dock, project, qtbot) -> None:
    widget, _job, _ = dock
    queue = JobQueue(project)
    film = queue.submit("export", {"out_path": "/tmp/x.mp4"})
    episode = queue.submit("export", {"out_path": "/tmp/e2.mp4", "episode": 2})
    script = queue.submit("import-script", {"text": "第1场"})
    qtbot.waitUntil(lambda: script.id in widget._row_of, timeout=5000)
    assert [widget.row_values(j.id)["shot"] for j in (film, episode, script)] == \
        ["the film", "Episode 2", "the script"]
