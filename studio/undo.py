"""Undo/redo actions wired to the project store's one history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence

from studio.i18n import tr
from studio.store_bridge import StoreBridge


class UndoController(QObject):
    """Owns the Undo and Redo actions; keeps their text and enabled state current.

    ``error_handler(message)`` shows engine errors (an undo that conflicts with saved data).
    """

    history_changed = Signal()

    def __init__(self, parent: QObject | None = None,
                 error_handler: Callable[[str], None] | None = None) -> None:
        super().__init__(parent)
        self.store: Any = None
        self.error_handler = error_handler
        self.undo_action = QAction(tr("Undo"), self)
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)  # Ctrl+Z
        self.undo_action.triggered.connect(self.undo)
        self.redo_action = QAction(tr("Redo"), self)
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.redo_action.triggered.connect(self.redo)
        self.refresh()

    def attach(self, store: Any, bridge: StoreBridge | None) -> None:
        self.store = store
        if bridge is not None:
            bridge.changed.connect(self.refresh)
        self.refresh()

    def detach(self) -> None:
        self.store = None
        self.refresh()

    def undo(self) -> None:
        self._run(lambda: self.store.undo())

    def redo(self) -> None:
        self._run(lambda: self.store.redo())

    def _run(self, fn: Callable[[], Any]) -> None:
        if self.store is None:
            return
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a crash
            if self.error_handler is not None:
                self.error_handler(str(exc))
        self.refresh()

    def refresh(self, *_: object) -> None:
        store = self.store
        can_undo = bool(store is not None and store.can_undo)
        can_redo = bool(store is not None and store.can_redo)
        self.undo_action.setEnabled(can_undo)
        self.redo_action.setEnabled(can_redo)
        self.undo_action.setText(
            tr("Undo") + (f" {tr(store.undo_label)}" if can_undo and store.undo_label else ""))
        self.redo_action.setText(
            tr("Redo") + (f" {tr(store.redo_label)}" if can_redo and store.redo_label else ""))
        self.history_changed.emit()
