"""Progress reporting and cancellation shared by every long task.

A long task takes ``progress: Progress`` and ``cancel: CancelToken``. It calls
``progress(fraction, message)`` as it goes (fraction in 0..1) and ``cancel.check()``
between steps, which raises ``Cancelled``. Nothing long runs on the UI thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from engine.errors import Cancelled

Progress = Callable[[float, str], None]


def no_progress(fraction: float, message: str = "") -> None:
    """A Progress that ignores reports."""


class CancelToken:
    """Set from any thread (or by a file flag / DB row for other processes)."""

    def __init__(self, poll: Callable[[], bool] | None = None) -> None:
        self._event = threading.Event()
        self._poll = poll  # e.g. reads a job row's status; called at most every 0.2 s
        self._last_poll = 0.0

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        if self._event.is_set():
            return True
        if self._poll is not None:
            now = time.monotonic()
            if now - self._last_poll >= 0.2:
                self._last_poll = now
                if self._poll():
                    self._event.set()
        return self._event.is_set()

    def poll_now(self) -> bool:
        """``cancelled``, asking the poll now rather than at most every 0.2 s (before a
        finished task keeps what it made)."""
        if not self._event.is_set() and self._poll is not None:
            self._last_poll = time.monotonic()
            if self._poll():
                self._event.set()
        return self._event.is_set()

    def check(self) -> None:
        if self.cancelled:
            raise Cancelled("Cancelled by the user.")


class Eta:
    """Estimated time left from progress fractions: call ``update(f)``, read ``seconds``."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.fraction = 0.0

    def update(self, fraction: float) -> None:
        self.fraction = max(self.fraction, min(1.0, fraction))

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start

    @property
    def seconds(self) -> float | None:
        if self.fraction <= 0.01:
            return None
        return self.elapsed * (1 - self.fraction) / self.fraction


def scaled(progress: Progress, start: float, end: float) -> Progress:
    """A Progress for a sub-task that maps its 0..1 onto start..end of the parent."""

    def report(fraction: float, message: str = "") -> None:
        progress(start + (end - start) * max(0.0, min(1.0, fraction)), message)

    return report
