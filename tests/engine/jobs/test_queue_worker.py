"""The persistent queue and the worker: order, grouping, cancel, failure, kill and resume."""

from __future__ import annotations

import json
import os
import select
from pathlib import Path

import pytest

from engine.errors import StoryreelError
from engine.jobs.queue import JobError, JobQueue
from engine.jobs.worker import LOCK_NAME, WorkerBusy, WorkerProcess, _Lock, run_worker
from engine.model import JobStatus
from engine.model import entities as E
from engine.ops import shots as shot_ops
from engine.store import ProjectStore
from tests.engine.generate.conftest import TINY, film, registered, tiny_models  # noqa: F401

SMALL = {"width": 64, "height": 96}


def test_enqueue_lists_and_validates(film) -> None:  # noqa: F811
    queue = JobQueue(film)
    jobs = queue.enqueue_generation(film.film["shots"], overrides=SMALL)
    assert [j.status for j in queue.jobs()] == [JobStatus.QUEUED] * 2
    assert [j.shot_id for j in queue.jobs()] == film.film["shots"]
    assert queue.jobs(JobStatus.DONE) == []
    assert jobs[0].params["backend"] == "animatic"
    with pytest.raises(StoryreelError, match="No model named"):
        queue.enqueue_generation(film.film["shots"], backend="nope")
    with pytest.raises(StoryreelError, match="multiple of"):
        queue.enqueue_generation(film.film["shots"], overrides={"width": 63})
    assert len(queue.jobs()) == 2  # nothing queued by the refused calls


def test_worker_groups_jobs_by_loaded_model(film) -> None:  # noqa: F811
    queue = JobQueue(film)
    s1, s2 = film.film["shots"]
    a = queue.enqueue_generation([s1], device="cpu", overrides=SMALL)[0]
    b = queue.enqueue_generation([s1], device="auto", overrides={**SMALL, "seed": 1})[0]
    c = queue.enqueue_generation([s2], device="cpu", overrides=SMALL)[0]
    order: list[str] = []

    def on_event(event: str, job: E.Job) -> None:
        if event == "started":
            order.append(job.id)

    run_worker(film.root, on_event=on_event)
    assert order == [a.id, c.id, b.id]
    assert all(j.status is JobStatus.DONE for j in queue.jobs())
    done = film.require(E.Job, a.id)
    assert done.progress == 1.0 and done.result["take_id"] and done.finished_at


def test_cancel_queued_and_retry(film) -> None:  # noqa: F811
    queue = JobQueue(film)
    job = queue.enqueue_generation(film.film["shots"][:1], overrides=SMALL)[0]
    assert queue.cancel(job.id[:8]).status is JobStatus.CANCELLED
    run_worker(film.root)
    assert film.takes(job.shot_id) == []
    with pytest.raises(JobError, match="only queued or running"):
        queue.cancel(job.id)
    assert queue.retry(job.id).status is JobStatus.QUEUED
    run_worker(film.root)
    assert queue.get(job.id).status is JobStatus.DONE and len(film.takes(job.shot_id)) == 1


def test_cancel_a_running_job_within_one_step(film, registered) -> None:  # noqa: F811
    queue = JobQueue(film)
    shot_id = film.film["shots"][0]
    job = queue.enqueue_generation([shot_id], backend=registered["vace"], device="cpu",
                                   overrides={**TINY, "steps": 40})[0]
    steps_seen: list[int] = []

    def on_event(event: str, j: E.Job) -> None:
        import re

        step = re.search(r"step (\d+)/", j.message)  # "step s/S" or "segment k/n, step s/S"
        if event == "progress" and step:
            steps_seen.append(int(step.group(1)))
            if len(steps_seen) == 1:
                JobQueue(ProjectStore.open(film.root)).cancel(j.id)  # like another process

    run_worker(film.root, on_event=on_event)
    final = film.require(E.Job, job.id)
    assert final.status is JobStatus.CANCELLED
    assert film.takes(shot_id) == []
    assert len(steps_seen) == 1  # the next step report saw the cancel and stopped the run
    assert final.progress < 0.2


def test_failed_job_keeps_its_reason_and_the_queue_goes_on(film, registered, tiny_models) -> None:  # noqa: F811
    import shutil

    from engine.cli import main

    broken = tiny_models["vace"].parent / "broken-vace"
    if not broken.exists():
        shutil.copytree(tiny_models["vace"], broken)
    assert main(["models", "add", str(broken), "--name", "broken"]) == 0
    (broken / "transformer" / "config.json").write_text("{}")  # changed after registration
    queue = JobQueue(film)
    s1, s2 = film.film["shots"]
    bad = queue.enqueue_generation([s1], backend="broken", device="cpu", overrides=TINY)[0]
    good = queue.enqueue_generation([s2], overrides=SMALL)[0]
    run_worker(film.root)
    failed = film.require(E.Job, bad.id)
    assert failed.status is JobStatus.FAILED and "changed on disk" in failed.error
    assert film.require(E.Job, good.id).status is JobStatus.DONE


