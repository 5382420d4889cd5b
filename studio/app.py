"""``storyreel gui [DIR] [--screenshot OUT.png]``: the QApplication, theme and main window."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import QApplication

from engine.assets import cjk_font_path
from studio import i18n, preferences

SCREENSHOT_SIZE = (1600, 1000)

STYLESHEET = """
QMainWindow, QWidget { font-size: 10pt; }
QToolBar { spacing: 4px; padding: 3px; border: none; }
QToolBar QToolButton { padding: 4px 8px; border-radius: 4px; }
QToolBar QToolButton:hover { background: #3a404c; }
QTabBar::tab { padding: 6px 16px; }
QGroupBox { border: 1px solid #3a3f4b; border-radius: 6px; margin-top: 14px; padding-top: 6px; }
QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 4px; color: #aab2c0; }
QPushButton { padding: 5px 12px; border-radius: 4px; border: 1px solid #4a5060;
              background: #353a45; }
QPushButton:hover { background: #404656; }
QPushButton:disabled { color: #6b7080; }
QPushButton#primary { background: #2f6fde; border-color: #3b7cf0; color: white; }
QPushButton#primary:hover { background: #3b7cf0; }
QLabel#startTitle { font-size: 28pt; font-weight: bold; color: #f0f0f0; }
QLabel#startTagline { font-size: 11pt; color: #9aa3b2; margin-bottom: 12px; }
QLabel#sceneTitle { font-weight: bold; color: #f5b94a; }
QLabel#inspectorHeader { font-weight: bold; padding: 6px; background: #2a2f3a; }
QLabel#muted { color: #9aa3b2; }
QWidget#sceneRow { background: #20242c; border-radius: 6px; }
QListWidget { border: 1px solid #343944; border-radius: 4px; }
QListWidget::indicator, QTableView::indicator { width: 13px; height: 13px;
    border: 1px solid #8a93a5; border-radius: 3px; background: #16181d; }
QListWidget::indicator:checked, QTableView::indicator:checked { background: #2f6fde;
    border-color: #5a96ff; }
QDockWidget::title { padding: 4px; background: #2a2f3a; }
"""


def dark_palette() -> QPalette:
    p = QPalette()
    window, base, text = QColor("#1e2128"), QColor("#16181d"), QColor("#e6e8ec")
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: QColor("#22262e"),
        QPalette.ColorRole.ToolTipBase: QColor("#2a2f3a"),
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: QColor("#2b2f38"),
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor("#ff6b6b"),
        QPalette.ColorRole.Link: QColor("#5aa0ff"),
        QPalette.ColorRole.Highlight: QColor("#2f6fde"),
        QPalette.ColorRole.HighlightedText: QColor("#ffffff"),
        QPalette.ColorRole.PlaceholderText: QColor("#7a8190"),
    }
    for role, color in roles.items():
        p.setColor(role, color)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b7080"))
    return p


def setup_application(app: QApplication) -> None:
    """Theme, bundled CJK font, names and the translator, on an existing QApplication."""
    QCoreApplication.setOrganizationName(preferences.ORG)
    QCoreApplication.setApplicationName(preferences.APP)
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    font_path = cjk_font_path()
    if font_path.is_file():
        font_id = QFontDatabase.addApplicationFont(str(font_path))
        families = QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 else []
        if families:
            font = QFont(families[0])
            font.setPointSize(10)
            app.setFont(font)
    app.setStyleSheet(STYLESHEET)
    i18n.install_language(preferences.language())


def application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else sys.argv[:1])
    assert isinstance(app, QApplication)
    setup_application(app)
    return app


def render_screenshot(window: object, out: Path, size: tuple[int, int] = SCREENSHOT_SIZE) -> Path:
    from PySide6.QtWidgets import QWidget

    assert isinstance(window, QWidget)
    window.resize(*size)
    window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    window.show()
    app = QApplication.instance()
    for _ in range(5):
        app.processEvents()  # type: ignore[union-attr]
    out.parent.mkdir(parents=True, exist_ok=True)
    pixmap = window.grab()
    if not pixmap.save(str(out), "PNG"):
        from engine.errors import StoryreelError
        raise StoryreelError(f"Could not write the screenshot to {out}.")
    return out


def _select_a_shot(window: object) -> None:
    """For a screenshot: show a shot with dialogue (else the first) in the inspector."""
    store = getattr(window, "store", None)
    if store is None:
        return
    shots = store.shots()
    chosen = next((s for s in shots if s.dialogue), shots[0] if shots else None)
    if chosen is not None:
        window.storyboard.select_shots([chosen.id])  # type: ignore[attr-defined]


def main(args: argparse.Namespace) -> int:
    from engine.errors import StoryreelError
    from studio.main_window import MainWindow

    screenshot = getattr(args, "screenshot", None)
    if screenshot and "QT_QPA_PLATFORM" not in os.environ:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    if (not screenshot and sys.platform.startswith("linux")
            and "QT_QPA_PLATFORM" not in os.environ
            and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
            and QApplication.instance() is None):
        raise StoryreelError("No display to open the studio on (neither DISPLAY nor "
                             "WAYLAND_DISPLAY is set); use --screenshot OUT.png to render "
                             "the window to a file instead.")
    app = application()
    window = MainWindow()
    if screenshot:  # nothing modal: errors become the command's one sentence
        window.dialogs.error = lambda _parent, _msg: None  # type: ignore[method-assign]
        window.dialogs.question = lambda *_a: False  # type: ignore[method-assign]
    directory = getattr(args, "dir", None)
    if directory and not window.open_project(directory) and screenshot:
        window.close()
        raise StoryreelError(window.errors[-1] if window.errors else
                             f"Could not open {directory}.")
    if screenshot:
        _select_a_shot(window)
        try:
            out = render_screenshot(window, Path(screenshot))
            print(f"Wrote {out} ({SCREENSHOT_SIZE[0]}×{SCREENSHOT_SIZE[1]}).")
        finally:
            window.close()
        return 0
    window.show()
    return int(app.exec())
