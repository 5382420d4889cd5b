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
                       quality: str = "draft", new_seed: bool | None = None,
                       takes: int = 1) -> list[E.Job]:
    """Queue generation for shots, each with the model its shot chose (validated first:
    nothing is queued when any shot's settings are bad).

    ``new_seed``: True re-rolls every shot (a fresh seed, so a new take, never a cache
    hit: ``generate --new-seed``); None re-rolls the shots that already have an up-to-date
    take and whose seed is not locked (the studio's Generate); False never does.
    ``takes`` N > 1 queues N jobs per shot with N seeds as one group (``--takes N``)."""
    import secrets

    from engine.generate.staleness import needs_generation
    from engine.ops.base import OpError

    if not shot_ids:
        raise OpError("Choose one or more shots to generate.")
    if not isinstance(takes, int) or not 1 <= takes <= 64:
        raise OpError(f"Takes per shot {takes} is outside 1–64.")
    batches: dict[tuple[str, int | None], list[str]] = {}
    for shot_id in shot_ids:
        shot = store.require(E.Shot, shot_id)
        key = str(shot.generation.get("model") or shot.generation.get("backend")
                  or "animatic")
        reroll = new_seed if new_seed is not None else (
            not shot.seed_locked and not needs_generation(store, shot))
        # a re-roll: a fresh base seed per shot (the group's takes use base + 0..N-1)
        seed = secrets.randbelow(2**31 - 64) if reroll else None
        batches.setdefault((key, seed), []).append(shot.id)
    queue = JobQueue(store)
    jobs: list[E.Job] = []
    with store.transaction("Queue generation", undoable=False):
        for (backend, seed), ids in batches.items():
            jobs += queue.enqueue_generation(
                ids, backend=backend, quality=quality, variants=takes,
                overrides={"seed": seed} if seed is not None else None)
    return jobs
