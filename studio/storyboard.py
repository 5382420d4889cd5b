"""The storyboard: scenes as rows, shots as cards. Reorder by drag, add, duplicate, delete.

Cards show the chosen take's thumbnail (the approved take, else the newest), the shot
number "scene-shot", size and camera badges, duration, a status colour and a stale
marker. Every edit is one store transaction (one undo step); the view re-reads the store
on change events (deferred to the next event-loop turn, so a drop handler never deletes
the widget it runs in).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtCore import (
    QPoint,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from engine.model import Scene, Shot, Take
from engine.ops import shots as shot_ops
from studio.i18n import tr
from studio.storyboard_cards import (
    CARD_H,
    CARD_ROLE,
    CARD_W,
    ID_ROLE,
    IDENTITY_COLORS,
    STATUS_COLORS,
    THUMB_H,
    Card,
    CardDelegate,
    badge_texts,
    card_for,
    chosen_take,
    identity_text,
)


class ShotStrip(QListWidget):
    """The shots of one scene, left to right; drag to reorder inside the scene."""

    reordered = Signal(str, list)  # scene id, shot ids in the new order

    def __init__(self, scene_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scene_id = scene_id
        self.setViewMode(QListView.ViewMode.ListMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setSpacing(2)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)  # across scenes too
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setItemDelegate(CardDelegate(self))
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setFixedHeight(CARD_H + 26)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def shot_ids(self) -> list[str]:
        return [str(self.item(i).data(ID_ROLE)) for i in range(self.count())]

    def _accepts(self, event: Any) -> bool:
        source = event.source()
        return source is None or isinstance(source, ShotStrip)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        if self._accepts(event):
            event.setDropAction(Qt.DropAction.MoveAction)
            event.accept()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 - Qt API
        if self._accepts(event):
            event.setDropAction(Qt.DropAction.MoveAction)
            event.accept()
        else:
            event.ignore()

    def drop_row(self, x: int, y: int) -> int:
        """The insertion row for a drop at (x, y) in viewport coordinates."""
        index = self.indexAt(QPoint(x, y))
        if not index.isValid():
            return self.count()
        rect = self.visualRect(index)
        return index.row() + (1 if x > rect.center().x() else 0)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        """Move the selected cards (of this strip or another scene's) to the drop position.

        The view's own item shuffling is not used (the deferred refresh re-reads the
        store), and the drop is reported as a copy so the drag source removes nothing.
        """
        if not self._accepts(event):
            event.ignore()
            return
        source = event.source() if isinstance(event.source(), ShotStrip) else self
        ids = self.shot_ids()
        moving = [str(i.data(ID_ROLE)) for i in
                  sorted(source.selectedItems(), key=lambda it: source.row(it))]
        if not moving:
            event.ignore()
            return
        pos = event.position().toPoint()
        row = self.drop_row(pos.x(), pos.y())
        before_row = sum(1 for i in moving if i in ids and ids.index(i) < row)
        remaining = [i for i in ids if i not in moving]
        at = max(0, row - before_row)
        after = remaining[:at] + moving + remaining[at:]
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        if after != ids:
            self.reordered.emit(self.scene_id, after)


class StoryboardView(QScrollArea):
    """All scenes and shots. ``selection_changed(list[shot_id])``; ``activated(shot_id)``."""

    selection_changed = Signal(list)
    activated = Signal(str)
    error = Signal(str)

    def __init__(self, store: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setWidgetResizable(True)
        self.strips: dict[str, ShotStrip] = {}
        self._shown_structure: list[tuple[Any, ...]] = []
        self.progress: dict[str, float] = {}
        self._selection: list[str] = []
        self.episode_id: str | None = None  # in a series, the episode shown (one at a time)
        self.review_filter: tuple[str, str] = ("", "")  # review status, assignee ("" = any)
        self._refresh_pending = False
        self._syncing = False
        self.container = QWidget()
        self.rows = QVBoxLayout(self.container)
        self.rows.setContentsMargins(12, 12, 12, 12)
        self.rows.setSpacing(10)
        self.setWidget(self.container)
        self.refresh()

    # ------------------------------------------------------------------ reading
    def set_store(self, store: Any) -> None:
        self.store = store
        self._selection = []
        self.progress = {}
        self.refresh()

    def set_episode(self, episode_id: str | None) -> None:
        """Show one episode of a series (None: every scene)."""
        if episode_id != self.episode_id:
            self.episode_id = episode_id
            self.refresh()

    def _episode_view(self) -> tuple[list[Scene], list[Shot], dict[str, int | None]]:
        """The scenes and shots shown, and each scene's episode number for its labels."""
        from engine.model.shot_rules import episode_numbers

        scenes = self.store.scenes()
        episodes = self.store.episodes()
        numbers = episode_numbers(scenes, episodes)
        if self.episode_id and len(episodes) > 1:
            scenes = [sc for sc in scenes if sc.episode_id == self.episode_id]
        shown = {sc.id for sc in scenes}
        from studio.review import shot_passes

        status, assignee = self.review_filter
        return scenes, [s for s in self.store.shots() if s.scene_id in shown
                        and shot_passes(self.store, s.id, status, assignee)], numbers

    def set_filter(self, status: str = "", assignee: str = "") -> None:
        """Show only the shots with this review status and / or assignee ("" = any)."""
        self.review_filter = (status, assignee)
        self.refresh()

    def set_progress(self, progress: dict[str, float]) -> None:
        """Show generation progress on the cards of these shots (a cheap in-place update)."""
        if progress == self.progress:
            return
        self.progress = dict(progress)
        for strip in self.strips.values():
            for i in range(strip.count()):
                item = strip.item(i)
                card = item.data(CARD_ROLE)
                if card is not None:
                    wanted = self.progress.get(card.shot_id)
                    if card.progress != wanted:
                        item.setData(CARD_ROLE, dataclasses.replace(card, progress=wanted))

    def schedule_refresh(self, *_: object) -> None:
        if not self._refresh_pending:
            self._refresh_pending = True
            QTimer.singleShot(0, self.refresh)

    def refresh(self) -> None:
        self._refresh_pending = False
        self._syncing = True
        try:
            self._rebuild()
        finally:
            self._syncing = False
        self._emit_selection()

    def _structure(self, scenes: list[Scene], shots: list[Shot]) -> list[tuple[Any, ...]]:
        return [(sc.id, sc.number, sc.heading, sc.location,
                 tuple(s.id for s in shots if s.scene_id == sc.id)) for sc in scenes]

    def _update_cards(self, scenes: list[Scene], shots: list[Shot],
                      numbers: dict[str, int | None] | None = None) -> None:
        """Same scenes and shot order as shown: only the cards' contents change."""
        numbers = numbers or {}
        takes = self._takes_by_shot()
        by_id = {s.id: s for s in shots}
        for scene in scenes:
            strip = self.strips[scene.id]
            for i in range(strip.count()):
                item = strip.item(i)
                shot = by_id[str(item.data(ID_ROLE))]
                card = card_for(self.store, scene, shot, i, takes.get(shot.id, []),
                                numbers.get(scene.id))
                card.progress = self.progress.get(shot.id)
                if item.data(CARD_ROLE) != card:
                    item.setData(CARD_ROLE, card)
                item.setToolTip(shot.action or shot.effective_prompt)

    def _takes_by_shot(self) -> dict[str, list[Any]]:
        grouped: dict[str, list[Any]] = {}
        for take in sorted(self.store.all(Take), key=lambda t: t.created_at):
            grouped.setdefault(take.shot_id, []).append(take)
        return grouped

    def _rebuild(self) -> None:
        if self.store is not None:
            scenes, shots, numbers = self._episode_view()
            structure = self._structure(scenes, shots)
            if structure and structure == self._shown_structure and \
                    set(self.strips) == {sc.id for sc in scenes}:
                self._update_cards(scenes, shots, numbers)
                return
        while self.rows.count():
            item = self.rows.takeAt(0)
            widget = item.widget()
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        self.strips = {}
        self._shown_structure = []
        if self.store is None:
            return
        if not scenes:
            empty = QLabel(tr("No scenes yet. Import or write a script, then Plan shots — "
                              "or add a shot with the + button."))
            empty.setObjectName("muted")
            empty.setWordWrap(True)
            self.rows.addWidget(empty)
        keep = set(self._selection)
        takes = self._takes_by_shot()
        for scene in scenes:
            row = QWidget()
            row.setObjectName("sceneRow")
            col = QVBoxLayout(row)
            col.setContentsMargins(8, 6, 8, 6)
            header = QHBoxLayout()
            title = QLabel(f"{scene.number}.  {scene.heading or scene.location or tr('Scene')}")
            title.setObjectName("sceneTitle")
            header.addWidget(title, 1)
            add = QPushButton("+ " + tr("Shot"))
            add.setToolTip(tr("Add a shot to this scene"))
            add.clicked.connect(lambda _=False, sid=scene.id: self.add_shot(sid))
            header.addWidget(add)
            col.addLayout(header)
            strip = ShotStrip(scene.id)
            for i, shot in enumerate(s for s in shots if s.scene_id == scene.id):
                item = QListWidgetItem()
                item.setData(ID_ROLE, shot.id)
                card = card_for(self.store, scene, shot, i, takes.get(shot.id, []),
                                numbers.get(scene.id))
                card.progress = self.progress.get(shot.id)
                item.setData(CARD_ROLE, card)
                item.setToolTip(shot.action or shot.effective_prompt)
                item.setSizeHint(QSize(CARD_W, CARD_H))
                strip.addItem(item)
                if shot.id in keep:
                    item.setSelected(True)
            strip.reordered.connect(self.reorder)
            strip.itemSelectionChanged.connect(
                lambda s=strip: self._strip_selection_changed(s))
            strip.itemDoubleClicked.connect(
                lambda item: self.activated.emit(str(item.data(ID_ROLE))))
            col.addWidget(strip)
            self.rows.addWidget(row)
            self.strips[scene.id] = strip
        self.rows.addStretch(1)
        self._shown_structure = structure

    def _strip_selection_changed(self, strip: ShotStrip) -> None:
        if self._syncing:
            return
        mods = QApplication.keyboardModifiers()
        extend = mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        if not extend and strip.selectedItems():
            self._syncing = True
            for other in self.strips.values():
                if other is not strip:
                    other.clearSelection()
            self._syncing = False
        self._emit_selection()

    def _emit_selection(self) -> None:
        ids = self.selected_shot_ids()
        if ids != self._selection:
            self._selection = ids
            self.selection_changed.emit(ids)

    def selected_shot_ids(self) -> list[str]:
        ids: list[str] = []
        for strip in self.strips.values():
            for i in range(strip.count()):
                item = strip.item(i)
                if item.isSelected():
                    ids.append(str(item.data(ID_ROLE)))
        return ids

    def select_shots(self, shot_ids: list[str]) -> None:
        wanted = set(shot_ids)
        self._syncing = True
        for strip in self.strips.values():
            for i in range(strip.count()):
                item = strip.item(i)
                item.setSelected(str(item.data(ID_ROLE)) in wanted)
        self._syncing = False
        self._emit_selection()

    def card(self, shot_id: str) -> Card | None:
        for strip in self.strips.values():
            for i in range(strip.count()):
                if strip.item(i).data(ID_ROLE) == shot_id:
                    return strip.item(i).data(CARD_ROLE)
        return None

    # ------------------------------------------------------------------ editing
    def _guard(self, fn: Any) -> Any:
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - shown as a dialog by the window
            self.error.emit(str(exc))
            return None

    def reorder(self, scene_id: str, shot_ids: list[str]) -> None:
        """Give the scene exactly these shots in this order (one undo step).

        Shots from another scene in ``shot_ids`` move into this scene; the scenes they
        left are renumbered (``engine.ops.shots.arrange_shots``).
        """
        self._guard(lambda: shot_ops.arrange_shots(self.store, scene_id, shot_ids))
        self.schedule_refresh()

    def move_shot(self, shot_id: str, index: int) -> None:
        """Move a shot to position ``index`` inside its scene (what a drag does)."""
        self._guard(lambda: shot_ops.move_shot(self.store, shot_id, index=max(0, min(
            index, len(self.store.shots(self.store.require(Shot, shot_id).scene_id)) - 1))))
        self.schedule_refresh()

    def add_shot(self, scene_id: str | None = None) -> str | None:
        """A new draft shot at the end of the scene (or after the selected shot)."""
        selected = self.selected_shot_ids()
        after = selected[-1] if scene_id is None and selected else None
        changes = self._guard(lambda: shot_ops.insert_shot(
            self.store, after=after, scene_id=scene_id, scene_heading=tr("Scene 1")))
        new = changes.result.id if changes is not None else None
        self.refresh()
        if new:
            self.select_shots([new])
        return new

    def duplicate_selected(self) -> list[str]:
        ids = self.selected_shot_ids()
        if not ids:
            return []
        changes = self._guard(lambda: shot_ops.duplicate_shots(self.store, ids))
        made = [s.id for s in changes.result] if changes is not None else []
        self.refresh()
        self.select_shots(made)
        return made

    def delete_selected(self) -> int:
        ids = [sid for sid in self.selected_shot_ids() if self.store.get(Shot, sid) is not None]
        if not ids:
            return 0
        self._guard(lambda: shot_ops.delete_shots(self.store, ids))
        self._selection = []
        self.refresh()
        return len(ids)


__all__ = ["IDENTITY_COLORS", "STATUS_COLORS", "THUMB_H", "Card", "CardDelegate",
           "ShotStrip", "StoryboardView", "badge_texts", "card_for", "chosen_take",
           "identity_text"]
