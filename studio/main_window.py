"""The Storyreel main window: start page, Script / Storyboard / Cast / Timeline, docks.

The window is a client of the engine: it opens a ProjectStore, shows what is in it, and
turns user actions into store transactions or engine calls. Widgets re-read the store on
its change events (delivered on the UI thread by StoreBridge).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDockWidget,
    QMainWindow,
    QStackedWidget,
    QTabWidget,
    QWidget,
)

from engine.errors import StoryreelError
from engine.model import Project
from engine.store import ProjectStore
from studio import autosave, episodes, i18n, preferences
from studio.cast import CastView
from studio.dialogs import Dialogs
from studio.export_dialog import ExportDialog
from studio.i18n import tr, tr_engine
from studio.inspector import InspectorDock
from studio.job_runner import StudioJobs
from studio.jobs_dock import JobsDock
from studio.player import PreviewPlayer
from studio.review import ReviewDock
from studio.script_editor import ScriptEditor
from studio.start_page import StartPage
from studio.store_bridge import Follower, StoreBridge, kinds_of
from studio.storyboard import StoryboardView
from studio.take_compare import TakeCompareDialog
from studio.timeline_view import TimelineView
from studio.undo import UndoController
from studio.window_menus import WindowMenus
from studio.workflows import Workflows

APP_NAME = "Storyreel"
SCRIPT_FILTERS = "Scripts (*.txt *.fountain *.md *.docx);;All files (*)"


class MainWindow(WindowMenus, QMainWindow):
    def __init__(self, parent: QWidget | None = None, autosave_ms: int = 60_000) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.dialogs = Dialogs()
        self.errors: list[str] = []  # every error shown, newest last (tests read it)
        self.store: ProjectStore | None = None
        self.bridge: StoreBridge | None = None
        self.follower: Follower | None = None
        self.autosave: autosave.Autosave | None = None
        self.autosave_ms = autosave_ms
        self.job_runner: StudioJobs | None = None  # the one runner of the window's jobs
        self.undo = UndoController(self, error_handler=self.show_error)
        self.undo.history_changed.connect(self.update_title)
        self.workflows = Workflows(self)
        self.workflows.error.connect(self.show_error)
        self.workflows.message.connect(self.show_message)
        self.workflows.busy.connect(self._task_started)
        self.workflows.progress.connect(self._task_progress)
        self.workflows.idle.connect(self._task_idle)
        self.workflows.jobs_changed.connect(self._jobs_changed)
        self.workflows.shot_progress.connect(self._shot_progress)
        self.resize(1600, 1000)
        self.build_ui()
        self.update_title()

    # ================================================================== building
    def build_ui(self) -> None:
        """(Re)create every widget: used at start and after a language switch."""
        self.stack = QStackedWidget()
        self.start_page = StartPage()
        self.start_page.create_requested.connect(self.create_project)
        self.start_page.open_requested.connect(self.open_project)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self._timeline_stale = False
        self.script_editor = ScriptEditor()
        self.script_editor.import_requested.connect(self.import_script)
        self.script_editor.apply_requested.connect(self.apply_script_text)
        self.script_editor.plan_requested.connect(self.plan_shots)
        self.storyboard = StoryboardView()
        self.storyboard.selection_changed.connect(self._selection_changed)
        self.storyboard.error.connect(self.show_error)
        self.cast = CastView()
        self.cast.error.connect(self.show_error)
        self.tabs.addTab(self.script_editor, tr("Script"))
        self.tabs.addTab(self.storyboard, tr("Storyboard"))
        self.tabs.addTab(self.cast, tr("Cast"))
        episodes.install(self)  # the episode navigator dock and the Locations tab
        self.timeline: TimelineView | None = None
        self.tabs.currentChanged.connect(self._refresh_timeline_if_shown)
        self.stack.addWidget(self.start_page)
        self.stack.addWidget(self.tabs)
        self.setCentralWidget(self.stack)

        for dock in (getattr(self, "inspector_dock", None), getattr(self, "preview_dock", None),
                     getattr(self, "review_dock", None)):
            if dock is not None:
                self.removeDockWidget(dock)
                dock.setObjectName("")  # restoreState must not find (and re-dock) it
                dock.setParent(None)
                dock.deleteLater()
        self.inspector_dock = InspectorDock(None, self)
        self.inspector = self.inspector_dock.inspector
        self.inspector.error.connect(self.show_error)
        self.inspector.generate_requested.connect(self.generate)
        self.inspector.play_requested.connect(self.play_file)
        self.inspector.compare_requested.connect(self.compare_takes)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.inspector_dock)

        self.preview_dock = QDockWidget(tr("Preview"), self)
        self.preview_dock.setObjectName("previewDock")
        self.player = PreviewPlayer(self.preview_dock)
        self.preview_dock.setWidget(self.player)
        # "Use this frame as first/last keyframe" of the inspector's shot, on the preview too
        self.inspector.frame_source = self.player.shown_source
        self.player.screen.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.player.screen.customContextMenuRequested.connect(
            lambda pos: self.inspector.keyframe_menu(self.player.screen).exec(
                self.player.screen.mapToGlobal(pos)))
        # Space plays/pauses, as on the timeline
        space = QShortcut(QKeySequence(Qt.Key.Key_Space), self.preview_dock)
        space.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        space.activated.connect(self.player.toggle)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.preview_dock)
        self.tabifyDockWidget(self.inspector_dock, self.preview_dock)
        # team review (status, assignee, notes, who has a shot open) and the board's filter
        self.review_dock = ReviewDock(self)
        self.review_dock.filter_changed.connect(self.storyboard.set_filter)
        self.review_dock.panel.changed.connect(self.storyboard.schedule_refresh)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.review_dock)
        self.tabifyDockWidget(self.inspector_dock, self.review_dock)
        if self.store is not None:
            self.review_dock.set_store(self.store)
        self.inspector_dock.raise_()

        if not hasattr(self, "jobs_dock"):
            self.jobs_dock: JobsDock | None = None
        self._build_actions()
        self._build_status_bar()
        self.stack.setCurrentWidget(self.tabs if self.store is not None else self.start_page)
        self._update_enabled()

    def _update_enabled(self) -> None:
        has = self.store is not None
        for a in (self.act_save, self.act_close, self.act_import, self.act_plan,
                  self.act_add_shot, self.act_duplicate, self.act_delete, self.act_generate,
                  self.act_export):
            a.setEnabled(has)
        self.inspector_dock.setVisible(has)
        self.preview_dock.setVisible(has)
        if self.jobs_dock is not None:
            self.jobs_dock.setVisible(has)

    # ================================================================== title
    def update_title(self) -> None:
        if self.store is None:
            self.setWindowTitle(APP_NAME)
            return
        try:
            title = self.store.project.title
        except StoryreelError:
            title = self.store.root.name
        self.setWindowTitle(f"{title}{'*' if self.store.dirty else ''} — {APP_NAME}")

    # ================================================================== errors
    def show_error(self, message: str) -> None:
        self.errors.append(message)
        self.statusBar().showMessage(message, 8000)
        if "since it was read; reload" in message and self.store is not None:
            # a stale write (a teammate changed it first): nothing was changed; offer reload
            if self.dialogs.question(self, tr("Changed by someone else"),
                                     f"{message}\n\n{tr('Reload what the window shows?')}"):
                self.reload_views()
            return
        self.dialogs.error(self, message)

    def reload_views(self) -> None:
        """Read the project again into every view (after a refused stale write)."""
        if self.store is None:
            return
        self.store.follow()
        self.storyboard.refresh()
        self.inspector.schedule_refresh()
        self.cast.schedule_refresh()
        self.review_dock.refresh()

    def show_message(self, message: str) -> None:
        self.statusBar().showMessage(message, 6000)

    # ================================================================== projects
    def create_project(self, folder: str, project: Project) -> bool:
        if self.store is not None:
            self.close_project()
        try:
            store = ProjectStore.create(folder, project)
        except (StoryreelError, OSError) as exc:
            self.show_error(str(exc))
            return False
        self._attach(store)
        return True

    def browse_open_project(self) -> None:
        folder = self.dialogs.existing_dir(self, tr("Open a .storyreel project folder"))
        if folder:
            self.open_project(folder)

    def open_project(self, folder: str) -> bool:
        if self.store is not None:
            self.close_project()
        try:
            from engine.store.project import find_project_dir
            root = find_project_dir(folder)
            other = autosave.open_elsewhere(root)
            if other is not None:
                self.show_message(tr("This project is also open in another Storyreel "
                                     "window (process") + f" {other}).")
            elif autosave.crashed_before(root):
                self._offer_recovery(root)
            store = self._open_or_repair(root)
        except (StoryreelError, OSError) as exc:
            self.show_error(str(exc))
            return False
        self._attach(store)
        return True

    def _open_or_repair(self, root: Path) -> ProjectStore:
        """Open; a damaged project.db with a good backup offers `storyreel repair`'s fix."""
        from engine.store import integrity

        try:
            return ProjectStore.open(root)
        except StoryreelError as exc:
            damaged = integrity.problem(root / "project.db") is not None
            if not damaged or integrity.good_backup(root) is None:
                raise
            if not self.dialogs.question(
                    self, tr("Repair project"),
                    f"{exc}\n\n" + tr("Restore that backup now? The damaged file is kept "
                                       "beside it, so nothing is lost.")):
                raise
        integrity.repair(root)
        self.show_message(tr("Restored the newest good backup; the damaged file is kept."))
        return ProjectStore.open(root)

    def _offer_recovery(self, root: Path) -> None:
        if not autosave.has_snapshot(root):
            self.show_message(tr("The project was not closed cleanly last time; every "
                                 "committed edit is kept."))
            return
        restore = self.dialogs.question(
            self, tr("Recover project"),
            tr("Storyreel did not close cleanly last time. Every edit was saved as it was "
               "made. Restore the last autosave snapshot instead? (No keeps the current "
               "state.)"))
        if restore:
            autosave.restore_snapshot(root)
            self.show_message(tr("Restored the last autosave snapshot."))

    def _attach(self, store: ProjectStore) -> None:
        self.store = store
        store.mark_saved()
        self.bridge = StoreBridge(store, self)
        self.bridge.changed.connect(self._store_changed)
        self.autosave = autosave.Autosave(store, self.autosave_ms, self)
        # edits of other processes (the CLI, a second window) arrive through the log;
        # derived state (stale, prompts) is the operations' own work (engine.ops.derived)
        self.follower = Follower(store, parent=self)
        self.undo.attach(store, self.bridge)
        self.job_runner = StudioJobs(store, self)
        self.workflows.attach(store, self.job_runner)
        self._attach_views()
        preferences.add_recent_project(store.root)
        self.stack.setCurrentWidget(self.tabs)
        self.tabs.setCurrentWidget(self.storyboard if store.shots() else self.script_editor)
        self._update_enabled()
        self.update_title()

    def _attach_views(self) -> None:
        store = self.store
        self.script_editor.set_text(store.project.script_text if store else "")
        self.storyboard.set_store(store)
        self.inspector.set_store(store)
        self.review_dock.set_store(store)
        self.cast.set_store(store)
        self.cast.jobs = self.job_runner
        if store is not None:
            if self.timeline is not None:
                index = self.tabs.indexOf(self.timeline)
                self.tabs.removeTab(index)
                self.timeline.deleteLater()
            self.timeline = TimelineView(store, None)
            self.timeline.jobs = self.job_runner
            self.tabs.insertTab(3, self.timeline, tr("Timeline"))
            self.timeline.clipSelected.connect(self._timeline_clip_selected)
        if store is not None and self.jobs_dock is None:
            self.jobs_dock = JobsDock(store, self)
            self.jobs_dock.setObjectName("jobsDock")
            self.jobs_dock.show_error = self.show_error
            self.jobs_dock.runner = self.job_runner  # a retried local job runs here
            self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.jobs_dock)
            self.view_menu.addAction(self.jobs_dock.toggleViewAction())
            self.workflows.start_worker_hook = self.jobs_dock.start_worker
            # the dock already polls the job rows: refresh at once when one ends, and
            # keep our own poll (status changes of running jobs) slow
            self.jobs_dock.jobFinished.connect(lambda *_: self._jobs_changed())
            self.workflows.poll.setInterval(1000)
        if store is not None:
            if self.jobs_dock is not None:
                self.resizeDocks([self.jobs_dock], [180], Qt.Orientation.Vertical)
            self.resizeDocks([self.inspector_dock], [420], Qt.Orientation.Horizontal)
        episodes.attach(self)

    def close_project(self) -> None:
        if self.store is None:
            return
        dialog = getattr(self, "export_dialog", None)
        if dialog is not None and getattr(dialog, "running", False):
            dialog.cancel_export()
        self.workflows.detach()
        if self.job_runner is not None:
            self.job_runner.close()  # cancels what still runs (no partial files)
            self.job_runner.wait(30)
            self.job_runner.deleteLater()
            self.job_runner = None
        if self.jobs_dock is not None:
            try:
                self.jobs_dock.shutdown()
            except Exception:  # noqa: BLE001 - closing anyway
                pass
            self.removeDockWidget(self.jobs_dock)
            self.jobs_dock.deleteLater()
            self.jobs_dock = None
            self.workflows.start_worker_hook = None
            self.workflows.poll.setInterval(250)
        if self.timeline is not None:
            self.tabs.removeTab(self.tabs.indexOf(self.timeline))
            self.timeline.deleteLater()
            self.timeline = None
        self.player.unload()
        if self.autosave is not None:
            self.autosave.close()
            self.autosave = None
        if self.follower is not None:
            self.follower.stop()
            self.follower = None
        if self.bridge is not None:
            self.bridge.detach()
            self.bridge = None
        store, self.store = self.store, None
        self.undo.detach()
        self._attach_views()
        store.close()
        self.stack.setCurrentWidget(self.start_page)
        self.start_page.refresh_recent()
        self._update_enabled()
        self.update_title()

    def show_start_page(self) -> None:
        self.start_page.refresh_recent()
        self.stack.setCurrentWidget(self.start_page)

    def save(self) -> None:
        """The store commits every edit; Save sets the checkpoint and writes a snapshot."""
        if self.store is None:
            return
        self.store.mark_saved()
        if self.autosave is not None:
            self.autosave.snapshot()
        self.update_title()
        self.show_message(tr("Saved."))

    # ================================================================== store events
    def _store_changed(self, changes: list[Any]) -> None:
        if self.store is None:
            return
        kinds = kinds_of(changes)
        if kinds & {"Scene", "Shot", "Take", "Character", "Project"}:
            self.storyboard.schedule_refresh()
            self.inspector.schedule_refresh()
        if kinds & {"ShotReview", "ReviewNote", "ShotLock", "Shot"}:
            self.review_dock.refresh()
            if kinds & {"ShotReview", "ReviewNote"}:
                self.storyboard.schedule_refresh()
        if "Character" in kinds:
            self.cast.schedule_refresh()
        if "Project" in kinds and not self.script_editor.modified:
            self.script_editor.set_text(self.store.project.script_text)
        # the title follows through the undo controller's (coalesced) history_changed

    def _jobs_changed(self) -> None:
        """A job changed status in the worker process (no store event here): re-read."""
        self.storyboard.schedule_refresh()
        self.inspector.schedule_refresh()
        self._timeline_stale = True
        self._refresh_timeline_if_shown()

    def _refresh_timeline_if_shown(self, *_: object) -> None:
        # building the timeline probes media: only for the visible tab, once per change
        timeline = getattr(self, "timeline", None)
        if (timeline is not None and self._timeline_stale
                and self.tabs.currentWidget() is timeline
                and callable(getattr(timeline, "refresh", None))):
            self._timeline_stale = False
            QTimer.singleShot(0, timeline.refresh)

    def _shot_progress(self, progress: dict[str, float]) -> None:
        self.storyboard.set_progress(progress)

    def _timeline_clip_selected(self, shot_id: str) -> None:
        self.storyboard.select_shots([shot_id])
        self.inspector.show_shot(shot_id)
        self.review_dock.panel.show_shot(shot_id)

    def _selection_changed(self, shot_ids: list[str]) -> None:
        self.inspector.show_shot(shot_ids[-1] if shot_ids else None)
        self.review_dock.panel.show_shot(shot_ids[-1] if shot_ids else None)

    # ================================================================== tasks
    def _task_started(self, label: str) -> None:
        self.task_label.setText(label)
        self.task_progress.setValue(0)
        for w in self._status_widgets:
            w.setVisible(True)

    def _task_progress(self, fraction: float, message: str) -> None:
        self.task_progress.setValue(int(max(0.0, min(1.0, fraction)) * 1000))
        if message:
            self.task_label.setText(tr_engine(message))

    def _task_idle(self) -> None:
        for w in self._status_widgets:
            w.setVisible(False)

    # ================================================================== actions
    def import_script(self, path: str | None = None) -> None:
        if self.store is None:
            return
        path = path or self.dialogs.open_file(self, tr("Import script"), SCRIPT_FILTERS)
        if path:
            self.tabs.setCurrentWidget(self.script_editor)
            self.workflows.import_script_file(path)

    def apply_script_text(self, text: str) -> None:
        if self.store is not None:
            self.workflows.apply_script_text(text)

    def plan_shots(self) -> None:
        if self.store is None:
            return
        if self.script_editor.modified:
            self.show_error(tr("Apply the edited script text before planning shots."))
            return
        self.workflows.plan(self.script_editor.idea_text())

    def add_shot(self) -> None:
        if self.store is not None:
            self.storyboard.add_shot()

    def duplicate_selected(self) -> None:
        if self.store is not None:
            self.storyboard.duplicate_selected()

    def delete_selected(self) -> None:
        if self.store is not None:
            self.storyboard.delete_selected()

    def generate_selected(self) -> None:
        if self.store is not None:
            self.generate(self.storyboard.selected_shot_ids())

    def generate(self, shot_ids: list[str], takes: int = 1) -> list[Any]:
        """Queue generation jobs for these shots (the worker runs them); returns the jobs.
        A shot with an up-to-date take is re-rolled (a new seed); ``takes`` N > 1 makes N
        takes per shot with N seeds as one group."""
        if self.store is None:
            return []
        return self.workflows.generate(list(shot_ids), takes=takes)

    def export(self) -> None:
        if self.store is None:
            return
        self.export_dialog = ExportDialog(self.store, self, jobs=self.job_runner)
        self.export_dialog.show_error = self.show_error
        self.dialogs.run(self.export_dialog)

    def play_file(self, path: str) -> None:
        if self.player is None:
            self.show_message(tr("Media file:") + f" {path}")
            return
        try:
            self.player.load(path)
            self.preview_dock.show()
            self.preview_dock.raise_()
            self.player.play()
        except Exception as exc:  # noqa: BLE001 - a bad file must not crash the window
            self.show_error(str(exc))

    def compare_takes(self, take_a: str, take_b: str) -> None:
        self.compare_dialog = TakeCompareDialog(self.store, take_a, take_b, self)
        self.compare_dialog.show()

    def shortcuts_dialog(self) -> Any:
        from studio.shortcuts import ShortcutsDialog

        return ShortcutsDialog(self)

    def show_shortcuts(self) -> None:
        self.dialogs.run(self.shortcuts_dialog())

    def show_preferences(self) -> None:
        from studio.preferences import PreferencesDialog

        dialog = PreferencesDialog(self)
        before = preferences.language()
        if self.dialogs.run(dialog) and preferences.language() != before:
            self.apply_language(preferences.language())

    def apply_language(self, choice: str) -> str:
        """Install the translator and rebuild every widget (they hold no data)."""
        lang = i18n.install_language(choice)
        sizes = self._dock_sizes()  # the user's dock sizes survive the rebuild
        # so do the tab, the selection and text typed but not applied yet
        tab = self.tabs.currentIndex()
        selected = self.storyboard.selected_shot_ids()
        shown_shot = self.inspector.shot_id
        script = self.script_editor.text() if self.script_editor.modified else None
        idea = self.script_editor.idea.text()
        store = self.store
        if store is not None:
            self.undo.detach()
        old = self.centralWidget()
        self.build_ui()
        if old is not None:
            old.deleteLater()
        if self.jobs_dock is not None:
            self.jobs_dock.retranslate()  # kept (it owns the worker), so re-read its text
            self.view_menu.addAction(self.jobs_dock.toggleViewAction())
        if store is not None:
            self.undo.attach(store, None)
            self._attach_views()
            self.stack.setCurrentWidget(self.tabs)
            self._update_enabled()
            self.tabs.setCurrentIndex(tab)
            if selected:
                self.storyboard.select_shots(selected)
            if shown_shot is not None:
                self.inspector.show_shot(shown_shot)
        if script is not None:
            self.script_editor.editor.setPlainText(script)  # still not applied: modified
            self.script_editor.editor.document().setModified(True)
        self.script_editor.idea.setText(idea)
        self._restore_dock_sizes(sizes)
        QTimer.singleShot(0, lambda: self._restore_dock_sizes(sizes))  # once laid out
        self.undo.refresh()
        self.update_title()
        return lang

    def _dock_sizes(self) -> dict[str, int]:
        sizes = {"inspector": self.inspector_dock.width()}
        if self.jobs_dock is not None:
            sizes["jobs"] = self.jobs_dock.height()
        return sizes

    def _restore_dock_sizes(self, sizes: dict[str, int]) -> None:
        if "inspector" in sizes and self.inspector_dock.isVisible():
            self.resizeDocks([self.inspector_dock], [sizes["inspector"]],
                             Qt.Orientation.Horizontal)
        if "jobs" in sizes and self.jobs_dock is not None and self.jobs_dock.isVisible():
            self.resizeDocks([self.jobs_dock], [sizes["jobs"]], Qt.Orientation.Vertical)

    # ================================================================== closing
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        self.close_project()
        super().closeEvent(event)
