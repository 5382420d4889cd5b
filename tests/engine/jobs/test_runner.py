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
