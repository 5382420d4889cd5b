"""Graphics items of the timeline view: ruler, video clips, audio/subtitle bars, headers.

Geometry constants and the pure trim arithmetic live here too; ``studio.timeline_view``
assembles them into the TimelineView widget.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsSceneHoverEvent,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from engine.model import ShotStatus
from engine.model.timeline import SourceKind, VideoClip, timecode

if TYPE_CHECKING:
    from studio.timeline_view import TimelineView

RULER_H = 26
TRACK_H = {"video": 64, "dialogue": 30, "music": 30, "subtitles": 30}
TRACK_ORDER = ("video", "dialogue", "music", "subtitles")
TRACK_GAP = 4
LEFT_PAD = 6.0
HEADER_W = 84
EDGE_GRAB = 6.0  # pixels near a clip edge that start a trim
MIN_PPF, MAX_PPF = 0.25, 48.0

STATUS_COLORS = {
    ShotStatus.DRAFT: QColor(86, 92, 110),
    ShotStatus.READY: QColor(70, 104, 150),
    ShotStatus.QUEUED: QColor(120, 110, 60),
    ShotStatus.GENERATING: QColor(160, 120, 40),
    ShotStatus.GENERATED: QColor(52, 120, 150),
    ShotStatus.APPROVED: QColor(52, 140, 84),
    ShotStatus.STALE: QColor(160, 80, 60),
}
DIALOGUE_COLOR = QColor(120, 90, 170)
MUSIC_COLOR = QColor(40, 130, 130)
EFFECTS_COLOR = QColor(110, 110, 70)
SUBTITLE_COLOR = QColor(150, 130, 60)
PLAYHEAD_COLOR = QColor(235, 70, 60)


def track_top(name: str) -> float:
    y = RULER_H + TRACK_GAP
    for track in TRACK_ORDER:
        if track == name:
            return y
        y += TRACK_H[track] + TRACK_GAP
    raise KeyError(name)


SCENE_H = track_top("subtitles") + TRACK_H["subtitles"] + TRACK_GAP


def trims_after_drag(
    clip: VideoClip, fps: Fraction, trim_in: int, trim_out: int, edge: str, delta: int,
) -> tuple[int, int]:
    """New (trim_in, trim_out) after dragging ``edge`` ("in"/"out") by ``delta`` frames.

    Positive ``delta`` moves the edge right. Video sources keep the opposite edge's source
    frame fixed (their clip length is bounded by the shot's duration, not by trim_out
    alone); slates and stills just shorten or lengthen. A clip keeps at least one frame.
    """
    length = clip.duration_frames
    if edge == "in":
        delta = max(-trim_in, min(delta, length - 1))
    else:
        delta = min(trim_out, max(delta, -(length - 1))) if clip.kind != SourceKind.VIDEO \
            else max(delta, -(length - 1))
    if clip.kind == SourceKind.VIDEO and clip.source_duration:
        step = clip.speed / fps  # source seconds per timeline frame
        new_in, new_out = clip.source_in, clip.source_out
        if edge == "in":
            new_in = clip.source_in + float(delta * step)
        else:
            new_out = min(clip.source_duration, clip.source_out + float(delta * step))
        ti = max(0, round(new_in * fps))
        to = max(0, round((clip.source_duration - new_out) * fps))
        return ti, to
    if edge == "in":
        return max(0, trim_in + delta), trim_out
    return trim_in, max(0, trim_out - delta)


class _RulerItem(QGraphicsRectItem):
    def __init__(self, view: TimelineView, width: float) -> None:
        super().__init__(0, 0, width, RULER_H)
        self.view = view
        self.setBrush(QBrush(QColor(36, 38, 44)))
        self.setPen(QPen(Qt.PenStyle.NoPen))
        self.setCursor(Qt.CursorShape.IBeamCursor)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: Any = None) -> None:
        super().paint(painter, option, widget)
        view = self.view
        fps = view.fps
        nominal = max(1, round(float(fps)))
        ppf = view.ppf
        # pick a labelled step so labels are ≥ 70 px apart
        steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600]
        label_every = next((s for s in steps if s * nominal * ppf >= 70), steps[-1])
        painter.setPen(QColor(150, 152, 160))
        font = QFont(painter.font())
        font.setPointSizeF(8)
        painter.setFont(font)
        exposed = option.exposedRect
        first = max(0, int((exposed.left() - LEFT_PAD) / (nominal * ppf)) - 1)
        last = int((exposed.right() - LEFT_PAD) / (nominal * ppf)) + 2
        for second in range(first, last):
            x = view.frame_to_x(second * nominal)
            major = second % label_every == 0
            painter.drawLine(QPointF(x, RULER_H - (12 if major else 5)), QPointF(x, RULER_H))
            if major:
                painter.drawText(QPointF(x + 3, 11), timecode(second * nominal, fps)[3:8])
        if ppf >= 6:  # frame ticks when zoomed in
            painter.setPen(QColor(80, 82, 90))
            f0 = max(0, int((exposed.left() - LEFT_PAD) / ppf))
            f1 = int((exposed.right() - LEFT_PAD) / ppf) + 1
            for frame in range(f0, f1):
                if frame % nominal:
                    x = view.frame_to_x(frame)
                    painter.drawLine(QPointF(x, RULER_H - 3), QPointF(x, RULER_H))

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        self.view.set_playhead(self.view.x_to_frame(event.scenePos().x()), user=True)
        event.accept()

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        self.view.set_playhead(self.view.x_to_frame(event.scenePos().x()), user=True)


class ClipItem(QGraphicsRectItem):
    """One shot's clip on the video track; drag an edge to trim it."""

    def __init__(self, view: TimelineView, clip: VideoClip, color: QColor,
                 thumb: QPixmap | None, stale: bool) -> None:
        x0, x1 = view.frame_to_x(clip.record_in), view.frame_to_x(clip.record_out)
        super().__init__(0, 0, max(1.0, x1 - x0), TRACK_H["video"] - 2)
        self.setPos(x0, track_top("video") + 1)
        self.view = view
        self.clip = clip
        self.color = color
        self.thumb = thumb
        self.stale = stale
        self.setAcceptHoverEvents(True)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setToolTip(clip.slate_text or clip.label)
        self._drag_edge: str | None = None
        self._press_x = 0.0
        self.drag_delta = 0  # frames, while dragging

    def edge_at(self, local_x: float) -> str | None:
        width = self.rect().width()
        grab = min(EDGE_GRAB, width / 3)
        if local_x <= grab:
            return "in"
        if local_x >= width - grab:
            return "out"
        return None

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: Any = None) -> None:
        rect = self.rect()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.fillRect(rect, self.color.darker(150))
        inner = rect.adjusted(1, 1, -1, -1)
        text_x = inner.left() + 4
        if self.thumb is not None and inner.width() > 24:
            th = inner.height()
            tw = min(inner.width() - 2, th * self.thumb.width() / max(1, self.thumb.height()))
            painter.drawPixmap(QRectF(inner.left(), inner.top(), tw, th), self.thumb,
                               QRectF(self.thumb.rect()))
            text_x = inner.left() + tw + 4
        painter.fillRect(QRectF(inner.left(), inner.bottom() - 3, inner.width(), 3), self.color)
        painter.setPen(QColor(236, 236, 240))
        font = QFont(painter.font())
        font.setPointSizeF(8.5)
        font.setBold(True)
        painter.setFont(font)
        text_rect = QRectF(text_x, inner.top() + 2, max(0.0, inner.right() - text_x - 2), 16)
        seconds = self.clip.duration_frames / float(self.view.fps)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         f"{self.clip.label}  {seconds:.1f}s")
        if self.stale:
            painter.setPen(QColor(255, 170, 120))
            painter.drawText(QRectF(text_x, inner.top() + 18, text_rect.width(), 14),
                             Qt.AlignmentFlag.AlignLeft, "⟳ " + self.view.stale_text)
        pen = QPen(QColor(255, 210, 90) if self.isSelected() else QColor(20, 20, 24))
        pen.setWidthF(2 if self.isSelected() else 1)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(rect.adjusted(0.5, 0.5, -0.5, -0.5))

    def hoverMoveEvent(self, event: QGraphicsSceneHoverEvent) -> None:  # noqa: N802
        edge = self.edge_at(event.pos().x())
        self.setCursor(Qt.CursorShape.SizeHorCursor if edge else Qt.CursorShape.ArrowCursor)

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        self._drag_edge = self.edge_at(event.pos().x())
        self._press_x = event.scenePos().x()
        self.drag_delta = 0
        self._base_rect = QRectF(self.rect())
        self._base_x = self.pos().x()
        self.view.select_clip(self.clip.shot_id)
        if self._drag_edge:
            self.view.dragging = True
        event.accept()

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        if not self._drag_edge:
            return
        ppf = self.view.ppf
        raw = round((event.scenePos().x() - self._press_x) / ppf)  # snapped to frames
        length = self.clip.duration_frames
        if self._drag_edge == "in":
            delta = max(-self.view.trim_of(self.clip.shot_id)[0], min(raw, length - 1))
            self.setPos(self._base_x + delta * ppf, self.pos().y())
            self.setRect(0, 0, self._base_rect.width() - delta * ppf, self._base_rect.height())
        else:
            delta = max(raw, -(length - 1))
            self.setRect(0, 0, self._base_rect.width() + delta * ppf, self._base_rect.height())
        self.drag_delta = delta
        self.view.set_playhead(self.clip.record_in + (delta if self._drag_edge == "in"
                                                      else length + delta), user=False)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        edge, self._drag_edge = self._drag_edge, None
        self.view.dragging = False
        if edge and self.drag_delta:
            self.view.commit_trim(self.clip, edge, self.drag_delta)
        elif edge:
            self.setRect(self._base_rect)
            self.setPos(self._base_x, self.pos().y())
        event.accept()


    def contextMenuEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        self.view.select_clip(self.clip.shot_id)
        self.view.clip_menu(self.clip).exec(event.screenPos())


