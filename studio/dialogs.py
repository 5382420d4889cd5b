"""Every modal question the window asks goes through ``Dialogs``, so tests can answer them.

Tests replace ``window.dialogs`` with an object that has the same methods and returns
canned answers; nothing modal ever blocks an offscreen test run.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox, QWidget

from studio.i18n import tr


class Dialogs:
    def error(self, parent: QWidget | None, message: str) -> None:
        QMessageBox.warning(parent, tr("Storyreel"), message)

    def info(self, parent: QWidget | None, message: str) -> None:
        QMessageBox.information(parent, tr("Storyreel"), message)

    def question(self, parent: QWidget | None, title: str, message: str) -> bool:
        answer = QMessageBox.question(parent, title, message,
                                      QMessageBox.StandardButton.Yes
                                      | QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def open_file(self, parent: QWidget | None, caption: str, filters: str) -> str:
        path, _ = QFileDialog.getOpenFileName(parent, caption, "", filters)
        return path

    def save_file(self, parent: QWidget | None, caption: str, default: str, filters: str) -> str:
        path, _ = QFileDialog.getSaveFileName(parent, caption, default, filters)
        return path

    def existing_dir(self, parent: QWidget | None, caption: str) -> str:
        return QFileDialog.getExistingDirectory(parent, caption)

    def run(self, dialog: QDialog) -> int:
        """Show a dialog modally (tests show it non-modally and drive it)."""
        return dialog.exec()
