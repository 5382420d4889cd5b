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
