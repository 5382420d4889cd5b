"""Job operations: submit, cancel and retry (through the one JobQueue)."""

from __future__ import annotations

from typing import Any

from engine.jobs.queue import JobQueue
from engine.model import entities as E
from engine.store.project import ProjectStore


def submit_job(store: ProjectStore, kind: str, params: dict[str, Any] | None = None, *,
               shot_id: str | None = None) -> E.Job:
    """Queue a job of ``kind`` (engine.jobs.kinds) with plain JSON ``params``; a local kind
    is then run by the caller's runner (``LocalRunner.enqueue``). An unknown kind or
    params that are not JSON are refused with one sentence and nothing is queued."""
    import json

    from engine.ops.base import OpError

    try:
        json.dumps(params or {})
    except (TypeError, ValueError) as exc:
        raise OpError(f"The {kind} job's settings are not plain values ({exc}).") from None
    return JobQueue(store).submit(kind, params, shot_id=shot_id)


def cancel_job(store: ProjectStore, job_id: str) -> E.Job:
    job = JobQueue(store).cancel(job_id)
    if store.is_linked:  # a render node runs it: abort it there too
        from engine.jobs import nodes

        nodes.abort(store, job)
    return job


def retry_job(store: ProjectStore, job_id: str) -> E.Job:
    return JobQueue(store).retry(job_id)


def queue_generation(store: ProjectStore, shot_ids: list[str], **spec: Any) -> list[E.Job]:
    """One queued generation job per shot (settings checked before any is queued)."""
    return JobQueue(store).enqueue_generation(shot_ids, **spec)


def clear_finished(store: ProjectStore) -> int:
    """Remove done and cancelled jobs from the list (failed ones stay, with their reason)."""
    return JobQueue(store).clear_finished()


def enqueue_generation(store: ProjectStore, shot_ids: list[str], *,
                       quality: str = "draft") -> list[E.Job]:
    """Queue one generation job per shot, each with the model its shot chose (validated
    first: nothing is queued when any shot's settings are bad)."""
    from engine.ops.base import OpError

    if not shot_ids:
        raise OpError("Choose one or more shots to generate.")
    by_backend: dict[str, list[str]] = {}
    for shot_id in shot_ids:
        shot = store.require(E.Shot, shot_id)
        key = str(shot.generation.get("model") or shot.generation.get("backend")
                  or "animatic")
        by_backend.setdefault(key, []).append(shot.id)
    queue = JobQueue(store)
    jobs: list[E.Job] = []
    with store.transaction("Queue generation", undoable=False):
        for backend, ids in by_backend.items():
            jobs += queue.enqueue_generation(ids, backend=backend, quality=quality)
    return jobs
