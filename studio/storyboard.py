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
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QBrush,
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QFont,
    QPainter,
    QPen,
    QPixmap,
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
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from engine.model import Scene, Shot, ShotStatus, Take
from engine.model.shot_rules import shot_label
from engine.ops import shots as shot_ops
from studio.i18n import tr

ID_ROLE = Qt.ItemDataRole.UserRole
CARD_ROLE = Qt.ItemDataRole.UserRole + 1
CARD_W, CARD_H = 156, 178
THUMB_H = 104

STATUS_COLORS = {
    ShotStatus.DRAFT: "#6b7280",
    ShotStatus.READY: "#3b82f6",
    ShotStatus.QUEUED: "#a855f7",
    ShotStatus.GENERATING: "#f59e0b",
    ShotStatus.GENERATED: "#14b8a6",
    ShotStatus.APPROVED: "#22c55e",
    ShotStatus.STALE: "#ef4444",
}


@dataclasses.dataclass
class Card:
    """What one card shows (read from the store, nothing else)."""

    shot_id: str
    label: str
    size: str
    camera: str
    duration: float
    status: str
    stale: bool
    thumbnail: str | None  # a file path
    takes: int
    progress: float | None = None  # of the shot's queued/running generation job
    identity: str = ""  # the shown take's identity badge: "", ok, drift, no face, n/a
    identity_score: float | None = None
    review: str = ""  # the team's review status when someone reviewed it ("" = none yet)
    assignee: str = ""
    notes: int = 0


def chosen_take(shot: Shot, takes: list[Any]) -> Any:
    """The take a card shows: the one the film uses (engine.render.timeline_builder)."""
    from engine.render.timeline_builder import choose_take

    return choose_take(shot, takes)


def card_for(store: Any, scene: Scene, shot: Shot, index: int,
             takes: list[Any] | None = None, episode: int | None = None) -> Card:
    takes = store.takes(shot.id) if takes is None else takes
    take = chosen_take(shot, takes)
    thumb = None
    # the chosen take's thumbnail, else the shot's first keyframe (an image the user set)
    sha = take.thumbnail if take is not None and take.thumbnail else shot.first_keyframe
    if sha:
        path = store.media_path(sha)
        thumb = str(path) if path.is_file() else None
    stale = shot.status == ShotStatus.STALE or bool(shot.generation.get("stale"))
    camera = str(shot.camera_move) if shot.camera_move != "static" else str(shot.angle)
    from engine.generate import identity
    from engine.model.review import ReviewNote, ShotReview

    word, score = identity.summary(store, take, identity.threshold_for(store))
    state = store.get(ShotReview, shot.id)
    return Card(shot.id, shot_label(scene.number, index + 1, episode), str(shot.size), camera,
                shot.duration, str(shot.status), stale, thumb, len(takes),
                identity=word, identity_score=score,
                review=state.status if state is not None else "",
                assignee=state.assignee if state is not None else "",
                notes=len(store.all(ReviewNote, shot_id=shot.id)))


IDENTITY_COLORS = {"ok": "#15803d", "drift": "#dc2626", "no face": "#b45309", "n/a": "#4b5563"}


def identity_text(card: Card) -> str:
    """The identity badge: "ID 0.86", "drift 0.31", "no face", "ID n/a" (UI language)."""
    if card.identity in ("ok", "drift") and card.identity_score is not None:
        word = "ID" if card.identity == "ok" else tr("drift")
        return f"{word} {card.identity_score:.2f}"
    if card.identity == "no face":
        return tr("no face")
    return f"ID {tr('n/a')}" if card.identity == "n/a" else ""


def badge_texts(card: Card) -> list[str]:
    """The badges a card shows: shot size and camera, in the UI language ("中景", "推"),
    then the team's review status, assignee and note count when there are any."""
    badges = [tr(card.size), tr(card.camera)]
    if card.review:
        badges.append(tr(card.review))
    if card.assignee:
        badges.append(f"@{card.assignee}")
    if card.notes:
        badges.append(tr("{n} notes").format(n=card.notes))
    return badges


