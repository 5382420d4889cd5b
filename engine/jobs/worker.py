"""The worker: runs queued jobs one at a time, in its own process, with the model kept warm.

``run_worker`` is the loop; ``WorkerProcess`` starts it as ``python -m engine.jobs.worker
DIR --loop`` so a crash or an out-of-memory error in a model never takes the GUI or the
project down. One worker per project (a lock file in ``cache/``). Killing a worker leaves
the queue intact: the next worker puts jobs it finds RUNNING back in the queue first.
Progress lands in the job rows; a cancel (the row set to CANCELLED) is seen within one step.
``WorkerProcess(events=True)`` also streams each event as a JSON line on a pipe
(``ready`` once the worker holds the queue's lock, then ``started``, ``progress``, ``done``,
``failed``, ``cancelled``), so a caller can wait for one without polling the database.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from engine.errors import Cancelled, StoryreelError
from engine.jobs.kinds import SCORE, WORKER_KINDS
from engine.jobs.progress import CancelToken
from engine.jobs.queue import GENERATE, JobQueue
from engine.model import JobStatus
from engine.model import entities as E

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

EventHandler = Callable[[str, E.Job], None]
LOCK_NAME = "worker.lock"
STOP_NAME = "worker.stop"
REPORT_INTERVAL = 0.1  # seconds between progress writes to the DB


class WorkerBusy(StoryreelError):
    """Another worker already runs this project's queue."""


class _Lock:
    """An exclusive, process-lifetime lock on a file (released by the OS if we die)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[str] | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")
        try:
            if os.name == "nt":
                import msvcrt

                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            return False
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh
        return True

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _failure_reason(exc: BaseException) -> str:
    name = type(exc).__name__
    if "OutOfMemory" in name or isinstance(exc, MemoryError):
        return "Out of memory: try a lower quality, a smaller size or a leaner memory profile."
    if isinstance(exc, StoryreelError):
        return str(exc)
    return f"{name}: {exc}"


def run_job(store: Any, queue: JobQueue, job: E.Job, pool: Any,
            on_event: EventHandler | None = None) -> JobStatus:
    """Run one claimed (RUNNING) job to its end state and record it in the row."""
    from engine.generate.service import GenerationSpec, generate_shot

    cancel = CancelToken(poll=lambda: queue.is_cancelled(job.id))
    last = [0.0]

    def progress(fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if now - last[0] < REPORT_INTERVAL and fraction < 1.0:
            return
        last[0] = now
        if not queue.report(job.id, fraction, message):
            cancel.cancel()  # the row was cancelled (by any process): stop at this step
            return
        job.progress, job.message = fraction, message
        if on_event:
            on_event("progress", job)

    if on_event:
        on_event("started", job)
    try:
        if job.kind == SCORE:
            from engine.jobs.kinds import run_kind

            result = run_kind(store, job, progress, cancel)
            outcome = None
        elif job.kind != GENERATE:
            raise StoryreelError(f"This worker cannot run {job.kind!r} jobs.")
        elif job.shot_id is None:
            raise StoryreelError("The job names no shot.")
        else:
            spec = GenerationSpec.from_params(job.params)
            outcome = generate_shot(store, job.shot_id, spec, pool, progress, cancel)
    except Cancelled:
        queue.finish(job.id, JobStatus.CANCELLED, message="cancelled")
    except Exception as exc:  # noqa: BLE001 - a failed job is recorded, the queue goes on
        reason = _failure_reason(exc)
        if reason.startswith("Out of") or "memory" in reason:
            pool.release()  # free what the failed run left behind; the next job reloads
        queue.finish(job.id, JobStatus.FAILED, message="failed", error=reason)
    else:
        if outcome is None:  # a score job
            queue.finish(job.id, JobStatus.DONE, message="done", result=result)
        else:
            take = outcome.take
            result = {"take_id": take.id, "media": take.media, "cache_hit": outcome.cache_hit,
                      "wall_s": take.record.get("timings", {}).get("wall_s")}
            queue.finish(job.id, JobStatus.DONE,
                         message="cached" if outcome.cache_hit else "done", result=result)
            queue_scoring(store, queue, take)
    final = store.get(E.Job, job.id) or job
    if on_event:
        on_event(str(final.status), final)
    return final.status


def queue_scoring(store: Any, queue: JobQueue, take: E.Take) -> E.Job | None:
    """A ``score`` job for a new take, unless the project turned scoring off or identity
    does not apply to it (an animatic, no characters or references)."""
    from engine.generate.identity import auto_score, not_applicable_reason

    if not auto_score(store) or not_applicable_reason(store, take) is not None:
        return None
    return queue.submit(SCORE, {"take_ids": [take.id]}, shot_id=take.shot_id)


def run_worker(project_dir: Path, *, once: bool = True, on_event: EventHandler | None = None,
               poll_interval: float = 0.5, idle_exit: float | None = None,
               pool: Any = None, parent_pid: int | None = None,
               on_ready: Callable[[], None] | None = None) -> None:
    """Run the project's queue. ``once``: stop when the queue is empty; else keep polling
    until ``cache/worker.stop`` appears, ``idle_exit`` seconds pass with nothing to do, or
    the process ``parent_pid`` (the GUI that started us) is gone. ``on_ready`` is called
    once the worker holds the queue's lock and has put orphaned jobs back."""
    from engine.generate.service import BackendPool
    from engine.store import ProjectStore

    store = ProjectStore.open(project_dir)
    lock = _Lock(store.cache_dir / LOCK_NAME)
    if not lock.acquire():
        store.close()
        raise WorkerBusy(f"Another worker is already running the queue of {project_dir}.")
    stop_flag = store.cache_dir / STOP_NAME
    stop_flag.unlink(missing_ok=True)
    queue = JobQueue(store)
    own_pool = pool is None
    pool = pool if pool is not None else BackendPool()
    try:
        queue.requeue_orphans()
        if on_ready is not None:
            on_ready()
        idle_since = time.monotonic()
        warm_key: str | None = None
        while True:
            if stop_flag.exists() or (parent_pid is not None and os.getppid() != parent_pid):
                break
            job = queue.claim_next(warm_key, kinds=WORKER_KINDS)
            if job is None:
                if once:
                    break
                if idle_exit is not None and time.monotonic() - idle_since > idle_exit:
                    break
                time.sleep(poll_interval)
                continue
            run_job(store, queue, job, pool, on_event)
            warm_key = job.model_key
            idle_since = time.monotonic()
    finally:
        if own_pool and hasattr(pool, "release"):
            pool.release()
        stop_flag.unlink(missing_ok=True)
        lock.release()
        store.close()


