"""The series in the studio: an episode navigator dock and a Locations tab.

The navigator lists every episode (number, title, shots, length, how many approved);
choosing one shows that episode alone on the storyboard and the timeline (the cast tab is
shared by all episodes). A title is edited in place. The Locations tab lists the places of
the series with their description and reference images. Every edit is an engine
operation (``engine.ops.series``): validated, logged, undoable.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.errors import StoryreelError
from engine.model import Location, Take
from engine.model.shot_rules import current_take
from engine.ops import series
from studio.i18n import tr

SERIES_KINDS = {"Episode", "Scene", "Shot", "Take", "Location"}


def episode_rows(store: Any) -> list[dict[str, Any]]:
    """What the navigator shows, one dict per episode (read in one pass)."""
    takes: dict[str, list[Take]] = {}
    for take in store.all(Take):
        takes.setdefault(take.shot_id, []).append(take)
    shots = store.shots()
    rows = []
    for episode in store.episodes():
        scene_ids = {sc.id for sc in store.scenes(episode.id)}
        own = [s for s in shots if s.scene_id in scene_ids]
        approved = 0
        for shot in own:
            take = current_take(shot, takes.get(shot.id, []))
            approved += bool(take is not None and (take.approved
                                                   or take.id == shot.approved_take_id))
        rows.append({"id": episode.id, "number": episode.number, "title": episode.title,
                     "shots": len(own), "seconds": sum(s.duration for s in own),
                     "approved": approved})
    return rows


def _length(seconds: float) -> str:
    whole = int(round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


class EpisodeNavigator(QWidget):
    """The episodes of the series; ``episode_selected(id, number)`` when one is chosen."""

    episode_selected = Signal(str, int)
    error = Signal(str)

    COLUMNS = ("Episode", "Title", "Shots", "Length", "Approved")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store: Any = None
        self._filling = False
        self.current_id: str | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels([tr(c) for c in self.COLUMNS])
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._selected)
        self.table.itemChanged.connect(self._edited)
        layout.addWidget(self.table)
        self.summary = QLabel()
        self.summary.setObjectName("muted")
        layout.addWidget(self.summary)

    def set_store(self, store: Any) -> None:
        self.store = store
        self.current_id = None
        self.refresh()

    def refresh(self) -> None:
        self._filling = True
        try:
            rows = episode_rows(self.store) if self.store is not None else []
            self.table.setRowCount(len(rows))
            for r, row in enumerate(rows):
                cells = [f"E{row['number']}", row["title"], str(row["shots"]),
                         _length(row["seconds"]), f"{row['approved']}/{row['shots']}"]
                for c, value in enumerate(cells):
                    item = self.table.item(r, c) or QTableWidgetItem()
                    item.setText(value)
                    item.setData(Qt.ItemDataRole.UserRole, row["id"])
                    item.setData(Qt.ItemDataRole.UserRole + 1, row["number"])
                    flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                    if c == 1:
                        flags |= Qt.ItemFlag.ItemIsEditable
                    item.setFlags(flags)
                    self.table.setItem(r, c, item)
            ids = [row["id"] for row in rows]
            if rows and self.current_id not in ids:
                self.current_id = ids[0]
            if self.current_id in ids:
                self.table.selectRow(ids.index(self.current_id))
            self.table.resizeColumnsToContents()
            total = sum(row["seconds"] for row in rows)
            self.summary.setText(tr("{n} episodes · {length} in all").format(
                n=len(rows), length=_length(total)))
        finally:
            self._filling = False
        if self.current_id is not None:
            number = next(r["number"] for r in rows if r["id"] == self.current_id)
            self.episode_selected.emit(self.current_id, number)

    def select_episode(self, number: int) -> None:
        for r in range(self.table.rowCount()):
            if self.table.item(r, 0).data(Qt.ItemDataRole.UserRole + 1) == number:
                self.table.selectRow(r)
                return

    def _selected(self) -> None:
        if self._filling:
            return
        items = self.table.selectedItems()
        if not items:
            return
        episode_id = str(items[0].data(Qt.ItemDataRole.UserRole))
        number = int(items[0].data(Qt.ItemDataRole.UserRole + 1))
        if episode_id != self.current_id:
            self.current_id = episode_id
            self.episode_selected.emit(episode_id, number)

    def _edited(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() != 1 or self.store is None:
            return
        try:
            series.set_episode_fields(self.store, str(item.data(Qt.ItemDataRole.UserRole)),
                                      title=item.text())
        except StoryreelError as exc:
            self.error.emit(str(exc))
            self.refresh()


class EpisodesDock(QDockWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(tr("Episodes"), parent)
        self.setObjectName("episodesDock")
        self.navigator = EpisodeNavigator(self)
        self.setWidget(self.navigator)


class LocationsView(QWidget):
    """The series' places: description (in every prompt set there) and reference images
    (the animatic's backdrop, an extra reference for reference-conditioned models)."""

    error = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store: Any = None
        split = QSplitter(self)
        layout = QHBoxLayout(self)
        layout.addWidget(split)
        self.list = QListWidget()
        self.list.currentItemChanged.connect(lambda *_: self._show())
        split.addWidget(self.list)
        right = QWidget()
        col = QVBoxLayout(right)
        self.name = QLabel()
        self.name.setObjectName("sceneTitle")
        col.addWidget(self.name)
        self.scenes = QLabel()
        self.scenes.setObjectName("muted")
        self.scenes.setWordWrap(True)
        col.addWidget(self.scenes)
        col.addWidget(QLabel(tr("Description (added to the prompts of its shots)")))
        self.description = QPlainTextEdit()
        col.addWidget(self.description, 1)
        buttons = QHBoxLayout()
        self.apply = QPushButton(tr("Apply"))
        self.apply.clicked.connect(self.save_description)
        buttons.addWidget(self.apply)
        self.add_refs = QPushButton(tr("Reference images…"))
        self.add_refs.clicked.connect(self.browse_references)
        buttons.addWidget(self.add_refs)
        buttons.addStretch(1)
        col.addLayout(buttons)
        self.refs = QListWidget()
        self.refs.setViewMode(QListWidget.ViewMode.IconMode)
        self.refs.setIconSize(QSize(96, 96))
        self.refs.setMaximumHeight(130)
        col.addWidget(self.refs)
        split.addWidget(right)
        split.setStretchFactor(1, 3)

    def set_store(self, store: Any) -> None:
        self.store = store
        self.refresh()

    def current(self) -> Location | None:
        item = self.list.currentItem()
        if item is None or self.store is None:
            return None
        return self.store.get(Location, str(item.data(Qt.ItemDataRole.UserRole)))

    def refresh(self) -> None:
        keep = self.current()
        self.list.blockSignals(True)
        self.list.clear()
        for loc in self.store.locations() if self.store is not None else []:
            item = QListWidgetItem(loc.name)
            item.setData(Qt.ItemDataRole.UserRole, loc.id)
            self.list.addItem(item)
            if keep is not None and keep.id == loc.id:
                self.list.setCurrentItem(item)
        if self.list.currentItem() is None and self.list.count():
            self.list.setCurrentRow(0)
        self.list.blockSignals(False)
        self._show()

    def _show(self) -> None:
        loc = self.current()
        enabled = loc is not None
        for w in (self.description, self.apply, self.add_refs):
            w.setEnabled(enabled)
        self.refs.clear()
        if loc is None:
            self.name.setText(tr("No locations yet: they come from the scene headings."))
            self.scenes.setText("")
            self.description.setPlainText("")
            return
        self.name.setText(loc.name)
        numbers = {e.id: e.number for e in self.store.episodes()}
        multi = len(numbers) > 1
        where = [(f"E{numbers.get(s.episode_id or '', 0)} " if multi else "") + str(s.number)
                 for s in self.store.scenes() if s.location_id == loc.id]
        self.scenes.setText(tr("Scenes: {list}").format(list=", ".join(where) or "—"))
        if self.description.toPlainText() != loc.description:
            self.description.setPlainText(loc.description)
        for sha in loc.reference_images:
            path = self.store.media_path(sha)
            item = QListWidgetItem(QIcon(QPixmap(str(path))) if path.is_file() else QIcon(), "")
            item.setToolTip(sha[:12])
            self.refs.addItem(item)

    def save_description(self) -> None:
        loc = self.current()
        if loc is None:
            return
        try:
            series.set_location_fields(self.store, loc.id,
                                       description=self.description.toPlainText())
        except StoryreelError as exc:
            self.error.emit(str(exc))

    def set_references(self, paths: list[str]) -> None:
        loc = self.current()
        if loc is None or not paths:
            return
        try:
            series.set_location_references(self.store, loc.id, list(paths))
        except StoryreelError as exc:
            self.error.emit(str(exc))
        self._show()

    def browse_references(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, tr("Reference images…"), "",
                                                tr("Images (*.png *.jpg *.jpeg *.webp)"))
        self.set_references(paths)


def install(window: Any) -> None:
    """Add the episode navigator dock and the Locations tab to the main window (called
    from ``build_ui``); ``attach(window)`` connects them to the open project."""
    for old in (getattr(window, "episodes_dock", None),):
        if old is not None:
            window.removeDockWidget(old)
            old.setObjectName("")
            old.setParent(None)
            old.deleteLater()
    window.episodes_dock = EpisodesDock(window)
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, window.episodes_dock)
    window.episodes_dock.navigator.error.connect(window.show_error)
    window.episodes_dock.navigator.episode_selected.connect(
        lambda episode_id, number: _show_episode(window, episode_id, number))
    window.locations = LocationsView()
    window.locations.error.connect(window.show_error)
    window.tabs.addTab(window.locations, tr("Locations"))
    window.episodes_dock.setVisible(False)


def _show_episode(window: Any, episode_id: str, number: int) -> None:
    window.storyboard.set_episode(episode_id)
    timeline = getattr(window, "timeline", None)
    store = window.store
    if timeline is not None and store is not None and callable(
            getattr(timeline, "set_episode", None)):
        timeline.set_episode(number if len(store.episodes()) > 1 else None)


def attach(window: Any) -> None:
    """Show the open project's episodes and locations; follow its changes."""
    store = window.store
    dock = window.episodes_dock
    dock.navigator.set_store(store)
    window.locations.set_store(store)
    dock.setVisible(store is not None and len(store.episodes()) > 1)
    menu = getattr(window, "view_menu", None)
    if menu is not None and dock.toggleViewAction() not in menu.actions():
        menu.addAction(dock.toggleViewAction())  # View ▸ Episodes
    bridge = getattr(window, "bridge", None)
    if store is not None and bridge is not None:
        def changed(changes: list[Any]) -> None:
            kinds = {c.kind.__name__ for c in changes}
            if kinds & SERIES_KINDS and window.store is store:
                dock.navigator.refresh()
                window.locations.refresh()
                dock.setVisible(len(store.episodes()) > 1)

        bridge.changed.connect(changed)
