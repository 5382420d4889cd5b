"""Work beside the caller's thread: a function in a daemon thread, or an iterator produced
a few items ahead of its consumer (pictures composed while the encoder works)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


class Background:
    """Runs a function in a daemon thread; ``result()`` joins and re-raises its error."""

    def __init__(self, fn: Any) -> None:
        self._value: Any = None
        self._error: BaseException | None = None
        self.elapsed = 0.0

        def run() -> None:
            t0 = time.monotonic()
            try:
                self._value = fn()
            except BaseException as exc:  # handed to the caller
                self._error = exc
            self.elapsed = time.monotonic() - t0

        self._thread = threading.Thread(target=run, name="storyreel-export", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        self._thread.join()

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value

    @staticmethod
    def queue(items: Iterator[Any], depth: int) -> Iterator[Any]:
        """Produce ``items`` in a thread, at most ``depth`` ahead of the consumer."""
        q: queue.Queue[Any] = queue.Queue(maxsize=depth)
        done = object()
        stop = threading.Event()

        def produce() -> None:
            try:
                for item in items:
                    while not stop.is_set():
                        try:
                            q.put(item, timeout=0.2)
                            break
                        except queue.Full:
                            continue
                    if stop.is_set():
                        return
                q.put(done)
            except BaseException as exc:
                q.put(Failure(exc))
            finally:
                close = getattr(items, "close", None)
                if close is not None:
                    close()  # runs the producer's own cleanup (closes its decoders)

        thread = threading.Thread(target=produce, name="storyreel-frames", daemon=True)
        thread.start()
        try:
            while True:
                item = q.get()
                if item is done:
                    return
                if isinstance(item, Failure):
                    raise item.error
                yield item
        finally:
            stop.set()
            while thread.is_alive():
                try:
                    q.get(timeout=0.05)
                except queue.Empty:
                    pass
            thread.join()


@dataclass
class Failure:
    error: BaseException
