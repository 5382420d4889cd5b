"""Undo/redo actions over the project's persistent, per-author operation log.

Ctrl+Z undoes the current author's last operation through ``engine.ops.history.undo``
(the same as ``storyreel undo``); Ctrl+Shift+Z (or Ctrl+Y) redoes it. An undo that would
overwrite a later change by someone else is refused by the engine (UndoRefused): its
sentence is shown as a dialog and nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence

from engine.errors import StoryreelError
from engine.ops import history
from studio.i18n import tr, tr_engine
from studio.store_bridge import StoreBridge


class UndoController(QObject):
    """Owns the Undo and Redo actions; keeps their text and enabled state current.

    ``error_handler(message)`` shows the engine's sentence (a refused undo) as a dialog.
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

    @property
    def author(self) -> str | None:
        """Whose history Ctrl+Z walks: the store's author (STORYREEL_USER, else the login)."""
        return None if self.store is None else self.store.author

    def attach(self, store: Any, bridge: StoreBridge | None) -> None:
        self.store = store
        if bridge is not None:  # a burst of changes reads the history once
            bridge.changed.connect(self.schedule_refresh)
        self.refresh()

    def schedule_refresh(self, *_: object) -> None:
        """A change event: the actions follow at once (a Ctrl+Z right after an edit
        must find Undo enabled)."""
        self.refresh()

    def detach(self) -> None:
        self.store = None
        self.refresh()

    def undo(self) -> None:
        self._run(history.undo)

    def redo(self) -> None:
        self._run(history.redo)

    def _run(self, step: Callable[..., Any]) -> None:
        if self.store is None:
            return
        try:
            step(self.store, self.author)
        except StoryreelError as exc:  # UndoRefused, a busy project: one sentence
            if self.error_handler is not None:
                self.error_handler(str(exc))
        self.refresh()

    def refresh(self, *_: object) -> None:
        store = self.store
        undo_label = redo_label = ""
        can_undo = can_redo = False
        if store is not None:
            stacks = store.stacks(self.author)
            can_undo, can_redo = bool(stacks.done), bool(stacks.undone)
            undo_label = stacks.labels.get(stacks.done[-1], "") if can_undo else ""
            redo_label = stacks.labels.get(stacks.undone[-1], "") if can_redo else ""
        self.undo_action.setEnabled(can_undo)
        self.redo_action.setEnabled(can_redo)
        self.undo_action.setText(tr("Undo") + (f" {tr_engine(undo_label)}" if undo_label else ""))
        self.redo_action.setText(tr("Redo") + (f" {tr_engine(redo_label)}" if redo_label else ""))
        self.history_changed.emit()
