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
from engine.jobs.kinds import discard_result, run_kind
from engine.jobs.progress import CancelToken
from engine.jobs.queue import JobQueue
from engine.model import JobStatus
from engine.model import entities as E

REPORT_INTERVAL = 0.2  # seconds between progress writes of one job
Listener = Callable[[E.Job], None]


def row_cancel_token(store: Any, job_id: str) -> CancelToken:
    """A token that is cancelled when the job's row is (polled at most every 0.2 s)."""
    jobs = JobQueue(store)
    return CancelToken(poll=lambda: jobs.is_cancelled(job_id))


def run_claimed(store: Any, job: E.Job, on_progress: Listener | None = None,
                cancel: CancelToken | None = None) -> E.Job:
    """Run one claimed (RUNNING) local job to its end state; returns the final row.

    ``cancel``: a token the caller may also set (the runner's own cancel); it must poll
    the row's status (``row_cancel_token``), so a cancel from any process stops the job."""
    jobs = JobQueue(store)
    cancel = cancel or row_cancel_token(store, job.id)
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
        if not jobs.finish(job.id, JobStatus.DONE, message="done", result=result):
            discard_result(job.kind, result)  # cancelled as it finished: keep nothing
    return jobs.get(job.id)


class LocalRunner:
    """Background threads (``threads``, one by default) running this process's queued
    local jobs in order.

    ``on_progress`` and ``on_finished`` are called on a runner thread with the job's row
    (``on_finished`` on the caller's thread for a queued job cancelled through ``cancel``),
    once per job, also for one cancelled before it started, so whoever waits for a job
    always hears of its end."""

    def __init__(self, store: Any, on_progress: Listener | None = None,
                 on_finished: Listener | None = None, threads: int = 1) -> None:
        if threads < 1:
            raise StoryreelError(f"A runner needs at least one thread, not {threads}.")
        self.store = store
        self.on_progress = on_progress
        self.on_finished = on_finished
        self.size = threads
        self._queue: queue_mod.Queue[str | None] = queue_mod.Queue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._running: dict[str, CancelToken] = {}  # job id → the token of the running job
        self._ended: set[str] = set()  # queued jobs whose end was announced by cancel()
        # rows a process of this machine left unfinished when it ended: failed, with why
        self.interrupted = JobQueue(store).end_orphaned_local()

    def submit(self, kind: str, params: dict[str, Any] | None = None, **kwargs: Any) -> E.Job:
        job = JobQueue(self.store).submit(kind, params, **kwargs)
        self.enqueue(job.id)
        return job

    def enqueue(self, job_id: str) -> None:
        """Run an already queued local job row (one just submitted, or retried)."""
        with self._lock:
            self._ended.discard(job_id)
            self._threads = [t for t in self._threads if t.is_alive()]
            busy = len(self._running) + self._queue.qsize()
            if len(self._threads) < self.size and busy >= len(self._threads):
                thread = threading.Thread(target=self._run, daemon=True,
                                          name=f"storyreel-jobs-{len(self._threads) + 1}")
                self._threads.append(thread)
                thread.start()
        self._queue.put(job_id)

    def cancel(self, job_id: str) -> E.Job:
        """Cancel the row; a job running here stops at once (not at the next row poll),
        a queued one ends now."""
        with self._lock:  # a claim and a cancel of one job never interleave
            job = JobQueue(self.store).cancel(job_id)
            token = self._running.get(job.id)
            if token is None:
                self._ended.add(job.id)
        if token is not None:
            token.cancel()
        elif self.on_finished is not None:
            self.on_finished(job)
        return job

    def is_running(self, job_id: str) -> bool:
        return job_id in self._running

    @property
    def threads(self) -> list[threading.Thread]:
        return [t for t in self._threads if t.is_alive()]

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
        """End the threads once the jobs already queued have run."""
        for _ in self._threads:
            self._queue.put(None)

    def _run(self) -> None:
        while True:
            job_id = self._queue.get()
            try:
                if job_id is None:
                    return
                self._run_one(job_id)
            finally:
                self._queue.task_done()

    def _run_one(self, job_id: str) -> None:
        with self._lock:
            job = JobQueue(self.store).claim(job_id)
            if job is None:  # cancelled (or gone) before it started
                if job_id in self._ended:
                    self._ended.discard(job_id)
                    return  # cancel() announced it
                final = self.store.get(E.Job, job_id)
                if final is not None and self.on_finished is not None:
                    self.on_finished(final)
                return
            token = row_cancel_token(self.store, job.id)
            self._running[job.id] = token
        try:
            final = run_claimed(self.store, job, self.on_progress, token)
        finally:
            with self._lock:
                self._running.pop(job.id, None)
        if self.on_finished is not None:
            self.on_finished(final)
