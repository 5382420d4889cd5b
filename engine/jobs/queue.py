"""The persistent job queue: jobs are rows in the project DB, so any process can see them.

State moves QUEUED → RUNNING → DONE / FAILED / CANCELLED. Transitions that race between
processes (a worker claiming a job, reporting progress, a user cancelling) are single
conditional SQL UPDATEs on the ``jobs`` table, so a cancel is never overwritten by a
progress report and two workers never claim the same job.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from engine.errors import StoryreelError
from engine.model import JobStatus
from engine.model import entities as E

GENERATE = "generate"


def _now() -> str:
    """Queue order needs sub-second stamps (ISO 8601 strings sort in time order)."""
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="microseconds")


class JobError(StoryreelError):
    """A job operation was refused (unknown job, wrong state)."""


class JobQueue:
    def __init__(self, store: Any) -> None:
        self.store = store

    # ----------------------------------------------------------------- enqueue
    def enqueue_generation(
        self, shot_ids: list[str], backend: str = "animatic", device: str = "auto",
        quality: str = "draft", overrides: dict[str, Any] | None = None,
        memory_profile: str = "", variants: int = 1,
    ) -> list[E.Job]:
        """One queued ``generate`` job per shot (validated now, so bad input fails early);
        ``variants`` N > 1: N jobs per shot with seeds seed+0..N-1, one group per shot
        (best-of-N: ``params["group"]``, ``params["variant"]``)."""
        from engine.generate.presets import QUALITIES
        from engine.generate.service import GenerationSpec, family_of, settings_for

        if quality not in QUALITIES:
            raise JobError(f"Quality {quality!r} is not one of {', '.join(QUALITIES)}.")
        if device not in ("auto", "cpu", "cuda"):
            raise JobError(f"Device {device!r} is not one of auto, cpu, cuda.")
        family, _ = family_of(backend)  # raises for an unknown model
        if family != "animatic":
            from engine.generate.memory import resolve_device

            resolve_device(device)  # --device cuda on a machine without one: refused now
        spec = GenerationSpec(backend=backend, device=device, quality=quality,
                              overrides=dict(overrides or {}), memory_profile=memory_profile)
        jobs = []
        for shot_id in shot_ids:  # bad settings fail here, before anything is queued
            settings_for(self.store, self.store.require(E.Shot, shot_id), spec, family)
        if not 1 <= variants <= 64:
            raise JobError(f"Takes per shot {variants} is outside 1–64.")
        with self.store.transaction("Queue generation"):
            for index, shot_id in enumerate(shot_ids):
                group = E.new_id() if variants > 1 else None
                for variant in range(variants):
                    params = {**spec.to_params(), "order": index * variants + variant,
                              "variant": variant}
                    if group:
                        params.update(group=group, group_size=variants)
                    job = E.Job(kind=GENERATE, params=params, shot_id=shot_id,
                                created_at=_now(), model_key=spec.model_key, message="queued")
                    self.store.add(job)
                    jobs.append(job)
        return jobs

    def submit(self, kind: str, params: dict[str, Any] | None = None, *,
               shot_id: str | None = None, message: str = "queued") -> E.Job:
        """Queue a job of any kind (see engine.jobs.kinds); returns its row."""
        from engine.jobs.kinds import HANDLERS, OPERATION_KINDS, WORKER_KINDS

        if kind not in HANDLERS and kind not in WORKER_KINDS and kind not in OPERATION_KINDS:
            raise JobError(f"Storyreel has no job kind {kind!r}.")
        from engine.jobs.owner import this_process

        job = E.Job(kind=kind, params=dict(params or {}), shot_id=shot_id, created_at=_now(),
                    model_key=kind, message=message,
                    owner="" if kind in WORKER_KINDS else this_process())
        self.store.add(job)
        return job

    def claim(self, job_id: str) -> E.Job | None:
        """Claim one queued job by id (a local runner taking the job it queued)."""
        from engine.jobs.owner import this_process

        claimed = self._exec(
            "UPDATE jobs SET status='running', started_at=:now, message='starting', "
            "progress=0, owner=:owner WHERE id=:id AND status='queued'", id=job_id,
            now=E.utc_now(), owner=this_process())
        return self.get(job_id) if claimed else None

    # ----------------------------------------------------------------- reads
    def jobs(self, status: JobStatus | str | None = None) -> list[E.Job]:
        found = self.store.all(E.Job) if status is None else self.store.all(
            E.Job, status=str(JobStatus(status)))
        return sorted(found, key=lambda j: (j.created_at, j.params.get("order", 0), j.id))

    def get(self, job_id: str) -> E.Job:
        job = self.store.get(E.Job, job_id)
        if job is None:
            matches = [j for j in self.store.all(E.Job) if j.id.startswith(job_id)]
            if len(matches) != 1:
                raise JobError(f"No job with id {job_id} in this project.")
            job = matches[0]
        return job

    # ----------------------------------------------------------------- user actions
    def cancel(self, job_id: str) -> E.Job:
        """Cancel a queued or running job (a running one stops within one step)."""
        job = self.get(job_id)
        if job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
            raise JobError(f"Job {job.id[:8]} is {job.status}; only queued or running jobs "
                           "can be cancelled.")
        self._exec(
            "UPDATE jobs SET status='cancelled', message='cancelled', finished_at=:now "
            "WHERE id=:id AND status IN ('queued','running')", id=job.id, now=E.utc_now())
        return self.get(job.id)

    def retry(self, job_id: str) -> E.Job:
        """Queue a failed or cancelled job again."""
        job = self.get(job_id)
        if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
            raise JobError(f"Job {job.id[:8]} is {job.status}; only failed or cancelled jobs "
                           "can be retried.")
        self._exec(
            "UPDATE jobs SET status='queued', progress=0, message='queued', error='', "
            "started_at=NULL, finished_at=NULL, created_at=:now WHERE id=:id",
            id=job.id, now=_now())
        return self.get(job.id)

    def clear_finished(self) -> int:
        return self._exec("DELETE FROM jobs WHERE status IN ('done','cancelled')")

    # ----------------------------------------------------------------- worker side
    def requeue_orphans(self) -> int:
        """The worker's jobs (generation, scoring) left RUNNING by a worker that died go
        back to the queue (call under the worker lock). Local jobs are not the worker's: a
        studio's running export stays its own."""
        from engine.jobs.kinds import WORKER_KINDS

        kinds = ", ".join(f"'{k}'" for k in WORKER_KINDS)
        return self._exec(
            "UPDATE jobs SET status='queued', progress=0, message='resumed after interruption' "
            f"WHERE status='running' AND kind IN ({kinds})")

    def end_orphaned_local(self) -> list[str]:
        """Local jobs queued or running in a process of this machine that has ended (a
        crashed studio, a killed CLI) fail with the reason; returns their ids. Nothing else
        would ever run or finish them."""
        from engine.jobs.kinds import WORKER_KINDS
        from engine.jobs.owner import is_gone

        ended = []
        for job in self.jobs():
            if job.kind in WORKER_KINDS or job.status not in (JobStatus.QUEUED,
                                                              JobStatus.RUNNING):
                continue
            if not job.owner or not is_gone(job.owner):
                continue
            error = (f"Interrupted: the Storyreel process that ran it ({job.owner}) ended "
                     "before it finished; retry it to run it again.")
            if self._exec(
                    "UPDATE jobs SET status='failed', message='interrupted', error=:error, "
                    "finished_at=:now WHERE id=:id AND owner=:owner AND "
                    "status IN ('queued', 'running')",
                    id=job.id, owner=job.owner, error=error, now=E.utc_now()):
                ended.append(job.id)
        return ended

    def claim_next(self, warm_key: str | None = None,
                   kinds: tuple[str, ...] = (GENERATE,)) -> E.Job | None:
        """Take the next queued job of these kinds (the worker's: generation), preferring
        ones that use the already loaded model."""
        queued = [j for j in self.jobs(JobStatus.QUEUED) if j.kind in kinds]
        if not queued:
            return None
        same = [j for j in queued if warm_key and j.model_key == warm_key]
        for job in same + queued:
            claimed = self._exec(
                "UPDATE jobs SET status='running', started_at=:now, message='starting', "
                "progress=0 WHERE id=:id AND status='queued'", id=job.id, now=E.utc_now())
            if claimed:
                return self.get(job.id)
        return None

    def report(self, job_id: str, fraction: float, message: str) -> bool:
        """Record progress; False if the job is no longer running (cancelled)."""
        return bool(self._exec(
            "UPDATE jobs SET progress=:p, message=:m WHERE id=:id AND status='running'",
            id=job_id, p=float(max(0.0, min(1.0, fraction))), m=message[:500]))

    def finish(self, job_id: str, status: JobStatus, *, message: str = "", error: str = "",
               result: dict[str, Any] | None = None) -> bool:
        import json

        # portable SQL (SQLite and a PostgreSQL team server, where result is JSONB)
        as_json = "CAST(:r AS JSONB)" if self.store.engine.dialect.name == "postgresql" \
            else ":r"
        done = ", progress=1.0" if status is JobStatus.DONE else ""
        return bool(self._exec(
            f"UPDATE jobs SET status=:s, message=:m, error=:e, result={as_json}, "
            f"finished_at=:now{done} WHERE id=:id AND status='running'",
            id=job_id, s=str(status), m=message, e=error, now=E.utc_now(),
            r=json.dumps(result or {}, ensure_ascii=False)))

    def is_cancelled(self, job_id: str) -> bool:
        job = self.store.get(E.Job, job_id)
        return job is None or job.status is JobStatus.CANCELLED

    def _exec(self, sql: str, **params: Any) -> int:
        with self.store.engine.begin() as conn:
            return conn.execute(text(sql), params).rowcount
