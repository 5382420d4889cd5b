"""Which process runs a local job: ``host:pid`` in the job's row (``jobs.owner``).

Local jobs (export, voice, mix, plan, import, preview sound, voice sample, hand-off) run in
the process that queued them, the studio or the CLI. If that process ends before they
finish (a crash, a kill, a power cut), nothing else will run them: the next runner opened
on this machine ends such rows with a reason (``JobQueue.end_orphaned_local``) instead of
leaving them queued or running for ever. A process on another machine cannot be asked, so
only this host's rows are judged."""

from __future__ import annotations

import os
import socket


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def is_gone(owner: str) -> bool:
    """Whether ``owner`` names a process of this machine that no longer runs."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # someone else's process with that id: it runs
        return False
    return False
