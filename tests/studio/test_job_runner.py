"""The studio's one runner: every long task is a Job row, its outcome back on the UI thread."""

from __future__ import annotations

import gc
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from engine.errors import StoryreelError
from engine.jobs import kinds
from engine.jobs.queue import JobQueue
from engine.jobs.runner import LocalRunner
from engine.model import JobStatus
from studio.job_runner import StudioJobs
from tests.studio.test_timeline_view import make_tiny_project


@pytest.fixture
def slow_kind(monkeypatch) -> dict[str, Any]:
    """A job kind that reports steps until cancelled or told to finish."""
    state: dict[str, Any] = {"threads": [], "started": threading.Event(),
                             "finish": threading.Event()}

    def slow(store, params, progress, cancel):
        state["threads"].append(threading.get_ident())
        state["started"].set()
        i = 0
        while not state["finish"].is_set():
            cancel.check()
            progress(min(0.9, i / 200), f"step {i}")
            i += 1
            state["finish"].wait(0.01)
        if params.get("fail"):
            raise StoryreelError("The script is empty.")
        return {"steps": i}

    monkeypatch.setitem(kinds.HANDLERS, "slow-test", slow)
    return state


def test_a_job_reports_progress_and_its_result_on_the_ui_thread(qtbot, project,
                                                                slow_kind) -> None:
    jobs = StudioJobs(project)
    results: list[tuple[dict[str, Any], int]] = []
    progress: list[float] = []
    ticket = jobs.submit("slow-test", {}, done=lambda r: results.append(
        (r, threading.get_ident())), progress=lambda job: progress.append(job.progress))
    assert ticket.job_id is None or ticket.status is JobStatus.QUEUED  # not run here
    qtbot.waitUntil(lambda: len(progress) >= 2, timeout=10_000)
    row = JobQueue(project).get(ticket.job_id)
    assert row.kind == "slow-test" and row.status is JobStatus.RUNNING
    slow_kind["finish"].set()
    qtbot.waitUntil(lambda: ticket.done, timeout=10_000)
    assert results and results[0][1] == threading.get_ident()  # delivered on the UI thread
    assert results[0][0]["steps"] > 0 and ticket.result == results[0][0]
    assert slow_kind["threads"][0] != threading.get_ident()
    row = JobQueue(project).get(ticket.job_id)
    assert row.status is JobStatus.DONE and row.result["steps"] == results[0][0]["steps"]
    assert progress == sorted(progress)
    jobs.close()


def test_cancel_stops_a_running_job_and_one_not_yet_written(qtbot, project,
                                                            slow_kind) -> None:
    jobs = StudioJobs(project)
    cancelled: list[str] = []
    running = jobs.submit("slow-test", {}, cancelled=lambda: cancelled.append("running"))
    assert slow_kind["started"].wait(10)
    t0 = time.monotonic()
    running.cancel()
    qtbot.waitUntil(lambda: running.done, timeout=10_000)
    assert time.monotonic() - t0 < 5
    early = jobs.submit("slow-test", {}, cancelled=lambda: cancelled.append("early"))
    early.cancel()  # before its row is written: cancelled as soon as it is
    qtbot.waitUntil(lambda: early.done, timeout=10_000)
    assert sorted(cancelled) == ["early", "running"]
    rows = {j.id: j.status for j in JobQueue(project).jobs()}
    assert rows == {running.job_id: JobStatus.CANCELLED, early.job_id: JobStatus.CANCELLED}
    jobs.close()


def test_a_failure_is_the_engines_sentence(qtbot, project, slow_kind) -> None:
    jobs = StudioJobs(project)
    failures: list[str] = []
    slow_kind["finish"].set()
    ticket = jobs.submit("slow-test", {"fail": True}, failed=failures.append)
    refused = jobs.submit("no-such-kind", {}, failed=failures.append)
    qtbot.waitUntil(lambda: ticket.done and refused.done, timeout=10_000)
    assert sorted(failures) == ["Storyreel has no job kind 'no-such-kind'.",
                                "The script is empty."]
    assert JobQueue(project).get(ticket.job_id).status is JobStatus.FAILED
    assert refused.job_id is None  # no row for a kind that does not exist
    jobs.close()


