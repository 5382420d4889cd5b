"""The inspector's field widgets: a combo the wheel does not change, a text box that commits
on focus-out, and the backend/model choices."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFocusEvent
from PySide6.QtWidgets import QComboBox, QPlainTextEdit, QWidget

from engine.generate import registry


def generation_choices() -> list[tuple[str, str]]:
    """(key, label) pairs for the backend/model combo: the animatic, then registered models."""
    choices = [("animatic", "Animatic (CPU)")]
    try:
        models = registry.list_models()
    except registry.ModelError:  # an unreadable registry must not break the inspector
        models = []
    choices += [(entry.name, entry.name) for entry in models if entry.name != "animatic"]
    return choices


class FieldCombo(QComboBox):
    """A combo that scrolling the inspector past does not change (each change is an edit).

    The wheel changes it only once it has focus (clicked or tabbed to).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def wheelEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()  # the scroll area scrolls instead


class CommitTextEdit(QPlainTextEdit):
    """A plain text box that emits ``committed`` when it loses focus after a change."""

    committed = Signal(str)

    def __init__(self, parent: QWidget | None = None, height: int = 64) -> None:
        super().__init__(parent)
        self.setFixedHeight(height)
        self.setTabChangesFocus(True)

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt API
        super().focusOutEvent(event)
        if self.document().isModified():
            self.document().setModified(False)
            self.committed.emit(self.toPlainText())

    def set_text(self, text: str) -> None:
        if text != self.toPlainText():
            self.setPlainText(text)
        self.document().setModified(False)