def test_one_worker_per_project(film) -> None:  # noqa: F811
    lock = _Lock(film.cache_dir / "worker.lock")
    assert lock.acquire()
    try:
        with pytest.raises(WorkerBusy):
            run_worker(film.root)
    finally:
        lock.release()


def test_killing_the_worker_keeps_the_queue_and_the_next_run_resumes(film) -> None:  # noqa: F811
    shot_id = film.film["shots"][0]
    # a long animatic: ~1200 frames, several seconds of work
    shot_ops.set_shot_fields(film, shot_id, duration=40.0)
    queue = JobQueue(film)
    job = queue.enqueue_generation([shot_id], overrides={"width": 160, "height": 288})[0]
    worker = WorkerProcess(Path(film.root), events=True)
    worker.start()
    try:
        # the worker's own progress event, not a poll of the row
        seen = worker.wait_for(lambda e: e["event"] == "progress" and e["job"] == job.id
                               and e["progress"] > 0.05, timeout=60)
        worker.kill()
    finally:
        worker.stop(timeout=1)
    assert not worker.is_alive()
    row = film.require(E.Job, job.id)
    assert row.status is JobStatus.RUNNING and film.takes(shot_id) == []
    assert row.progress >= seen["progress"]  # what the worker reported is in the row
    run_worker(film.root)  # the next worker puts the orphan back and runs it
    row = film.require(E.Job, job.id)
    assert row.status is JobStatus.DONE, row.error
    assert len(film.takes(shot_id)) == 1


def test_worker_process_runs_jobs_and_stops(film) -> None:  # noqa: F811
    queue = JobQueue(film)
    job = queue.enqueue_generation(film.film["shots"][:1], overrides=SMALL)[0]
    worker = WorkerProcess(Path(film.root), events=True)
    worker.start()
    try:
        assert worker.wait_for(lambda e: e["event"] == "ready", timeout=60)["pid"] == worker.pid
        events = [worker.wait_for(lambda e: e["job"] == job.id and e["event"] != "progress",
                                  timeout=60)["event"] for _ in range(2)]
    finally:
        worker.stop(timeout=20)
    assert not worker.is_alive()
    assert events == ["started", "done"]
    row = film.require(E.Job, job.id)
    assert row.status is JobStatus.DONE and row.result["take_id"]
    assert [t.id for t in film.takes(job.shot_id)] == [row.result["take_id"]]
    assert worker.next_event(timeout=5) is None  # it stopped: the stream ended


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="waits with a pidfd (Linux)")
def test_a_worker_whose_parent_died_exits(film) -> None:  # noqa: F811
    """A GUI that crashes without stopping its worker does not leave it running forever."""
    import contextlib
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[3]
    lock = film.cache_dir / LOCK_NAME
    log = film.cache_dir / "orphan.log"
    # the parent exits only once its worker holds the queue's lock (the worker's "ready"
    # event, read from its pipe), so the worker is up when the parent dies; after "ready"
    # an idle worker writes nothing more, so the closed pipe is not what ends it
    code = (
        "import os, subprocess, sys\n"
        f"p = subprocess.Popen([sys.executable, '-m', 'engine.jobs.worker', {str(film.root)!r},"
        " '--loop', '--events', '--parent-pid', str(os.getpid())], stdout=subprocess.PIPE,"
        f" stderr=open({str(log)!r}, 'wb'))\n"
        "print(p.pid, flush=True)\n"
        "print(p.stdout.readline().decode().strip(), flush=True)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(root))
    parent = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, cwd=root, timeout=60)
    pid = int(parent.stdout.split()[0])
    ready = json.loads(parent.stdout.split("\n", 1)[1] or "{}")
    try:
        exited = os.pidfd_open(pid)  # readable once the process has ended
    except ProcessLookupError:
        exited = None  # already gone (and reaped)
    if ready != {"event": "ready", "pid": pid}:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
        pytest.fail(f"the worker never took the lock: {parent.stdout}{parent.stderr}")
    assert lock.read_text().strip() == str(pid)
    if exited is not None:
        try:
            if not select.select([exited], [], [], 20)[0]:  # wait for its end, no polling
                os.kill(pid, 9)
                pytest.fail("the orphaned worker kept running")
        finally:
            os.close(exited)
    assert "Traceback" not in log.read_text(errors="replace")  # it left, it did not crash
    freed = _Lock(lock)
    assert freed.acquire()  # and it released the queue for the next worker
    freed.release()