class WorkerProcess:
    """The worker as a separate OS process (``python -m engine.jobs.worker DIR --loop``)."""

    def __init__(self, project_dir: Path, idle_exit: float | None = None, *,
                 events: bool = False) -> None:
        self.project_dir = Path(project_dir)
        self.idle_exit = idle_exit
        self.events = events  # stream events as JSON lines (see next_event)
        self.proc: subprocess.Popen[bytes] | None = None
        self._pending = b""

    @property
    def log_path(self) -> Path:
        return self.project_dir / "cache" / "worker.log"

    def start(self) -> None:
        if self.is_alive():
            return
        cmd = [sys.executable, "-m", "engine.jobs.worker", str(self.project_dir), "--loop",
               "--parent-pid", str(os.getpid())]
        if self.idle_exit is not None:
            cmd += ["--idle-exit", str(self.idle_exit)]
        if self.events:
            cmd += ["--events"]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        (self.project_dir / "cache" / STOP_NAME).unlink(missing_ok=True)
        root = Path(__file__).resolve().parent.parent.parent
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE if self.events else log,
                stderr=log if self.events else subprocess.STDOUT, env=env)
        self._pending = b""

    def next_event(self, timeout: float) -> dict[str, Any] | None:
        """The worker's next event (``events=True``): blocks until one arrives; None when
        the worker has exited or ``timeout`` seconds pass first."""
        assert self.events and self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._pending:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    return None
                chunk = os.read(fd, 65536)
                if not chunk:
                    return None  # the worker exited
                self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return json.loads(line)

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool],
                 timeout: float) -> dict[str, Any]:
        """Events until one matches ``predicate``; StoryreelError if the worker exits or
        ``timeout`` seconds pass first (with the end of its log)."""
        deadline = time.monotonic() + timeout
        while True:
            event = self.next_event(max(0.0, deadline - time.monotonic()))
            if event is None:
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise StoryreelError(f"The worker sent no such event (log: {tail!r}).")
            if predicate(event):
                return event

    def is_alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the worker to stop after the current job (cancel jobs to stop sooner)."""
        if self.proc is None:
            return
        (self.project_dir / "cache" / STOP_NAME).touch()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        if self.proc is not None and self.is_alive():
            self.proc.kill()
            self.proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.jobs.worker")
    parser.add_argument("dir")
    parser.add_argument("--loop", action="store_true", help="keep polling for new jobs")
    parser.add_argument("--idle-exit", type=float, default=None)
    parser.add_argument("--parent-pid", type=int, default=None,
                        help="exit (leaving the queue intact) when this process is gone")
    parser.add_argument("--events", action="store_true",
                        help="print every event (progress too) as one JSON line on stdout")
    parser.add_argument("--nice", type=int, default=5,
                        help="lower this process's CPU priority so the studio stays "
                             "responsive (default 5; 0 keeps it)")
    args = parser.parse_args(argv)
    if args.nice and hasattr(os, "nice"):
        os.nice(args.nice)

    def log(event: str, job: E.Job) -> None:
        if args.events:
            emit({"event": event, "job": job.id, "shot": job.shot_id,
                  "status": str(job.status), "progress": job.progress,
                  "message": job.message, "error": job.error})
        elif event != "progress":
            print(f"{E.utc_now()} {event} job {job.id[:8]} shot {str(job.shot_id)[:8]} "
                  f"{job.error or job.message}", flush=True)

    def emit(data: dict[str, Any]) -> None:
        print(json.dumps(data, ensure_ascii=False), flush=True)

    try:
        run_worker(Path(args.dir), once=not args.loop, on_event=log, idle_exit=args.idle_exit,
                   parent_pid=args.parent_pid,
                   on_ready=(lambda: emit({"event": "ready", "pid": os.getpid()}))
                   if args.events else None)
    except StoryreelError as exc:
        print(f"storyreel worker: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