class BarItem(QGraphicsRectItem):
    """A dialogue line, a music/effects placement or a subtitle cue."""

    def __init__(self, view: TimelineView, track: str, record_in: int, record_out: int,
                 color: QColor, text: str, placement_id: str | None = None) -> None:
        x0, x1 = view.frame_to_x(record_in), view.frame_to_x(record_out)
        super().__init__(0, 0, max(2.0, x1 - x0), TRACK_H[track] - 4)
        self.setPos(x0, track_top(track) + 2)
        self.view = view
        self.track = track
        self.record_in = record_in
        self.color = color
        self.text = text
        self.placement_id = placement_id
        self.setToolTip(text)
        self._press_x = 0.0
        self._base_x = x0
        self.drag_delta = 0
        if placement_id:
            self.setCursor(Qt.CursorShape.OpenHandCursor)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: Any = None) -> None:
        rect = self.rect()
        painter.fillRect(rect, self.color.darker(130))
        painter.setPen(QPen(self.color.lighter(140)))
        painter.drawRect(rect.adjusted(0.5, 0.5, -0.5, -0.5))
        painter.setPen(QColor(236, 236, 240))
        font = QFont(painter.font())
        font.setPointSizeF(8)
        painter.setFont(font)
        painter.drawText(rect.adjusted(4, 0, -2, 0),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         painter.fontMetrics().elidedText(self.text, Qt.TextElideMode.ElideRight,
                                                          int(max(0, rect.width() - 6))))

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        if not self.placement_id or event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        self._press_x = event.scenePos().x()
        self._base_x = self.pos().x()
        self.drag_delta = 0
        self.view.dragging = True
        self.setCursor(Qt.CursorShape.ClosedHandCursor)
        event.accept()

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        if not self.placement_id:
            return
        raw = round((event.scenePos().x() - self._press_x) / self.view.ppf)
        self.drag_delta = max(-self.record_in, raw)
        self.setPos(self._base_x + self.drag_delta * self.view.ppf, self.pos().y())

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        if not self.placement_id:
            return super().mouseReleaseEvent(event)
        self.view.dragging = False
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        if self.drag_delta:
            self.view.commit_music_move(self.placement_id, self.record_in + self.drag_delta)
        event.accept()

    def contextMenuEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        if self.placement_id:
            self.view.music_menu(self.placement_id).exec(event.screenPos())


class _TrackHeaders(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedWidth(HEADER_W)
        self.names = {"video": self.tr("Video"), "dialogue": self.tr("Dialogue"),
                      "music": self.tr("Music"), "subtitles": self.tr("Subtitles")}
        self.offset = 0

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(30, 31, 36))
        painter.setPen(QColor(200, 200, 208))
        for track in TRACK_ORDER:
            rect = QRectF(6, track_top(track) - self.offset, HEADER_W - 8, TRACK_H[track])
            painter.fillRect(rect.adjusted(-6, 0, 0, 0), QColor(40, 42, 48))
            painter.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             self.names[track])
        painter.end()
