"""The studio's one background thread for store reads (and the follow poll).

Nothing that touches the database runs on the UI thread: reads that cost more than a
glance (the jobs list, the timeline snapshot, the other processes' log entries) are
queued here, in order, and their results come back to the UI thread through queued Qt
signals. One long-lived thread: starting a thread per read waits for the new thread to
get the GIL, which on a busy machine costs the UI thread tens of milliseconds.
"""

from __future__ import annotations

import queue
import threading
import traceback
from collections.abc import Callable

_shared: BackgroundReader | None = None
_shared_lock = threading.Lock()


class BackgroundReader:
    """A daemon thread that runs submitted functions one after another."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[], None]) -> None:
        self._queue.put(fn)

    def close(self) -> None:
        self._queue.put(None)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while True:
            fn = self._queue.get()
            if fn is None:
                return
            try:
                fn()
            except Exception:  # noqa: BLE001 - a failed read must not end the thread
                traceback.print_exc()


def shared_reader() -> BackgroundReader:
    """The studio's one reader thread (started on first use)."""
    global _shared
    with _shared_lock:
        if _shared is None or not _shared.alive:
            _shared = BackgroundReader("storyreel-store-reads")
        return _shared
