"""The main window's actions, menus, toolbar and status-bar task widgets.

``WindowMenus`` is mixed into ``studio.main_window.MainWindow``; ``build_ui`` calls
``_build_actions`` and ``_build_status_bar`` (again after a language switch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton

from studio.i18n import tr

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMainWindow as _Base
else:
    _Base = object


class WindowMenus(_Base):
    """Actions and menus of the main window (a mixin: the window holds the state)."""

    storyboard: Any
    tabs: Any
    undo: Any
    workflows: Any
    inspector_dock: Any
    preview_dock: Any

    def _action(self, text: str, slot: Any, shortcut: QKeySequence | str | None = None,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(tip or text)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _build_actions(self) -> None:
        self.menuBar().clear()
        for bar in getattr(self, "_toolbars", []):
            self.removeToolBar(bar)
            bar.setObjectName("")
            bar.setParent(None)
            bar.deleteLater()
        self.act_new = self._action(tr("New project…"), self.show_start_page,
                                    QKeySequence.StandardKey.New)
        self.act_open = self._action(tr("Open project…"), self.browse_open_project,
                                     QKeySequence.StandardKey.Open)
        self.act_save = self._action(tr("Save"), self.save, QKeySequence.StandardKey.Save)
        self.act_close = self._action(tr("Close project"), self.close_project, "Ctrl+W")
        self.act_prefs = self._action(tr("Preferences…"), self.show_preferences, "Ctrl+,")
        self.act_quit = self._action(tr("Quit"), self.close, "Ctrl+Q")
        self.act_import = self._action(tr("Import script…"), self.import_script, "Ctrl+I")
        self.act_plan = self._action(tr("Plan shots"), self.plan_shots, "Ctrl+Shift+P")
        self.act_add_shot = self._action(tr("Add shot"), self.add_shot, "Ctrl+Shift+N")
        self.act_duplicate = self._action(tr("Duplicate"), self.duplicate_selected, "Ctrl+D")
        self.act_delete = self._action(tr("Delete"), self.delete_selected,
                                       QKeySequence(Qt.Key.Key_Delete))
        self.act_delete.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.storyboard.addAction(self.act_delete)
        self.act_generate = self._action(tr("Generate selected"), self.generate_selected,
                                         "Ctrl+G")
        self.act_export = self._action(tr("Export…"), self.export, "Ctrl+E")
        self.act_cancel = self._action(tr("Cancel task"), self.workflows.cancel_task, "Ctrl+.")
        self.act_shortcuts = self._action(tr("Keyboard shortcuts…"), self.show_shortcuts)
        self.act_shortcuts.setShortcuts([QKeySequence("F1"), QKeySequence("Ctrl+/")])

        file_menu = self.menuBar().addMenu(tr("&File"))
        for a in (self.act_new, self.act_open, self.act_save, self.act_close):
            file_menu.addAction(a)
        file_menu.addSeparator()
        file_menu.addAction(self.act_import)
        file_menu.addAction(self.act_export)
        file_menu.addSeparator()
        file_menu.addAction(self.act_prefs)
        file_menu.addAction(self.act_quit)
        edit_menu = self.menuBar().addMenu(tr("&Edit"))
        edit_menu.addAction(self.undo.undo_action)
        edit_menu.addAction(self.undo.redo_action)
        edit_menu.addSeparator()
        for a in (self.act_add_shot, self.act_duplicate, self.act_delete):
            edit_menu.addAction(a)
        story_menu = self.menuBar().addMenu(tr("&Story"))
        story_menu.addAction(self.act_plan)
        story_menu.addAction(self.act_generate)
        story_menu.addAction(self.act_cancel)
        self.view_menu = self.menuBar().addMenu(tr("&View"))
        for i, name in enumerate((tr("Script"), tr("Storyboard"), tr("Cast"), tr("Timeline"))):
            act = self._action(name, lambda i=i: self.tabs.setCurrentIndex(i), f"Ctrl+{i + 1}")
            self.view_menu.addAction(act)
        self.view_menu.addSeparator()
        self.view_menu.addAction(self.inspector_dock.toggleViewAction())
        self.view_menu.addAction(self.preview_dock.toggleViewAction())
        help_menu = self.menuBar().addMenu(tr("&Help"))
        help_menu.addAction(self.act_shortcuts)

        toolbar = self.addToolBar(tr("Main"))
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setIconSize(QSize(16, 16))
        for a in (self.act_new, self.act_open, self.act_save):
            toolbar.addAction(a)
        toolbar.addSeparator()
        toolbar.addAction(self.undo.undo_action)
        toolbar.addAction(self.undo.redo_action)
        toolbar.addSeparator()
        for a in (self.act_import, self.act_plan, self.act_add_shot, self.act_generate,
                  self.act_export):
            toolbar.addAction(a)
        self._toolbars = [toolbar]

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        for w in getattr(self, "_status_widgets", []):
            bar.removeWidget(w)
            w.deleteLater()
        self.task_label = QLabel("")
        self.task_progress = QProgressBar()
        self.task_progress.setRange(0, 1000)
        self.task_progress.setFixedWidth(220)
        self.task_cancel = QPushButton(tr("Cancel"))
        self.task_cancel.clicked.connect(self.workflows.cancel_task)
        self._status_widgets = [self.task_label, self.task_progress, self.task_cancel]
        for w in self._status_widgets:
            bar.addPermanentWidget(w)
        self._task_idle()
