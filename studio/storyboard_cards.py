"""Storyboard cards: what a card shows (``Card``, read from the store) and how it is drawn.

``card_for`` reads one shot's card (chosen take's thumbnail, label, badges, status, identity,
review); ``CardDelegate`` paints it in a ``studio.storyboard.ShotStrip``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from engine.model import Scene, Shot, ShotStatus
from engine.model.shot_rules import shot_label
from studio.i18n import tr

ID_ROLE = Qt.ItemDataRole.UserRole
CARD_ROLE = Qt.ItemDataRole.UserRole + 1
CARD_W, CARD_H = 156, 198
THUMB_H = 104
BADGE_H, BADGE_GAP, BADGE_PAD = 16, 3, 10  # badge height, space between, text padding
BADGE_ROWS = 2  # size/camera/review badges wrap onto a second row before eliding
SHORT_TAKE_COLOR = "#b45309"

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
    short_take: str = ""  # the shown take is shorter than the shot: "hold" or "slow"


def chosen_take(shot: Shot, takes: list[Any]) -> Any:
    """The take a card shows: the one the film uses (engine.render.timeline_builder)."""
    from engine.render.timeline_builder import choose_take

    return choose_take(shot, takes)


def short_take_fill(store: Any, shot: Shot, take: Any) -> str:
    """How the film fills a shot whose take is shorter (``engine.render.timeline_builder``):
    "hold" (its last frame held) or "slow" (slowed down), per the shot's setting; "" when
    the take covers the shot (or is a still, which lasts as long as its shot)."""
    from engine.model import MediaAsset, MediaKind
    from engine.model.timeline import seconds_to_frames
    from engine.render.timeline_builder import SHORT_TAKE_HOLD, SHORT_TAKE_SLOW

    if take is None:
        return ""
    asset = store.get(MediaAsset, take.media)
    if asset is None or asset.kind is not MediaKind.VIDEO or not asset.duration:
        return ""
    fps = store.project.fps
    if seconds_to_frames(asset.duration, fps) >= max(1, seconds_to_frames(shot.duration, fps)):
        return ""
    return SHORT_TAKE_SLOW if shot.generation.get("short_take") == SHORT_TAKE_SLOW \
        else SHORT_TAKE_HOLD


def short_take_text(card: Card) -> str:
    """The short-take badge ("" when the take covers its shot), in the UI language."""
    if card.short_take == "slow":
        return tr("short take · slowed")
    return tr("short take · held") if card.short_take else ""


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
                notes=len(store.all(ReviewNote, shot_id=shot.id)),
                short_take=short_take_fill(store, shot, take))


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


def layout_badges(texts: list[str], metrics: QFontMetrics, width: int,
                  rows: int = BADGE_ROWS) -> list[tuple[QRect, str]]:
    """Badges placed left to right in up to ``rows`` rows ``width`` pixels wide (origin
    0, 0): a badge that does not fit on its row starts the next; one wider than a whole
    row, or the last that finds no room, is elided ("…"); none ever runs past ``width``."""
    placed: list[tuple[QRect, str]] = []
    x = row = 0
    least = metrics.horizontalAdvance("…") + BADGE_PAD
    for text in texts:
        full = metrics.horizontalAdvance(text) + BADGE_PAD
        if x and x + full > width and row + 1 < rows:
            row, x = row + 1, 0
        room = width - x
        if room < least:
            break
        shown = text
        if full > room:
            shown = metrics.elidedText(text, Qt.TextElideMode.ElideRight, room - BADGE_PAD)
        w = min(room, metrics.horizontalAdvance(shown) + BADGE_PAD)
        placed.append((QRect(x, row * (BADGE_H + BADGE_GAP), w, BADGE_H), shown))
        x += w + BADGE_GAP
    return placed


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
        if short_take_text(card):  # the take is shorter than the shot: held or slowed
            text = painter.fontMetrics().elidedText(
                short_take_text(card), Qt.TextElideMode.ElideRight, thumb.width() - 8 - BADGE_PAD)
            width = painter.fontMetrics().horizontalAdvance(text) + BADGE_PAD
            bottom = thumb.bottom() - (8 if card.progress is not None else 3)
            badge = QRect(thumb.left() + 4, bottom - BADGE_H + 1, width, BADGE_H)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(SHORT_TAKE_COLOR))
            painter.drawRoundedRect(badge, 4, 4)
            painter.setPen(QColor("white"))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
        x0, y0 = r.left() + 8, line1.bottom() + 4
        placed = layout_badges(badge_texts(card), painter.fontMetrics(), r.width() - 16)
        for rect, text in placed:
            badge = rect.translated(x0, y0)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor("#3b4252"))
            painter.drawRoundedRect(badge, 4, 4)
            painter.setPen(QColor("#dfe3ea"))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
        # the status line sits under the badge rows, at the same height on every card
        rows_h = BADGE_ROWS * BADGE_H + (BADGE_ROWS - 1) * BADGE_GAP
        status_rect = QRect(r.left() + 8, y0 + rows_h + 2, r.width() - 16, 15)
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
