"""GPU render nodes on one team queue (procrastinate on the team's PostgreSQL server).

A linked project's ``generate`` writes its job rows as usual and defers one procrastinate
job per row on the queue of the model's family (``gen.wan-vace``, ``gen.animatic``…).
``storyreel worker --server URL --name NODE`` on each GPU machine pulls them (SKIP LOCKED,
LISTEN/NOTIFY), keeps its models warm in one BackendPool, records itself in the job row,
and reports progress into the row like the local worker. A cancel from any client marks
the row and aborts the procrastinate job; the step callback sees either within a step. A
node killed mid-job stops sending heartbeats; any other node retries its stalled jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.errors import StoryreelError
from engine.jobs.queue import GENERATE, JobQueue
from engine.model import JobStatus
from engine.model import entities as E

TASK = "storyreel.generate"
QUEUE_PREFIX = "gen."
HEARTBEAT_S = float(os.environ.get("STORYREEL_NODE_HEARTBEAT_S", "5"))
STALLED_S = float(os.environ.get("STORYREEL_NODE_STALLED_S", "30"))

log = logging.getLogger("storyreel.node")


def queue_name(family: str) -> str:
    return QUEUE_PREFIX + family


def _connector(url: str) -> Any:
    import procrastinate
    from sqlalchemy.engine import make_url

    from engine.store.team import public_url

    parsed = make_url(public_url(url))
    kwargs: dict[str, Any] = {"host": parsed.host, "port": parsed.port or 5432,
                              "user": parsed.username, "dbname": parsed.database}
    kwargs.update({k: v for k, v in parsed.query.items() if isinstance(v, str)})
    return procrastinate.PsycopgConnector(kwargs=kwargs)


def make_app(url: str) -> Any:
    import procrastinate

    app = procrastinate.App(connector=_connector(url))
    app.task(name=TASK, pass_context=True)(_run_task)
    return app


def ensure_schema(engine: Any, url: str) -> None:
    """Create procrastinate's tables on the server once (at share time)."""
    from sqlalchemy import inspect

    with engine.connect() as conn:
        if "procrastinate_jobs" in inspect(conn).get_table_names():
            return
    app = make_app(url)
    with app.open():
        app.schema_manager.apply_schema()


def dispatch(store: Any, jobs: list[E.Job]) -> list[int]:
    """Put a linked project's queued generation jobs on the team queue."""
    from engine.generate.service import family_of

    if not store.is_linked:
        raise StoryreelError("Only a project shared on a team server has render nodes.")
    app = make_app(store.link.server)
    ids: list[int] = []
    with app.open():
        for job in jobs:
            family, _ = family_of(job.params.get("backend", "animatic"))
            qid = app.configure_task(TASK, queue=queue_name(family)).defer(job_id=job.id)
            ids.append(int(qid))
            store.set_fields(E.Job, job.id, params={**job.params, "queue_id": int(qid)})
    return ids


def abort(store: Any, job: E.Job) -> None:
    """Abort the running procrastinate job of a row (its row is already cancelled)."""
    qid = job.params.get("queue_id")
    if not store.is_linked or qid is None:
        return
    app = make_app(store.link.server)
    with app.open(), contextlib.suppress(Exception):
        app.job_manager.cancel_job_by_id(int(qid), abort=True)


# --------------------------------------------------------------------------- the node
class _Node:
    def __init__(self, store: Any, name: str, device: str) -> None:
        from engine.generate.service import BackendPool

        self.store = store
        self.name = name
        self.device = device
        self.pool = BackendPool()
        self.ran: list[str] = []


_NODE: _Node | None = None


def _run_task(context: Any, job_id: str) -> None:
    from engine.jobs.worker import run_job

    node = _NODE
    assert node is not None, "the task runs inside run_node"
    queue = JobQueue(node.store)
    # a retried job of a node that died is still RUNNING in its row: take it over
    claimed = queue._exec(
        "UPDATE jobs SET status='running', started_at=:now, message='starting', progress=0, "
        "node=:node WHERE id=:id AND status IN ('queued', 'running')",
        id=job_id, now=E.utc_now(), node=node.name)
    if not claimed:
        return  # cancelled before it started, or finished
    job = queue.get(job_id)
    if job.kind != GENERATE:
        queue.finish(job.id, JobStatus.FAILED, message="failed",
                     error=f"A render node runs generation jobs, not {job.kind!r}.")
        return
    if node.device != "auto":
        job.params = {**job.params, "device": node.device}
    log.info("%s runs job %s", node.name, job_id[:8])
    node.ran.append(job_id)
    # the row's cancel is polled in run_job's step callback; procrastinate's abort too
    original = queue.is_cancelled
    queue.is_cancelled = lambda jid: original(jid) or context.should_abort()  # type: ignore
    run_job(node.store, queue, job, node.pool)


async def _retry_stalled(app: Any, stop: asyncio.Event) -> None:
    """Put back the jobs of nodes that stopped sending heartbeats (killed, lost power)."""
    while not stop.is_set():
        with contextlib.suppress(Exception):
            for job in await app.job_manager.get_stalled_jobs(
                    seconds_since_heartbeat=STALLED_S):
                log.warning("retrying job %s of a stalled node", job.id)
                await app.job_manager.retry_job(job)
            await app.job_manager.prune_stalled_workers(STALLED_S)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max(0.5, STALLED_S / 4))


def run_node(root: Path, *, name: str | None = None, device: str = "auto",
             families: list[str] | None = None, until_empty: bool = False) -> list[str]:
    """Pull generation jobs from the team queue of the linked copy ``root`` until stopped
    (Ctrl-C, SIGTERM) or, with ``until_empty``, until no job is left. Returns the ids of
    the jobs this node ran."""
    global _NODE
    from engine.store import ProjectStore

    store = ProjectStore.open(root)
    if not store.is_linked:
        store.close()
        raise StoryreelError(f"{root} is not linked to a team server.")
    url = store.link.server
    node = _Node(store, name or socket.gethostname(), device)
    _NODE = node
    app = make_app(url)
    queues = [queue_name(f) for f in families] if families else None

    async def main() -> None:
        stop = asyncio.Event()
        async with app.open_async():
            watchdog = asyncio.create_task(_retry_stalled(app, stop))
            try:
                await app.run_worker_async(
                    queues=queues, name=node.name, concurrency=1, wait=not until_empty,
                    update_heartbeat_interval=HEARTBEAT_S,
                    stalled_worker_timeout=STALLED_S, install_signal_handlers=True)
            finally:
                stop.set()
                await watchdog

    try:
        asyncio.run(main())
    finally:
        node.pool.release()
        store.close()
        _NODE = None
    return node.ran


@contextlib.contextmanager
def quiet_procrastinate() -> Iterator[None]:
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    yield
