"""Job operations: cancel and retry (through the one JobQueue)."""

from __future__ import annotations

from typing import Any

from engine.jobs.queue import JobQueue
from engine.model import entities as E
from engine.store.project import ProjectStore


def cancel_job(store: ProjectStore, job_id: str) -> E.Job:
    return JobQueue(store).cancel(job_id)


def retry_job(store: ProjectStore, job_id: str) -> E.Job:
    return JobQueue(store).retry(job_id)


def queue_generation(store: ProjectStore, shot_ids: list[str], **spec: Any) -> list[E.Job]:
    """One queued generation job per shot (settings checked before any is queued)."""
    return JobQueue(store).enqueue_generation(shot_ids, **spec)


def clear_finished(store: ProjectStore) -> int:
    """Remove done and cancelled jobs; how many were removed."""
    return JobQueue(store).clear_finished()
