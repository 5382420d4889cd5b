"""The studio's one runner of local jobs: every long task of the window is a Job row.

``StudioJobs`` owns the window's single ``engine.jobs.runner.LocalRunner``. A widget asks
for work with ``submit(kind, params, done=..., failed=..., cancelled=..., progress=...)``
and gets a ``JobTicket`` at once; the job row is written, run and cancelled off the UI
thread (the row on the runner's row thread, the work on its lanes), and the
outcome comes back to the widget that asked through the runner's completion signal,
delivered on the UI thread. The jobs dock shows the same rows (progress, ETA, cancel,
retry), so a job cancelled there stops here too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal

from engine.errors import StoryreelError
from engine.jobs.runner import LocalRunner
from engine.model import Job, JobStatus
from engine.ops import jobs as job_ops
from studio.background import BackgroundReader

Callback = Callable[..., None]
# jobs of the window that run at once: an export does not hold up a voice sample or the
# preview's sound (the export encodes in a child process; the rest are light)
LANES = 3


@dataclass(eq=False)
class JobTicket:
    """A job asked for by a widget: its row id once written, then its outcome."""

    kind: str
    label: str = ""
    job_id: str | None = None
    status: JobStatus = JobStatus.QUEUED
    progress: float = 0.0
    message: str = ""
    result: dict[str, Any] | None = None
    error: str = ""
    done_cb: Callback | None = None
    failed_cb: Callback | None = None
    cancelled_cb: Callback | None = None
    progress_cb: Callback | None = None
    cancel_requested: bool = False
    owner: StudioJobs | None = field(default=None, repr=False)

    @property
    def done(self) -> bool:
        """The job has ended (done, failed or cancelled) and its widget was told."""
        return self.status in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)

    def cancel(self) -> None:
        if self.owner is not None and not self.done:
            self.owner.cancel(self)


class _Relay(QObject):
    submitted = Signal(object)  # JobTicket, its row written
    progressed = Signal(object)  # Job row
    finished = Signal(object)  # Job row in its end state
    refused = Signal(object, str)  # JobTicket, the sentence (the row could not be written)


class StudioJobs(QObject):
    """The window's jobs: one LocalRunner, outcomes routed to the widgets that asked."""

    jobSubmitted = Signal(str, str)  # job id, kind
    jobProgress = Signal(object)  # Job row (any local job of this window)
    jobFinished = Signal(object)  # Job row in its end state

    def __init__(self, store: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self._relay = _Relay(self)
        self._relay.submitted.connect(self._on_submitted)
        self._relay.progressed.connect(self._on_progress)
        self._relay.finished.connect(self._on_finished)
        self._relay.refused.connect(self._on_refused)
        self.runner = LocalRunner(store, on_progress=self._emit_progress,
                                  on_finished=self._emit_finished, threads=LANES)
        self._tickets: dict[str, JobTicket] = {}  # job id → ticket of a running job
        # the rows are written (and cancelled) in order on the runner's own thread, so a
        # slow read of the views (a timeline snapshot) never delays the start of a job
        self._reader = BackgroundReader("storyreel-job-rows")
        self.closed = False

    # ------------------------------------------------------------------ asking
    def submit(self, kind: str, params: dict[str, Any] | None = None, *, label: str = "",
               shot_id: str | None = None, done: Callback | None = None,
               failed: Callback | None = None, cancelled: Callback | None = None,
               progress: Callback | None = None) -> JobTicket:
        """Queue a ``kind`` job with plain JSON ``params``; the callbacks run on the UI
        thread: ``done(result)``, ``failed(sentence)``, ``cancelled()``, ``progress(row)``."""
        ticket = JobTicket(kind, label or kind, done_cb=done, failed_cb=failed,
                           cancelled_cb=cancelled, progress_cb=progress, owner=self)
        if self.closed:
            ticket.status, ticket.error = JobStatus.FAILED, "The project is closed."
            return ticket
        params = dict(params or {})
        relay, store, runner, tickets = self._relay, self.store, self.runner, self._tickets

        def write() -> None:  # on the background thread
            if self.closed:
                relay.refused.emit(ticket, "The project is closed.")
                return
            try:
                job = job_ops.submit_job(store, kind, params, shot_id=shot_id)
            except StoryreelError as exc:
                relay.refused.emit(ticket, str(exc))
                return
            except Exception as exc:  # noqa: BLE001 - the widget gets one sentence
                relay.refused.emit(ticket, f"{type(exc).__name__}: {exc}")
                return
            tickets[job.id] = ticket  # before the runner can finish it
            ticket.job_id = job.id
            runner.enqueue(job.id)
            relay.submitted.emit(ticket)
            if ticket.cancel_requested:
                self._cancel_now(job.id)

        self._reader.submit(write)
        return ticket

    def cancel(self, ticket_or_id: JobTicket | str) -> None:
        """Cancel a job of this window (its row, so the dock and every process see it)."""
        if isinstance(ticket_or_id, JobTicket):
            ticket = ticket_or_id
            ticket.cancel_requested = True
            job_id = ticket.job_id
            if job_id is None:
                return  # the row is being written: cancelled as soon as it is
        else:
            job_id = ticket_or_id
        self._reader.submit(lambda: self._cancel_now(job_id))

    def enqueue(self, job_id: str) -> None:
        """Run a queued local row again (a retry from the dock): a job of this window,
        so closing the project cancels it like the rest."""
        self._tickets[job_id] = JobTicket("retry", job_id=job_id, owner=self)
        self.runner.enqueue(job_id)

    def _cancel_now(self, job_id: str) -> None:
        try:
            self.runner.cancel(job_id)
        except StoryreelError:
            pass  # it ended first: its outcome is on its way

    def active(self) -> list[JobTicket]:
        return [t for t in self._tickets.values() if not t.done]

    def close(self) -> None:
        """Cancel this window's running jobs and stop the runner's thread."""
        self.closed = True
        for ticket in list(self._tickets.values()):
            if ticket.job_id is not None and not ticket.done:
                self._cancel_now(ticket.job_id)
        self.runner.stop()
        self._reader.close()

    def wait(self, timeout: float = 60.0) -> bool:
        """Block until the runner is idle (closing the project, scripts)."""
        return self.runner.wait(timeout)

    # ------------------------------------------------------------------ the runner's thread
    def _emit_progress(self, job: Job) -> None:
        try:
            self._relay.progressed.emit(job)
        except RuntimeError:  # the window is gone
            pass

    def _emit_finished(self, job: Job) -> None:
        try:
            self._relay.finished.emit(job)
        except RuntimeError:
            pass

    # ------------------------------------------------------------------ the UI thread
    def _on_submitted(self, ticket: JobTicket) -> None:
        if ticket.job_id is not None:
            self.jobSubmitted.emit(ticket.job_id, ticket.kind)

    def _on_progress(self, job: Job) -> None:
        ticket = self._tickets.get(job.id)
        if ticket is not None and not ticket.done:
            # a row read just after a cancel may already say so; the ticket ends (and its
            # widget is told) only with the finished row
            if job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
                ticket.status = job.status
            ticket.progress, ticket.message = job.progress, job.message
            if ticket.progress_cb is not None:
                _call(ticket.progress_cb, job)
        self.jobProgress.emit(job)

    def _on_finished(self, job: Job) -> None:
        ticket = self._tickets.pop(job.id, None)
        if ticket is not None:
            ticket.result, ticket.error = dict(job.result or {}), job.error
            ticket.progress, ticket.message = job.progress, job.message
            ticket.status = job.status
            if job.status is JobStatus.DONE and ticket.done_cb is not None:
                _call(ticket.done_cb, ticket.result)
            elif job.status is JobStatus.FAILED and ticket.failed_cb is not None:
                _call(ticket.failed_cb, job.error or "The job failed.")
            elif job.status is JobStatus.CANCELLED and ticket.cancelled_cb is not None:
                _call(ticket.cancelled_cb)
        self.jobFinished.emit(job)

    def _on_refused(self, ticket: JobTicket, message: str) -> None:
        ticket.status, ticket.error = JobStatus.FAILED, message
        if ticket.failed_cb is not None:
            _call(ticket.failed_cb, message)


def _call(callback: Callback, *args: Any) -> None:
    """A widget's callback; a widget closed while its job ran is no longer told."""
    try:
        callback(*args)
    except RuntimeError as exc:
        if "already deleted" not in str(exc):
            raise


def jobs_for(widget: Any) -> StudioJobs | None:
    """The StudioJobs of the window ``widget`` lives in (None outside a window)."""
    current = widget
    while current is not None:
        jobs = getattr(current, "job_runner", None)
        if isinstance(jobs, StudioJobs):
            return jobs
        current = current.parent() if hasattr(current, "parent") else None
    return None


def jobs_of(widget: Any, store: Any) -> StudioJobs:
    """The runner a widget submits to: the one it was given (``widget.jobs``), else its
    window's; a widget used on its own (a test, a script) gets a runner of its own."""
    given = getattr(widget, "jobs", None)
    if isinstance(given, StudioJobs) and given.store is store and not given.closed:
        return given
    found = jobs_for(widget)
    if found is None or found.store is not store or found.closed:
        found = StudioJobs(store, widget)
    widget.jobs = found
    return found