class CardDelegate(QStyledItemDelegate):
    _pixmaps: dict[str, QPixmap] = {}

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
                 ) -> QSize:  # noqa: N802
        return QSize(CARD_W, CARD_H)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        card: Card | None = index.data(CARD_ROLE)
        if card is None:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = option.rect.adjusted(4, 4, -4, -4)  # type: ignore[attr-defined]
        selected = bool(option.state & QStyle.StateFlag.State_Selected)  # type: ignore[attr-defined]
        status_color = QColor(STATUS_COLORS.get(ShotStatus(card.status), "#6b7280"))
        painter.setPen(QPen(QColor("#f5f5f5") if selected else status_color, 3 if selected else 2))
        painter.setBrush(QBrush(QColor("#2d3340") if selected else QColor("#262a33")))
        painter.drawRoundedRect(r, 8, 8)

        thumb = QRect(r.left() + 6, r.top() + 6, r.width() - 12, THUMB_H)
        painter.fillRect(thumb, QColor("#14161b"))
        pix = self._pixmap(card.thumbnail)
        if pix is not None and not pix.isNull():
            scaled = pix.scaled(thumb.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                Qt.TransformationMode.SmoothTransformation)
            x = thumb.left() + (thumb.width() - scaled.width()) // 2
            y = thumb.top() + (thumb.height() - scaled.height()) // 2
            painter.drawPixmap(x, y, scaled)
        else:
            painter.setPen(QColor("#5b6170"))
            font = QFont(painter.font())
            font.setPointSize(16)
            font.setBold(True)
            painter.setFont(font)
            painter.drawText(thumb, Qt.AlignmentFlag.AlignCenter, card.size)
        if card.progress is not None:
            bar = QRect(thumb.left(), thumb.bottom() - 5, thumb.width(), 6)
            painter.fillRect(bar, QColor("#3a3f4b"))
            done = QRect(bar.left(), bar.top(), int(bar.width() * card.progress), bar.height())
            painter.fillRect(done, QColor("#f59e0b"))
        if card.stale:
            badge = QRect(thumb.right() - 52, thumb.top() + 4, 48, 18)
            painter.setBrush(QColor("#ef4444"))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawRoundedRect(badge, 4, 4)
            painter.setPen(QColor("white"))
            small = QFont(painter.font())
            small.setPointSize(8)
            small.setBold(True)
            painter.setFont(small)
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, tr("stale"))
        if identity_text(card):  # identity of the shown take (engine.generate.identity)
            text = identity_text(card)
            small = QFont(painter.font())
            small.setPointSize(8)
            small.setBold(card.identity == "drift")
            painter.setFont(small)
            width = painter.fontMetrics().horizontalAdvance(text) + 10
            badge = QRect(thumb.left() + 4, thumb.top() + 4, width, 18)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(IDENTITY_COLORS.get(card.identity, "#4b5563")))
            painter.drawRoundedRect(badge, 4, 4)
            painter.setPen(QColor("white"))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)

        font = QFont(painter.font())
        font.setPointSize(10)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor("#f0f0f0"))
        line1 = QRect(r.left() + 8, thumb.bottom() + 4, r.width() - 16, 20)
        painter.drawText(line1, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         card.label)
        font.setBold(False)
        painter.setFont(font)
        painter.setPen(QColor("#c8c8c8"))
        painter.drawText(line1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                         f"{card.duration:.1f}s")

        small = QFont(painter.font())
        small.setPointSize(8)
        painter.setFont(small)
        x = r.left() + 8
        y = line1.bottom() + 4
        for text in badge_texts(card):
            color = "#3b4252"
            width = painter.fontMetrics().horizontalAdvance(text) + 10
            badge = QRect(x, y, min(width, r.right() - 8 - x), 18)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(color))
            painter.drawRoundedRect(badge, 4, 4)
            painter.setPen(QColor("#dfe3ea"))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
            x = badge.right() + 4
        status_rect = QRect(r.left() + 8, y + 22, r.width() - 16, 16)
        painter.setPen(status_color)
        takes = f" · {card.takes} " + (tr("take") if card.takes == 1 else tr("takes"))
        status_text = tr(card.status) + (takes if card.takes else "")
        painter.drawText(status_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         "● " + status_text)
        painter.restore()

    def _pixmap(self, path: str | None) -> QPixmap | None:
        # media paths are content-addressed, so a cached pixmap is never out of date
        if not path:
            return None
        if path not in self._pixmaps:
            if len(self._pixmaps) >= 512:
                self._pixmaps.pop(next(iter(self._pixmaps)))
            self._pixmaps[path] = QPixmap(path)
        return self._pixmaps[path]


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
