"""The local runner: CPU jobs (voice, mix, export, plan, import) of this process.

``LocalRunner.submit(kind, params)`` queues a job row and runs it on one background
thread, through the same rows as the worker process's jobs: progress and messages are
written to the row (throttled), a cancel from any process (the jobs list, the CLI) stops
it within a step, and the result or the one-sentence error lands in the row.
"""

from __future__ import annotations

import queue as queue_mod
import threading
import time
from collections.abc import Callable
from typing import Any

from engine.errors import Cancelled, StoryreelError
from engine.jobs.kinds import run_kind
from engine.jobs.progress import CancelToken
from engine.jobs.queue import JobQueue
from engine.model import JobStatus
from engine.model import entities as E

REPORT_INTERVAL = 0.2  # seconds between progress writes of one job
Listener = Callable[[E.Job], None]


def run_claimed(store: Any, job: E.Job, on_progress: Listener | None = None) -> E.Job:
    """Run one claimed (RUNNING) local job to its end state; returns the final row."""
    jobs = JobQueue(store)
    cancel = CancelToken(poll=lambda: jobs.is_cancelled(job.id))
    last = [0.0]

    def progress(fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if now - last[0] < REPORT_INTERVAL and fraction < 1.0:
            if cancel.cancelled:
                raise Cancelled()
            return
        last[0] = now
        if not jobs.report(job.id, fraction, message):
            cancel.cancel()
            raise Cancelled()
        if on_progress is not None:
            on_progress(jobs.get(job.id))

    try:
        result = run_kind(store, job, progress, cancel)
    except Cancelled:
        jobs.finish(job.id, JobStatus.CANCELLED, message="cancelled")
    except StoryreelError as exc:
        jobs.finish(job.id, JobStatus.FAILED, message="failed", error=str(exc))
    except Exception as exc:  # noqa: BLE001 - recorded in the row; the runner goes on
        jobs.finish(job.id, JobStatus.FAILED, message="failed",
                    error=f"{type(exc).__name__}: {exc}")
    else:
        jobs.finish(job.id, JobStatus.DONE, message="done", result=result)
    return jobs.get(job.id)


class LocalRunner:
    """One background thread running this process's queued local jobs in order."""

    def __init__(self, store: Any, on_progress: Listener | None = None,
                 on_finished: Listener | None = None) -> None:
        self.store = store
        self.on_progress = on_progress
        self.on_finished = on_finished
        self._queue: queue_mod.Queue[str | None] = queue_mod.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, kind: str, params: dict[str, Any] | None = None, **kwargs: Any) -> E.Job:
        job = JobQueue(self.store).submit(kind, params, **kwargs)
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="storyreel-jobs",
                                                daemon=True)
                self._thread.start()
        self._queue.put(job.id)
        return job

    def cancel(self, job_id: str) -> E.Job:
        return JobQueue(self.store).cancel(job_id)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every submitted job has finished (scripts and tests)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if deadline is not None and time.monotonic() > deadline:
                return False
            with self._queue.all_tasks_done:
                self._queue.all_tasks_done.wait(0.1)
        return True

    def stop(self) -> None:
        self._queue.put(None)

    def _run(self) -> None:
        while True:
            job_id = self._queue.get()
            try:
                if job_id is None:
                    return
                job = JobQueue(self.store).claim(job_id)
                if job is None:  # cancelled before it started
                    continue
                final = run_claimed(self.store, job, self.on_progress)
                if self.on_finished is not None:
                    self.on_finished(final)
            finally:
                self._queue.task_done()
