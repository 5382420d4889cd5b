"""Help → Keyboard shortcuts: every menu command with its keys, plus the player's keys.

The table is read from the window's menus when the dialog opens, so it always matches
the shortcuts actually bound (and the UI language in use).
"""

from __future__ import annotations

import re

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QMainWindow,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.i18n import tr


def plain(text: str) -> str:
    """A menu text without its mnemonic marker and trailing ellipsis ("&File" → "File")."""
    text = re.sub(r"\(&\w\)", "", text)  # Chinese menus: "文件(&F)" → "文件"
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").strip()


def keys_text(action: QAction) -> str:
    return ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText)
                     for k in action.shortcuts() if not k.isEmpty())


def shortcut_rows(window: QMainWindow) -> list[tuple[str, str]]:
    """(command, keys) for each menu action that has a shortcut, then the player's keys."""
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    for top in window.menuBar().actions():
        menu = top.menu()
        if menu is None:
            continue
        for action in menu.actions():
            keys = keys_text(action)
            name = f"{plain(top.text())} › {plain(action.text())}"
            if action.isSeparator() or not keys or name in seen:
                continue
            seen.add(name)
            rows.append((name, keys))
    space = QKeySequence("Space").toString(QKeySequence.SequenceFormat.NativeText)
    rows.append((tr("Play / pause the preview"), space))
    rows.append((tr("Back one second / pause / play (preview)"), "J / K / L"))
    return rows


class ShortcutsDialog(QDialog):
    def __init__(self, window: QMainWindow, parent: QWidget | None = None) -> None:
        super().__init__(parent or window)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle(tr("Keyboard shortcuts"))
        rows = shortcut_rows(window)
        self.table = QTableWidget(len(rows), 2, self)
        self.table.setHorizontalHeaderLabels([tr("Command"), tr("Keys")])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        for row, (name, keys) in enumerate(rows):
            self.table.setItem(row, 0, QTableWidgetItem(name))
            self.table.setItem(row, 1, QTableWidgetItem(keys))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(560, 800)

    def rows(self) -> list[tuple[str, str]]:
        return [(self.table.item(r, 0).text(), self.table.item(r, 1).text())
                for r in range(self.table.rowCount())]
