"""Store change events → a Qt signal delivered on the UI thread.

``ProjectStore.subscribe`` calls its listeners on whatever thread committed the change
(a thread-pool task, for instance). Widgets must only be touched on the UI thread, so
the bridge re-emits each batch as ``changed(list[Change])``; Qt queues the delivery to
receivers living in the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QObject, Signal

FOLLOW_MS = 250  # how often an open project reads other processes' log entries


class StoreBridge(QObject):
    """Subscribes to a ProjectStore and re-emits its change batches as ``changed``."""

    changed = Signal(object)  # list[engine.store.project.Change]

    def __init__(self, store: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self._unsubscribe: Callable[[], None] | None = store.subscribe(self._on_changes)

    def _on_changes(self, changes: list[Any]) -> None:
        # Emitting from another thread is safe: delivery to UI-thread receivers is queued.
        self.changed.emit(list(changes))

    def detach(self) -> None:
        if self._unsubscribe is not None:
            try:
                self._unsubscribe()
            except ValueError:
                pass
            self._unsubscribe = None


def kinds_of(changes: Iterable[Any]) -> set[str]:
    """The entity class names in a change batch, e.g. {"Shot", "Take"}."""
    return {getattr(c.kind, "__name__", str(c.kind)) for c in changes}


class Follower(QObject):
    """Shows other processes' edits (the CLI, a second window, a teammate): every
    ``interval_ms`` the store's log is read past the last sequence number seen
    (``ProjectStore.follow``) on the studio's background reader thread; each new entry
    reaches the store's listeners (and so the bridge's ``changed``) once."""

    followed = Signal(int)  # how many entries of other processes the last read found

    def __init__(self, store: Any, interval_ms: int = FOLLOW_MS,
                 parent: QObject | None = None) -> None:
        from PySide6.QtCore import QTimer

        from studio.background import shared_reader

        super().__init__(parent)
        self.store = store
        self._reader = shared_reader()
        self._reading = False
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.poll)
        self._done.connect(self._finished)
        self.timer.start()

    _done = Signal(int)

    def poll(self) -> None:
        if self._reading or self.store is None:
            return
        self._reading = True
        store, done = self.store, self._done

        def work() -> None:
            found = 0
            try:
                found = len(store.follow())
            except Exception:  # noqa: BLE001 - a locked or closed project: next tick
                found = 0
            try:
                done.emit(found)
            except RuntimeError:  # the follower is gone
                pass

        self._reader.submit(work)

    def _finished(self, found: int) -> None:
        self._reading = False
        if found:
            self.followed.emit(found)

    def stop(self) -> None:
        self.timer.stop()
        self.store = None
