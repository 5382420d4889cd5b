"""JobsDock polls job rows written by another process; cancel and retry change the rows."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine.model import Job, JobStatus, Scene, Shot
from engine.store.project import replace

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from studio.jobs_dock import JobsDock, format_eta  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def _write_progress_elsewhere(project_dir: Path, job_id: str, steps: list[float]) -> None:
    """Another process (like the worker) updates the job row step by step."""
    code = textwrap.dedent(f"""
        import time
        from engine.model import Job, JobStatus
        from engine.store import ProjectStore
        from engine.store.project import replace
        store = ProjectStore.open({str(project_dir)!r})
        for p in {steps!r}:
            job = store.get(Job, {job_id!r})
            store.update(replace(job, status=JobStatus.RUNNING, progress=p,
                                 message=f"step {{int(p * 10)}}/10"))
            time.sleep(0.3)
        store.close()
    """)
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)


@pytest.fixture
def dock(qtbot, project):
    scene = project.add(Scene(number=2))
    project.add(Shot(scene_id=scene.id, order=0))
    shot = project.add(Shot(scene_id=scene.id, order=1))
    job = project.add(Job(kind="generate", shot_id=shot.id, model_key="animatic"))
    widget = JobsDock(project)
    qtbot.addWidget(widget)
    widget.resize(900, 240)
    widget.show()
    errors: list[str] = []
    widget.show_error = errors.append
    return widget, job, errors


def test_shows_progress_written_by_another_process(dock, project, qtbot) -> None:
    widget, job, _ = dock
    row = widget.row_values(job.id)
    assert (row["kind"], row["shot"], row["status"], row["progress"]) == ("generate", "2-2",
                                                                            "queued", 0.0)
    _write_progress_elsewhere(project.root, job.id, [0.2, 0.4, 0.6])
    qtbot.waitUntil(lambda: widget.row_values(job.id)["progress"] == pytest.approx(0.6),
                    timeout=3000)
    row = widget.row_values(job.id)
    assert row["status"] == "running"
    assert row["message"] == "step 6/10"
    assert widget.summary_label.text() == "0 queued · 1 running"
    assert widget.button(job.id, "cancel").isEnabled()
    assert not widget.button(job.id, "retry").isEnabled()
    widget.grab().save("/tmp/jobs_dock.png")


def test_eta_follows_the_progress_rate(dock, project, qtbot) -> None:
    widget, job, _ = dock
    project.update(replace(project.get(Job, job.id), status=JobStatus.RUNNING, progress=0.1))
    widget.poll()
    qtbot.wait(400)
    project.update(replace(project.get(Job, job.id), progress=0.5))
    widget.poll()
    eta = widget.row_values(job.id)["eta"]
    assert eta.endswith("s") and eta != "—"
    seconds = int(eta.rstrip("s"))
    assert 0 <= seconds <= 2  # 0.4 in ~0.4 s → ~0.5 s left


def test_cancel_button_sets_the_row_status_and_retry_requeues(dock, project, qtbot) -> None:
    widget, job, _ = dock
    qtbot.mouseClick(widget.button(job.id, "cancel"), Qt.MouseButton.LeftButton)
    assert project.get(Job, job.id).status == JobStatus.CANCELLED
    assert widget.row_values(job.id)["status"] == "cancelled"
    assert not widget.button(job.id, "cancel").isEnabled()
    widget.button(job.id, "retry").click()
    again = project.get(Job, job.id)
    assert again.status == JobStatus.QUEUED and again.progress == 0.0


def test_failed_job_shows_its_reason(dock, project, qtbot) -> None:
    widget, job, _ = dock
    finished: list[tuple[str, str]] = []
    widget.jobFinished.connect(lambda jid, status: finished.append((jid, status)))
    project.update(replace(project.get(Job, job.id), status=JobStatus.FAILED,
                           error="Out of GPU memory at 480p; try the draft quality."))
    qtbot.waitUntil(lambda: widget.row_values(job.id)["status"] == "failed", timeout=2000)
    assert widget.row_values(job.id)["message"] == (
        "Out of GPU memory at 480p; try the draft quality.")
    assert finished == [(job.id, "failed")]
    assert widget.button(job.id, "retry").isEnabled()
    widget.hide_finished.setChecked(True)
    assert widget.table.rowCount() == 0
    assert not widget.empty_label.isHidden()
    widget.hide_finished.setChecked(False)
    done = project.add(Job(kind="export", status=JobStatus.DONE, progress=1.0))
    widget.poll()
    assert widget.table.rowCount() == 2
    assert widget.clear_finished() == 1  # the failed job stays with its reason
    assert project.get(Job, done.id) is None and widget.table.rowCount() == 1


def test_start_worker_reports_or_runs(dock, qtbot) -> None:
    widget, _, errors = dock
    started = widget.start_worker()
    if started:
        assert widget.worker_running()
        from engine.jobs.worker import LOCK_NAME

        # the worker clears stale stop flags as it starts: wait until it holds the queue
        qtbot.waitUntil(lambda: (widget.store.cache_dir / LOCK_NAME).exists(), timeout=20_000)
        widget.shutdown()
        assert not widget.worker_running()
    else:
        assert errors == ["The generation worker is not available yet."]
        assert not widget.worker_running()


def test_format_eta() -> None:
    assert format_eta(None) == "—"
    assert format_eta(42.4) == "42s"
    assert format_eta(125) == "2m05s"
    assert format_eta(3 * 3600 + 61) == "3h01m"


def test_worker_started_from_the_dock_runs_an_animatic_job(qtbot, project, tmp_path) -> None:
    pytest.importorskip("engine.jobs.worker")
    from fractions import Fraction

    from engine.jobs.queue import JobQueue

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
        qtbot.waitUntil(lambda: widget.row_values(job.id)["status"] == "done", timeout=90_000)
    finally:
        widget.shutdown()
    assert widget.row_values(job.id)["progress"] == 1.0
    assert len(project.takes(shot.id)) == 1
    assert states[0] is True and not widget.worker_running()
