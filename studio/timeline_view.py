"""The timeline: video, dialogue, music/effects and subtitle tracks over a ruler.

A QGraphicsView drawing ``engine.render.timeline_builder.build_timeline(store)``. The view
holds no data of its own: ``refresh()`` rebuilds it from the store, and it refreshes
itself when the store reports a change. Edits go back through the engine's operations
(``engine.ops.audio``):
- dragging a video clip's edge trims it: ``set_clip_edit(store, shot_id, trim_in=…,
  trim_out=…)``, one undoable step, snapped to whole frames;
- dragging a music/effects item moves its AudioPlacement (``set_placement_fields``:
  ``from_shot`` + ``offset``).
Clicking or dragging on the ruler moves the playhead; the preview player above the
tracks follows it (Space plays/pauses). Ctrl+wheel, the +/- buttons and Fit zoom.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QKeySequence, QPen, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QGraphicsLineItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.jobs.kinds import PREVIEW_MIX
from engine.model import (
    AudioRole,
    ShotStatus,
)
from engine.model.timeline import SourceKind, Timeline, timecode
from engine.render import audio as render_audio
from studio.background import shared_reader
from studio.job_runner import jobs_of
from studio.playback import Segment, clip_segments
from studio.player import PreviewPlayer
from studio.timeline_edits import TimelineEdits
from studio.timeline_items import (
    DIALOGUE_COLOR,
    EFFECTS_COLOR,
    LEFT_PAD,
    MAX_PPF,
    MIN_PPF,
    MUSIC_COLOR,
    PLAYHEAD_COLOR,
    SCENE_H,
    STATUS_COLORS,
    SUBTITLE_COLOR,
    TRACK_H,
    TRACK_ORDER,
    BarItem,
    ClipItem,
    _RulerItem,
    _TrackHeaders,
    track_top,
    trims_after_drag,
)
from studio.timeline_snapshot import _Snapshot, placement_start, read_snapshot

ZH = {
    "Video": "视频",
    "Dialogue": "对白",
    "Music": "音乐",
    "Subtitles": "字幕",
    "Fit": "适应",
    "Zoom in": "放大",
    "Zoom out": "缩小",
    "Preview shot": "预览镜头",
    "Preview cut": "预览全片",
    "Play/pause the preview (Space)": "播放/暂停预览（空格）",
    "Timeline": "时间线",
    "The timeline is not available yet.": "时间线暂不可用。",
    "Select a clip first.": "请先选择一个片段。",
    "This shot has no take to preview yet.": "该镜头还没有可预览的片段。",
    "Trim shot {label}": "修剪镜头 {label}",
    "Move music": "移动音乐",
    "stale": "需重新生成",
    "Add music…": "添加音乐…",
    "Add music {name}": "添加音乐 {name}",
    "Remove music": "移除音乐",
    "Audio (*.wav *.mp3 *.m4a *.aac *.flac *.ogg *.opus)":
        "音频 (*.wav *.mp3 *.m4a *.aac *.flac *.ogg *.opus)",
    "Cut into this shot": "硬切到此镜头",
    "Crossfade into this shot (0.5 s)": "叠化到此镜头（0.5 秒）",
    "Dip to black into this shot (0.5 s)": "黑场过渡到此镜头（0.5 秒）",
    "Reset trims": "取消修剪",
    "Drag clip edges to trim; drag music to move it.": "拖动片段边缘修剪；拖动音乐可移动。",
}



class _Relay(QObject):
    """Store change events and finished builds (any thread) → the UI thread."""

    changed = Signal(object)
    built = Signal(object, int)


class _Graphics(QGraphicsView):
    def __init__(self, owner: TimelineView) -> None:
        super().__init__(owner)
        self.owner = owner
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setBackgroundBrush(QBrush(QColor(24, 25, 29)))
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.BoundingRectViewportUpdate)

    def wheelEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            factor = 1.25 if event.angleDelta().y() > 0 else 0.8
            anchor = self.mapToScene(event.position().toPoint()).x()
            self.owner.zoom(factor, anchor_x=anchor)
            event.accept()
            return
        super().wheelEvent(event)


class TimelineView(TimelineEdits, QWidget):
    """Tracks, ruler, playhead and a preview player for the project's timeline."""

    playheadMoved = Signal(int)  # frame
    clipSelected = Signal(str)  # shot id
    refreshed = Signal()  # the tracks were rebuilt from a fresh read of the store

    def __init__(self, store: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.timeline: Timeline | None = None
        self.fps = Fraction(store.project.fps)
        self.ppf = 4.0  # pixels per frame
        self.playhead = 0
        self.sound_task: Any = None  # the preview-mix job (a JobTicket)
        self.jobs: Any = None  # the window's StudioJobs (studio.job_runner)
        self._sound_request = 0
        self.selected_shot: str | None = None
        self.dragging = False
        self.error = ""
        self.clip_items: dict[str, ClipItem] = {}
        self.music_items: dict[str, BarItem] = {}
        self._trims: dict[str, tuple[int, int]] = {}
        self._thumbs: dict[str, QPixmap | None] = {}
        self._fitted = False
        self._player_follows_timeline = False
        self.show_error: Callable[[str], None] = self._error_dialog
        self.choose_music_file: Callable[[], str] = self._music_file_dialog
        self.stale_text = self.tr("stale")

        self.player = PreviewPlayer(self)
        self.player.positionChanged.connect(self._on_player_position)
        self.scene = QGraphicsScene(self)
        self.view = _Graphics(self)
        self.view.setScene(self.scene)
        self.headers = _TrackHeaders(self)
        self.view.verticalScrollBar().valueChanged.connect(self._sync_headers)

        self.zoom_out_button = self._button("−", self.tr("Zoom out"), lambda: self.zoom(0.8))
        self.zoom_in_button = self._button("+", self.tr("Zoom in"), lambda: self.zoom(1.25))
        self.fit_button = self._button(self.tr("Fit"), self.tr("Fit"), self.fit)
        self.add_music_button = self._button(self.tr("Add music…"), "", self.add_music)
        self.preview_shot_button = self._button(self.tr("Preview shot"), "", self.preview_shot)
        self.preview_cut_button = self._button(self.tr("Preview cut"), "", self.preview_cut)
        self.timecode_label = QLabel(self)
        self.status_label = QLabel(self.tr("Drag clip edges to trim; drag music to move it."), self)
        self.status_label.setStyleSheet("color: #9a9ca6;")

        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        for w in (self.preview_shot_button, self.preview_cut_button, self.add_music_button):
            bar.addWidget(w)
        bar.addSpacing(12)
        bar.addWidget(self.timecode_label)
        bar.addSpacing(12)
        bar.addWidget(self.status_label, 1)
        for w in (self.zoom_out_button, self.zoom_in_button, self.fit_button):
            bar.addWidget(w)
        tracks = QWidget(self)
        tracks_layout = QHBoxLayout(tracks)
        tracks_layout.setContentsMargins(0, 0, 0, 0)
        tracks_layout.setSpacing(0)
        tracks_layout.addWidget(self.headers)
        tracks_layout.addWidget(self.view, 1)
        lower = QWidget(self)
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.setSpacing(2)
        lower_layout.addLayout(bar)
        lower_layout.addWidget(tracks, 1)
        lower.setMinimumHeight(int(SCENE_H) + 60)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.addWidget(self.player)
        self.splitter.addWidget(lower)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        space = QShortcut(QKeySequence(Qt.Key.Key_Space), self)
        space.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        space.activated.connect(self.player.toggle)
        self.player.play_button.setToolTip(self.tr("Play/pause the preview (Space)"))

        self.snapshot: _Snapshot | None = None
        self._requested = 0
        self._applied = 0
        self._building = False
        self._stale = False
        self._relay = _Relay(self)
        self._relay.changed.connect(self._on_store_changes)
        self._relay.built.connect(self._on_built)
        self._reader = shared_reader()
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(40)
        self._refresh_timer.timeout.connect(self.refresh)
        self._unsubscribe: Callable[[], None] | None = store.subscribe(self._forward)
        self.destroyed.connect(lambda *_: self._detach())
        self.refresh()

    # ------------------------------------------------------------------ geometry
    def frame_to_x(self, frame: int | float) -> float:
        return LEFT_PAD + frame * self.ppf

    def x_to_frame(self, x: float) -> int:
        frame = round((x - LEFT_PAD) / self.ppf)
        end = self.timeline.duration_frames if self.timeline else 0
        return int(max(0, min(frame, max(0, end - 1))))

    def trim_of(self, shot_id: str) -> tuple[int, int]:
        return self._trims.get(shot_id, (0, 0))

    # ------------------------------------------------------------------ building
    def refresh(self) -> None:
        """Rebuild every track from the store.

        The store is read on a background thread (``build_timeline`` and the rows the
        tracks show cost milliseconds per shot); the result comes back through a queued
        signal and the items are rebuilt on the UI thread. While the widget is hidden the
        read waits until it is shown again."""
        if self.dragging:
            self._refresh_timer.start()
            return
        if not self.isVisible() and self.snapshot is not None:
            self._stale = True
            return
        self._stale = False
        self._requested += 1
        if self._building:
            return  # the running build is followed by another one when it finishes
        self._start_build()

    @property
    def ready(self) -> bool:
        """True when the tracks show the store as of the last refresh()."""
        return not self._building and self._applied == self._requested

    def set_episode(self, number: int | None) -> None:
        """Show one episode's film of a series (None: the whole series)."""
        if getattr(self, "episode", None) != number:
            self.episode = number
            self.refresh()

    def _start_build(self) -> None:
        self._building = True
        generation = self._requested
        store, relay, episode = self.store, self._relay, getattr(self, "episode", None)

        def work() -> None:
            snap = read_snapshot(store, episode)
            try:
                relay.built.emit(snap, generation)
            except RuntimeError:  # the view was deleted meanwhile
                pass

        self._reader.submit(work)

    def _on_built(self, snap: _Snapshot, generation: int) -> None:
        self._building = False
        if generation < self._requested:
            self._start_build()  # the store changed while we read it: read again
            if self.snapshot is not None:
                return
        self._applied = generation
        self.snapshot = snap
        self.timeline = snap.timeline
        self.error = snap.error
        self.fps = snap.fps
        self._trims = snap.trims
        if snap.timeline is not None and not self._fitted and self.view.viewport().width() > 100:
            self._fitted = True
            self._fit_ppf()
        self._rebuild()
        self.status_label.setText(self.error or self.tr(
            "Drag clip edges to trim; drag music to move it."))
        self.refreshed.emit()

    def _rebuild(self) -> None:
        self.scene.clear()
        self.clip_items.clear()
        self.music_items.clear()
        timeline = self.timeline
        frames = timeline.duration_frames if timeline else 0
        width = max(self.frame_to_x(frames) + 200, float(self.view.viewport().width()))
        self.scene.setSceneRect(0, 0, width, SCENE_H)
        for track in TRACK_ORDER:
            band = self.scene.addRect(QRectF(0, track_top(track), width, TRACK_H[track]),
                                      QPen(Qt.PenStyle.NoPen), QBrush(QColor(32, 33, 38)))
            band.setZValue(-10)
        self.ruler = _RulerItem(self, width)
        self.scene.addItem(self.ruler)
        if timeline is not None and self.snapshot is not None:
            self._add_video(timeline, self.snapshot)
            self._add_audio(timeline, self.snapshot)
            for cue in timeline.subtitles:
                text = f"{cue.speaker}：{cue.text}" if cue.speaker else cue.text
                self.scene.addItem(BarItem(self, "subtitles", cue.record_in, cue.record_out,
                                           SUBTITLE_COLOR, text))
        self.playhead_item = QGraphicsLineItem(0, 0, 0, SCENE_H)
        pen = QPen(PLAYHEAD_COLOR)
        pen.setWidthF(1.5)
        self.playhead_item.setPen(pen)
        self.playhead_item.setZValue(100)
        self.scene.addItem(self.playhead_item)
        self.playhead = min(self.playhead, max(0, frames - 1))
        self._place_playhead()

    def _add_video(self, timeline: Timeline, snap: _Snapshot) -> None:
        for clip in timeline.video:
            status = snap.statuses.get(clip.shot_id, ShotStatus.DRAFT)
            color = STATUS_COLORS.get(status, STATUS_COLORS[ShotStatus.DRAFT])
            thumb = self._thumbnail(snap.thumbnails.get(clip.take_id or ""))
            item = ClipItem(self, clip, color, thumb, status == ShotStatus.STALE)
            item.setSelected(clip.shot_id == self.selected_shot)
            self.scene.addItem(item)
            self.clip_items[clip.shot_id] = item

    def _add_audio(self, timeline: Timeline, snap: _Snapshot) -> None:
        by_start = {(p.media, placement_start(p, timeline)): p.id for p in snap.placements}
        for audio in timeline.audio:
            end = audio.record_out if audio.record_out is not None else audio.record_in + int(
                (audio.source_duration or 1.0) * float(self.fps))
            if audio.role == AudioRole.DIALOGUE:
                text = snap.lines.get((audio.shot_id or "", audio.line_index or 0), "")
                self.scene.addItem(BarItem(self, "dialogue", audio.record_in, end,
                                           DIALOGUE_COLOR, text))
                continue
            if audio.shot_id is not None and audio.line_index is None:
                continue  # the take's own sound: part of the video clip
            pid = by_start.get((audio.media, audio.record_in))
            name = snap.media_names.get(audio.media, audio.media[:8])
            color = MUSIC_COLOR if audio.role == AudioRole.MUSIC else EFFECTS_COLOR
            item = BarItem(self, "music", audio.record_in, end, color, f"♪ {name}", pid)
            self.scene.addItem(item)
            if pid:
                self.music_items[pid] = item

    def _thumbnail(self, path: str | None) -> QPixmap | None:
        if not path:
            return None
        if path not in self._thumbs:
            pixmap: QPixmap | None = QPixmap(path)
            if pixmap is not None and pixmap.isNull():
                pixmap = None
            if pixmap is not None:
                pixmap = pixmap.scaledToHeight(TRACK_H["video"] * 2,
                                               Qt.TransformationMode.SmoothTransformation)
            self._thumbs[path] = pixmap
        return self._thumbs[path]

    # ------------------------------------------------------------------ playhead / zoom
    def set_playhead(self, frame: int, user: bool = False) -> None:
        end = self.timeline.duration_frames if self.timeline else 0
        frame = int(max(0, min(frame, max(0, end - 1))))
        changed = frame != self.playhead
        self.playhead = frame
        self._place_playhead()
        if user and self.timeline is not None:
            if self.player.duration > 0:
                self.player.seek(float(frame / self.fps))
        if changed:
            self.playheadMoved.emit(frame)

    def _place_playhead(self) -> None:
        x = self.frame_to_x(self.playhead)
        self.playhead_item.setLine(x, 0, x, SCENE_H)
        self.timecode_label.setText(timecode(self.playhead, self.fps))

    def _on_player_position(self, seconds: float) -> None:
        if self._player_follows_timeline:
            frame = int(round(seconds * self.fps))
            if frame != self.playhead:
                self.set_playhead(frame)

    def zoom(self, factor: float, anchor_x: float | None = None) -> None:
        old = self.ppf
        self.ppf = max(MIN_PPF, min(MAX_PPF, self.ppf * factor))
        if abs(self.ppf - old) < 1e-9:
            return
        bar = self.view.horizontalScrollBar()
        if anchor_x is None:  # the playhead if it is in view, else the middle of the view
            left = bar.value()
            playhead_x = self.frame_to_x(self.playhead)
            visible = left <= playhead_x <= left + self.view.viewport().width()
            anchor_x = playhead_x if visible else self.view.mapToScene(
                self.view.viewport().rect().center()).x()
        offset_in_view = anchor_x - bar.value()
        frame = (anchor_x - LEFT_PAD) / old
        self._rebuild()
        bar.setValue(int(self.frame_to_x(frame) - offset_in_view))

    def set_pixels_per_frame(self, ppf: float) -> None:
        """Zoom to an exact scale (turns off the automatic first fit)."""
        self._fitted = True
        self.ppf = max(MIN_PPF, min(MAX_PPF, float(ppf)))
        self._rebuild()

    def _fit_ppf(self) -> None:
        frames = self.timeline.duration_frames if self.timeline else 0
        if frames <= 0:
            return
        usable = max(100, self.view.viewport().width() - 2 * LEFT_PAD - 8)
        self.ppf = max(MIN_PPF, min(MAX_PPF, usable / frames))

    def fit(self) -> None:
        self._fit_ppf()
        self._rebuild()
        self.view.horizontalScrollBar().setValue(0)

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._stale:
            self.refresh()
        if not self._fitted and self.timeline is not None:
            QTimer.singleShot(0, self._first_fit)

    def _first_fit(self) -> None:
        if not self._fitted and self.view.viewport().width() > 100:
            self._fitted = True
            self.fit()

    # ------------------------------------------------------------------ selection / preview
    def select_clip(self, shot_id: str) -> None:
        self.selected_shot = shot_id
        for sid, item in self.clip_items.items():
            item.setSelected(sid == shot_id)
        self.clipSelected.emit(shot_id)

    def preview_shot(self, shot_id: str | None = None) -> None:
        """Load the selected (or given) shot's clip into the preview player."""
        shot_id = shot_id or self.selected_shot
        if not shot_id or self.timeline is None:
            self.show_error(self.tr("Select a clip first."))
            return
        clip = next((c for c in self.timeline.video if c.shot_id == shot_id), None)
        if clip is None or clip.kind == SourceKind.SLATE or not clip.path:
            self.show_error(self.tr("This shot has no take to preview yet."))
            return
        self._player_follows_timeline = False
        fps = Fraction(self.timeline.fps)
        segment = Segment(Path(clip.path), 0.0, 0.0 if clip.kind == SourceKind.IMAGE
                          else clip.source_in, float(clip.duration_frames / fps), clip.label)
        self.player.load_segments([segment], float(fps))
        self._load_sound(float(clip.record_in / fps))

    def _load_sound(self, offset: float) -> None:
        """Mix the cut's sound as a ``preview-mix`` job (cached in the project's cache/);
        the player gets it when the job is done, starting at ``offset`` seconds of the cut.
        A newer preview cancels the older mix (its partial file is removed)."""
        if self.timeline is None or self.store is None:
            return
        self._sound_request += 1
        request = self._sound_request
        if self.sound_task is not None and not self.sound_task.done:
            self.sound_task.cancel()

        def alive() -> bool:  # the view may be closed before the mix is done
            return shiboken6.isValid(self) and shiboken6.isValid(self.player) \
                and request == self._sound_request  # and no newer preview replaced it

        def ready(result: dict[str, Any]) -> None:
            if alive():
                samples = render_audio.map_mix(result)
                self.player.set_audio(samples, int(result["rate"]), offset)

        def failed(message: str) -> None:
            if alive():
                self.show_error(message)

        self.sound_task = jobs_of(self, self.store).submit(
            PREVIEW_MIX, {"episode": getattr(self, "episode", None)},
            label="preview sound", done=ready, failed=failed)

    def preview_cut(self) -> None:
        """Load the whole cut (every clip in order) into the player at the playhead."""
        if self.timeline is None:
            self.show_error(self.error or self.tr("The timeline is not available yet."))
            return
        self.player.load_timeline(self.timeline, None)  # type: ignore[arg-type]
        self._load_sound(0.0)
        self._player_follows_timeline = True
        self.player.seek(float(self.playhead / self.fps))

    # ------------------------------------------------------------------ plumbing
    def _forward(self, changes: list[Any]) -> None:
        """Store listener (any thread): hand the batch to the UI thread."""
        try:
            self._relay.changed.emit(changes)
        except RuntimeError:  # the widget is gone; stop listening
            self._detach()

    def _on_store_changes(self, changes: list[Any]) -> None:
        relevant = {"Shot", "Take", "ClipEdit", "AudioPlacement", "VoiceClip", "Scene",
                    "Project", "Character"}
        kinds = {getattr(c.kind, "__name__", "") for c in changes}
        if kinds & relevant:
            self._refresh_timer.start()

    def _sync_headers(self, value: int) -> None:
        self.headers.offset = value
        self.headers.update()

    def _button(self, text: str, tip: str, slot: Callable[[], None]) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        if tip:
            button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    def _error_dialog(self, message: str) -> None:
        QMessageBox.warning(self, self.tr("Timeline"), message)

    def _detach(self) -> None:
        if self._unsubscribe is not None:
            try:
                self._unsubscribe()
            except ValueError:
                pass
            self._unsubscribe = None

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        self.player.unload()
        self._detach()
        super().closeEvent(event)


__all__ = ["ClipItem", "TimelineView", "clip_segments", "placement_start", "read_snapshot",
           "trims_after_drag"]