def test_a_preview_mix_is_a_job_that_leaves_no_part_file_when_cancelled(qtbot, project,
                                                                        tmp_path) -> None:
    make_tiny_project(project, tmp_path, durations=(1.0, 0.5))
    jobs = StudioJobs(project)
    ticket = jobs.submit(kinds.PREVIEW_MIX, {})
    qtbot.waitUntil(lambda: ticket.done, timeout=30_000)
    assert ticket.status is JobStatus.DONE, ticket.error
    path = Path(ticket.result["path"])
    assert path.is_file() and path.parent == project.cache_dir / "preview"
    assert ticket.result["rate"] == 48000 and ticket.result["frames"] == 72000
    path.unlink()
    again = jobs.submit(kinds.PREVIEW_MIX, {})
    again.cancel()
    qtbot.waitUntil(lambda: again.done, timeout=30_000)
    assert again.status is JobStatus.CANCELLED
    assert list((project.cache_dir / "preview").glob("*mix*")) == []
    jobs.close()


def _runners_of(store: Any) -> list[LocalRunner]:
    gc.collect()
    return [o for o in gc.get_objects() if type(o) is LocalRunner and o.store is store]


def test_the_window_owns_one_runner_for_every_long_task(window, qtbot, tmp_path) -> None:
    """Export, preview mix and voice sample of an open window: job rows of its runner."""
    from engine.audio import tts
    from engine.store import ProjectStore
    from studio.export_dialog import ExportDialog

    folder = tmp_path / "film.storyreel"
    store = ProjectStore.create(folder, _project())
    make_tiny_project(store, tmp_path, durations=(1.0, 0.5))
    store.close()
    assert window.open_project(str(folder))
    store = window.store
    runner = window.job_runner
    assert isinstance(runner, StudioJobs)
    # the export dialog, opened from the window, follows an export job of that runner
    window.act_export.trigger()
    dialog = window.dialogs.shown[-1]
    assert isinstance(dialog, ExportDialog)
    dialog.show_error = window.errors.append
    dialog.set_preset("draft")
    out = tmp_path / "from-window.mp4"
    with qtbot.waitSignal(dialog.finished, timeout=60_000):
        assert dialog.start_export(out)
    assert out.is_file() and window.errors == []
    export_row = JobQueue(store).get(dialog.job_id)
    assert export_row.kind == kinds.EXPORT and export_row.status is JobStatus.DONE
    assert export_row.result["report"]["path"] == str(out)
    # the timeline's preview sound is a preview-mix job of the same runner
    window.tabs.setCurrentWidget(window.timeline)
    qtbot.waitUntil(lambda: window.timeline.timeline is not None, timeout=10_000)
    window.timeline.preview_cut()
    qtbot.waitUntil(lambda: window.timeline.player._audio is not None, timeout=30_000)
    sound = JobQueue(store).get(window.timeline.sound_task.job_id)
    assert sound.kind == kinds.PREVIEW_MIX and sound.status is JobStatus.DONE
    kinds_seen = [kinds.EXPORT, kinds.PREVIEW_MIX]
    if "espeak" in tts.available_backends():
        window.cast.add_character("林雨")
        with qtbot.waitSignal(window.cast.sample_ready, timeout=30_000):
            window.cast.play_button.click()
        sample = JobQueue(store).get(window.cast._sample_task.job_id)
        assert sample.kind == kinds.VOICE_SAMPLE and sample.status is JobStatus.DONE
        kinds_seen.append(kinds.VOICE_SAMPLE)
    # every one went through the window's runner: one LocalRunner for this project
    assert window.timeline.jobs is runner and dialog.jobs is runner
    assert _runners_of(store) == [runner.runner]
    # the jobs dock lists them all
    qtbot.waitUntil(lambda: all(j in window.jobs_dock._row_of for j in
                                [export_row.id, sound.id]), timeout=5_000)
    assert window.jobs_dock.row_values(export_row.id)["kind"] == "export"
    assert sorted({j.kind for j in JobQueue(store).jobs()}) == sorted(kinds_seen)
    window.jobs_dock.grab().save(str(tmp_path / "jobs_dock.png"))


