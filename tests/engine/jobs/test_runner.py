"""Local jobs: every long task is a Job row with progress, cancel, ETA and a result."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest

from engine.jobs import kinds
from engine.jobs.queue import JobQueue
from engine.jobs.runner import LocalRunner
from engine.model import JobStatus, Project
from engine.model import entities as E
from engine.store import ProjectStore

SCRIPT = """第1场 夜 内 客厅
△ 雨声。林雨坐在窗边。
林雨：你终于来了。
陈默：对不起，我来晚了。
"""


@pytest.fixture
def scripted(tmp_path: Path) -> ProjectStore:
    store = ProjectStore.create(tmp_path / "jobs.storyreel", Project(title="雨夜"))
    (tmp_path / "script.txt").write_text(SCRIPT, encoding="utf-8")
    yield store
    store.close()


def test_import_voice_and_mix_run_as_jobs_with_results(scripted, tmp_path) -> None:
    seen: list[E.Job] = []
    runner = LocalRunner(scripted, on_finished=seen.append)
    imported = runner.submit(kinds.IMPORT_SCRIPT, {"path": str(tmp_path / "script.txt")})
    voiced = runner.submit(kinds.VOICE, {})
    mixed = runner.submit(kinds.MIX, {"out_path": str(tmp_path / "film.wav")})
    assert runner.wait(timeout=300)
    rows = {j.id: j for j in JobQueue(scripted).jobs()}
    for job in (imported, voiced, mixed):
        assert rows[job.id].status is JobStatus.DONE, rows[job.id].error
        assert rows[job.id].progress == 1.0
    assert [j.id for j in seen] == [imported.id, voiced.id, mixed.id]
    assert len(scripted.shots()) >= 2 and scripted.all(E.VoiceClip)
    with av.open(str(tmp_path / "film.wav")) as f:
        assert f.streams.audio[0].duration or f.duration
    assert rows[mixed.id].result["out_path"].endswith("film.wav")


def test_a_cancel_from_another_process_view_stops_the_job(scripted, monkeypatch) -> None:
    started = threading.Event()
    steps: list[int] = []

    def slow(store, params, progress, cancel):  # work that reports until cancelled
        deadline = time.monotonic() + 60
        i = 0
        while time.monotonic() < deadline:
            progress(min(0.99, i / 1e6), f"step {i}")
            steps.append(i)
            started.set()
            i += 1
        return {}

    monkeypatch.setitem(kinds.HANDLERS, "slow-test", slow)
    runner = LocalRunner(scripted)
    job = runner.submit("slow-test", {})
    assert started.wait(30)
    other = ProjectStore.open(scripted.root)  # the jobs list of another window or the CLI
    t0 = time.monotonic()
    JobQueue(other).cancel(job.id)
    other.close()
    assert runner.wait(timeout=30)
    final = JobQueue(scripted).get(job.id)
    assert final.status is JobStatus.CANCELLED
    assert time.monotonic() - t0 < 30  # stopped within a step, long before its 60 s


def test_a_failing_job_records_one_sentence(scripted, tmp_path) -> None:
    runner = LocalRunner(scripted)
    job = runner.submit(kinds.IMPORT_SCRIPT, {"path": str(tmp_path / "missing.txt")})
    assert runner.wait(timeout=60)
    final = JobQueue(scripted).get(job.id)
    assert final.status is JobStatus.FAILED
    assert "missing.txt" in final.error and "\n" not in final.error.strip()


def test_unknown_kind_is_refused_and_eta_follows_progress(scripted) -> None:
    with pytest.raises(Exception, match="no job kind"):
        JobQueue(scripted).submit("nonsense", {})
    start = datetime(2026, 1, 1, tzinfo=UTC)
    job = E.Job(kind=kinds.EXPORT, status=JobStatus.RUNNING, progress=0.25,
                started_at=start.isoformat())
    assert kinds.eta_seconds(job, start + timedelta(seconds=10)) == pytest.approx(30.0)
    job.status = JobStatus.DONE
    assert kinds.eta_seconds(job, start + timedelta(seconds=10)) is None


def _blocking_kind(monkeypatch, release: threading.Event, started: list[str]) -> None:
    def blocking(store, params, progress, cancel):
        started.append(params["name"])
        while not release.wait(0.01):
            cancel.check()
        return {"name": params["name"]}

    monkeypatch.setitem(kinds.HANDLERS, "blocking-test", blocking)


def test_a_queued_job_cancelled_behind_a_busy_runner_ends_at_once(scripted,
                                                                  monkeypatch) -> None:
    release, started, ended = threading.Event(), [], []
    _blocking_kind(monkeypatch, release, started)
    runner = LocalRunner(scripted, on_finished=ended.append)
    first = runner.submit("blocking-test", {"name": "first"})
    waiting = runner.submit("blocking-test", {"name": "waiting"})
    deadline = time.monotonic() + 30
    while started != ["first"] and time.monotonic() < deadline:
        time.sleep(0.01)
    runner.cancel(waiting.id)  # queued behind "first": it ends now, not when first ends
    assert [(j.id, j.status) for j in ended] == [(waiting.id, JobStatus.CANCELLED)]
    release.set()
    assert runner.wait(timeout=30)
    assert [(j.id, j.status) for j in ended] == [(waiting.id, JobStatus.CANCELLED),
                                                  (first.id, JobStatus.DONE)]  # once each
    assert started == ["first"]


def test_lanes_run_jobs_side_by_side(scripted, monkeypatch) -> None:
    release, started = threading.Event(), []
    _blocking_kind(monkeypatch, release, started)
    runner = LocalRunner(scripted, threads=2)
    runner.submit("blocking-test", {"name": "long export"})
    runner.submit("blocking-test", {"name": "voice sample"})
    deadline = time.monotonic() + 30
    while len(started) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(started) == ["long export", "voice sample"]  # the second did not wait
    assert len(runner.threads) == 2
    release.set()
    assert runner.wait(timeout=30)
    assert all(j.status is JobStatus.DONE for j in JobQueue(scripted).jobs())


def test_an_export_cancelled_after_it_finished_leaves_no_file(scripted, tmp_path,
                                                              monkeypatch) -> None:
    from engine.errors import Cancelled
    from engine.jobs.progress import CancelToken
    from engine.render import export

    out = tmp_path / "late.mp4"
    token = CancelToken()

    class Report:
        def to_dict(self):
            return {"path": str(out), "srt": str(out.with_suffix(".srt")), "otio": None}

    def finished_then_cancelled(store, path, progress, cancel, **options):
        Path(path).write_bytes(b"film")
        out.with_suffix(".srt").write_text("1\n")
        token.cancel()  # the user's cancel lands as the film is renamed into place
        return Report()

    monkeypatch.setattr(export, "export_film", finished_then_cancelled)
    with pytest.raises(Cancelled):
        kinds.HANDLERS[kinds.EXPORT](scripted, {"out_path": str(out), "preset": "draft"},
                                     lambda f, m="": None, token)
    assert not out.exists() and not out.with_suffix(".srt").exists()


def test_a_row_cancelled_as_the_export_finished_keeps_no_file(scripted, tmp_path,
                                                               monkeypatch) -> None:
    """The cancel lands between the handler's last look and the runner keeping the result:
    the row stays cancelled and what the job wrote is removed."""
    from engine.render import export

    out = tmp_path / "raced.mp4"

    class Report:
        def to_dict(self):
            return {"path": str(out), "srt": None, "otio": None}

    def export_film(store, path, progress, cancel, **options):
        Path(path).write_bytes(b"film")
        return Report()

    monkeypatch.setattr(export, "export_film", export_film)
    real_finish = JobQueue.finish

    def finish(self, job_id, status, **kwargs):  # the user's cancel wins the race
        if status is JobStatus.DONE:
            JobQueue(scripted).cancel(job_id)
        return real_finish(self, job_id, status, **kwargs)

    monkeypatch.setattr(JobQueue, "finish", finish)
    runner = LocalRunner(scripted)
    job = runner.submit(kinds.EXPORT, {"out_path": str(out), "preset": "draft"})
    assert runner.wait(timeout=30)
    assert JobQueue(scripted).get(job.id).status is JobStatus.CANCELLED
    assert not out.exists()


def test_import_script_job_takes_the_editors_text(scripted) -> None:
    runner = LocalRunner(scripted)
    job = runner.submit(kinds.IMPORT_SCRIPT, {"text": SCRIPT})
    assert runner.wait(timeout=60)
    row = JobQueue(scripted).get(job.id)
    assert row.status is JobStatus.DONE, row.error
    assert {c.name for c in scripted.characters()} >= {"林雨", "陈默"}
    assert len(scripted.shots()) >= 2


def test_jobs_left_by_a_process_that_ended_fail_with_the_reason(scripted, tmp_path) -> None:
    import subprocess
    import sys

    from engine.jobs.owner import this_process
    from engine.jobs.worker import run_worker

    # another studio queues two local jobs, starts one, and dies without finishing them
    code = ("import os, sys\n"
            "from engine.store import ProjectStore\n"
            "from engine.jobs.queue import JobQueue\n"
            "store = ProjectStore.open(sys.argv[1])\n"
            "queue = JobQueue(store)\n"
            "started = queue.submit('export', {'out_path': sys.argv[2]})\n"
            "queue.claim(started.id)\n"
            "waiting = queue.submit('voice', {})\n"
            "print(started.id, waiting.id, started.owner, flush=True)\n"
            "os._exit(9)\n")
    out = subprocess.run([sys.executable, "-c", code, str(scripted.root),
                          str(tmp_path / "film.mp4")], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).parents[3])
    started_id, waiting_id, dead_owner = out.stdout.split()
    assert dead_owner != this_process()
    mine = JobQueue(scripted).submit(kinds.VOICE, {})  # this live process's: not touched
    assert mine.owner == this_process()
    # the worker restarting takes over its own orphans only, never a local job
    run_worker(scripted.root, once=True)
    queue = JobQueue(scripted)
    assert queue.get(started_id).status is JobStatus.RUNNING
    runner = LocalRunner(scripted)  # the next studio or CLI opened on this machine
    assert sorted(runner.interrupted) == sorted([started_id, waiting_id])
    for job_id in (started_id, waiting_id):
        job = queue.get(job_id)
        assert job.status is JobStatus.FAILED and job.message == "interrupted"
        assert job.error.startswith("Interrupted: the Storyreel process that ran it "
                                    f"({dead_owner}) ended before it finished")
    assert queue.get(mine.id).status is JobStatus.QUEUED
    assert LocalRunner(scripted).interrupted == []  # said once
    queue.retry(started_id)  # and it can run again, here
    assert queue.claim(started_id).owner == this_process()
