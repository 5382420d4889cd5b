"""GPU render nodes on one team queue (procrastinate on the team's PostgreSQL server).

A linked project's ``generate`` writes its job rows as usual and defers one procrastinate
job per row on the queue of its model: ``gen.<family>.<model key>`` (``gen.wan-vace.3f2a…``,
the key a short digest of the model's content hash, so one model has one queue on every
machine whatever its registered name). ``storyreel worker --server URL --name NODE`` on
each GPU machine pulls them (SKIP LOCKED, LISTEN/NOTIFY), keeps its model warm in one
BackendPool, records itself in the job row, and reports progress into the row like the
local worker.

Warm model first: a node that has a model loaded fetches from that model's queue before
any other (``_PreferringJobManager``, procrastinate's own fetch on one queue, then on all
it serves), so a node with Wan loaded drains the Wan jobs while another node takes the
SDXL ones, and a model is loaded once per run of its jobs, not once per job. ``--families``
limits a node to the queues of those families.

A cancel from any client marks the row and aborts the procrastinate job; the step
callback sees either within a step. A node killed mid-job stops sending heartbeats; any
other node retries its stalled jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
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


# PostgreSQL channel names have at most 63 bytes; procrastinate notifies on
# "procrastinate_queue_v1#" + the queue's name, so a queue name has at most 40
MAX_QUEUE_NAME = 63 - len("procrastinate_queue_v1#")


def model_key(content_hash: str) -> str:
    """A short, stable key of a model (its content hash digested)."""
    return hashlib.sha256(content_hash.encode()).hexdigest()[:12]


def queue_name(family: str, content_hash: str | None = None) -> str:
    """The queue of one model (``gen.<family>.<key>``), or a family's own (older jobs)."""
    name = QUEUE_PREFIX + family
    if content_hash is not None:
        name += "." + model_key(content_hash)
    if len(name.encode()) > MAX_QUEUE_NAME:
        raise StoryreelError(f"Model family {family!r} has too long a name for a queue.")
    return name


def family_of_queue(name: str) -> str | None:
    """The model family a queue serves (None for a queue that is not a generation one)."""
    if not name.startswith(QUEUE_PREFIX):
        return None
    return name[len(QUEUE_PREFIX):].split(".", 1)[0]


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
            family, content_hash = family_of(job.params.get("backend", "animatic"))
            queue = queue_name(family, content_hash)
            qid = app.configure_task(TASK, queue=queue).defer(job_id=job.id)
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
    def __init__(self, store: Any, name: str, device: str,
                 families: list[str] | None = None) -> None:
        from engine.generate.service import BackendPool

        self.store = store
        self.name = name
        self.device = device
        self.families = set(families) if families else None
        self.pool = BackendPool()
        self.ran: list[str] = []
        self.warm_queue: str | None = None  # the queue of the model the pool holds

    def serves(self, queue: str) -> bool:
        family = family_of_queue(queue)
        return family is not None and (self.families is None or family in self.families)


_QUEUES_WAITING = """
SELECT DISTINCT queue_name FROM procrastinate_jobs
 WHERE status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now())
"""


def _preferring_manager(app: Any, node: _Node) -> Any:
    """procrastinate's JobManager whose fetch tries the node's warm model's queue first,
    then every queue the node serves (oldest job first, procrastinate's order)."""
    from procrastinate import manager

    class _PreferringJobManager(manager.JobManager):
        async def fetch_job(self, queues: Any, worker_id: int) -> Any:
            warm = node.warm_queue
            if warm is not None and node.serves(warm):
                job = await super().fetch_job(queues=[warm], worker_id=worker_id)
                if job is not None:
                    return job
            if node.families is None:
                return await super().fetch_job(queues=None, worker_id=worker_id)
            rows = await self.connector.execute_query_all_async(_QUEUES_WAITING)
            served = sorted(r["queue_name"] for r in rows if node.serves(r["queue_name"]))
            if not served:
                return None
            return await super().fetch_job(queues=served, worker_id=worker_id)

    return _PreferringJobManager(connector=app.connector)


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
    try:
        run_job(node.store, queue, job, node.pool)
    finally:
        # the model stays loaded (a failed load or an out-of-memory error releases it)
        node.warm_queue = context.job.queue if node.pool.backend is not None else None


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
    node = _Node(store, name or socket.gethostname(), device, families)
    _NODE = node
    app = make_app(url)
    app.job_manager = _preferring_manager(app, node)

    async def main() -> None:
        stop = asyncio.Event()
        async with app.open_async():
            watchdog = asyncio.create_task(_retry_stalled(app, stop))
            try:
                # every queue is listened to; the fetch picks what this node serves
                await app.run_worker_async(
                    queues=None, name=node.name, concurrency=1, wait=not until_empty,
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
