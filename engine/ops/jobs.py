"""Job operations: cancel and retry (through the one JobQueue)."""

from __future__ import annotations

from engine.jobs.queue import JobQueue
from engine.model import entities as E
from engine.store.project import ProjectStore


def cancel_job(store: ProjectStore, job_id: str) -> E.Job:
    job = JobQueue(store).cancel(job_id)
    if store.is_linked:  # a render node runs it: abort it there too
        from engine.jobs import nodes

        nodes.abort(store, job)
    return job


def retry_job(store: ProjectStore, job_id: str) -> E.Job:
    return JobQueue(store).retry(job_id)