def _project() -> Any:
    from engine.model import Project

    return Project(title="雨夜")


def test_cancel_from_the_dock_stops_the_dialogs_export(window, qtbot, tmp_path) -> None:
    """The dock's Cancel cancels the dialog's export job: no file, the row cancelled."""
    from engine.store import ProjectStore

    folder = tmp_path / "long.storyreel"
    store = ProjectStore.create(folder, _project())
    make_tiny_project(store, tmp_path, durations=(2.0, 2.0, 2.0))
    store.close()
    assert window.open_project(str(folder))
    window.act_export.trigger()
    dialog = window.dialogs.shown[-1]
    dialog.show_error = window.errors.append
    dialog.set_preset("draft")
    out = tmp_path / "stopped.mp4"
    dock = window.jobs_dock
    assert dialog.start_export(out)
    qtbot.waitUntil(lambda: dialog.job_id is not None and dialog.job_id in dock._row_of
                    and dock.row_values(dialog.job_id)["progress"] > 0, timeout=60_000)
    with qtbot.waitSignal(dialog.cancelled, timeout=30_000):
        dock.button(dialog.job_id, "cancel").click()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("stopped.mp4")] == []
    assert JobQueue(window.store).get(dialog.job_id).status is JobStatus.CANCELLED
    assert window.errors == []
    assert dialog.status_label.text() == "Export cancelled; no file was written."
    # Retry in the dock runs the same export row again in the window's runner
    job_id = dialog.job_id
    qtbot.waitUntil(lambda: dock.button(job_id, "retry").isEnabled(), timeout=5_000)
    dock.button(job_id, "retry").click()
    qtbot.waitUntil(lambda: JobQueue(window.store).get(job_id).status is JobStatus.DONE,
                    timeout=90_000)
    assert out.is_file() and _runners_of(window.store) == [window.job_runner.runner]


def test_closing_the_project_cancels_its_jobs_and_a_closed_dialog_is_not_told(
        window, qtbot, tmp_path) -> None:
    from engine.store import ProjectStore

    folder = tmp_path / "closing.storyreel"
    store = ProjectStore.create(folder, _project())
    make_tiny_project(store, tmp_path, durations=(1.0, 0.5))
    store.close()
    assert window.open_project(str(folder))
    # an export whose dialog is gone before it ends: the job still ends, nobody is told
    window.act_export.trigger()
    gone = window.dialogs.shown[-1]
    gone.set_preset("draft")
    gone.in_process = True
    first = tmp_path / "first.mp4"
    assert gone.start_export(first)
    qtbot.waitUntil(lambda: gone.job_id is not None, timeout=10_000)
    first_id = gone.job_id
    gone.deleteLater()
    qtbot.waitUntil(lambda: JobQueue(window.store).get(first_id).status is JobStatus.DONE,
                    timeout=60_000)
    assert first.is_file()
    # closing the project while an export runs cancels it: no file, the row cancelled
    window.act_export.trigger()
    dialog = window.dialogs.shown[-1]
    dialog.set_preset("draft")
    out = tmp_path / "closed.mp4"
    assert dialog.start_export(out)
    qtbot.waitUntil(lambda: dialog.job_id is not None, timeout=10_000)
    job_id = dialog.job_id
    window.close_project()
    assert window.job_runner is None
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("closed.mp4")] == []
    with ProjectStore.open(folder) as reopened:
        assert JobQueue(reopened).get(job_id).status is JobStatus.CANCELLED
