"""Preview player: video frames decoded with PyAV on a background thread.

The decoder thread reads a *playlist* of segments (one file for "preview this shot",
one segment per timeline clip for "preview the whole cut"), converts frames to RGB
arrays at display size and puts them on a small bounded queue. The UI thread pulls
them on a timer, follows a wall-clock playback clock, and turns the current frame into
a QImage. No widget is touched from the decoder thread.

Sound: PySide6-Essentials has no QtMultimedia, so ``set_audio`` takes the cut's mix as an
array (the timeline view has it mixed by a preview-mix job and memory-maps it) and
``studio.preview_audio`` streams it through miniaudio from the playhead whenever the
picture plays; pause, seek and J/K/L restart it at the new position. Without a mix (or a
sound device) the preview is silent and the time label's tooltip says why.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QKeySequence, QPainter, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.playback import (
    Segment,
    _Decoder,
    _Frame,
    _probe_fps,
    clip_segments,
    probe_duration,
)

QUEUE_FRAMES = 8
TICK_MS = 15

ZH = {
    "Play": "播放",
    "Pause": "暂停",
    "No video loaded": "未载入视频",
    "Preview has no sound; the exported film has.": "预览没有声音；导出的影片有声音。",
    "Sound: the cut's mix": "声音：整片混音",
    "No sound device ({reason}); the exported film has sound.":
        "没有可用的声音设备（{reason}）；导出的影片有声音。",
    "Cannot play {name}: {reason}": "无法播放 {name}：{reason}",
    "No picture to show in {name}": "{name} 中没有可显示的画面",
}


class _Screen(QWidget):
    """Paints the current frame letterboxed on black."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: QImage | None = None
        self.placeholder = ""
        self.setMinimumSize(QSize(160, 120))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(12, 12, 14))
        if self.image is not None and not self.image.isNull():
            pix = QPixmap.fromImage(self.image)
            scaled = pix.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                Qt.TransformationMode.SmoothTransformation)
            x = (self.width() - scaled.width()) // 2
            y = (self.height() - scaled.height()) // 2
            painter.drawPixmap(x, y, scaled)
        elif self.placeholder:
            painter.setPen(QColor(150, 150, 160))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
        painter.end()


def rgba_to_qimage(array: np.ndarray) -> QImage:
    """Copy an HxWx4 uint8 array into a new QImage (no buffer shared with numpy).

    QImage's constructor from a Python buffer has had reference-counting bugs in
    PySide6; writing into the image's own bits avoids them."""
    h, w, _ = array.shape
    image = QImage(w, h, QImage.Format.Format_RGBA8888)
    bits = image.bits()
    stride = image.bytesPerLine()
    data = np.ascontiguousarray(array, dtype=np.uint8)
    if stride == 4 * w:
        bits[: 4 * w * h] = data.tobytes()
    else:  # pragma: no cover - RGBA rows are always 4-byte aligned
        view = np.frombuffer(bits, dtype=np.uint8).reshape(h, stride)
        view[:, : 4 * w] = data.reshape(h, 4 * w)
    return image


def _timecode(seconds: float) -> str:
    seconds = max(0.0, seconds)
    minutes, sec = divmod(seconds, 60)
    return f"{int(minutes):02d}:{sec:05.2f}"


class PreviewPlayer(QWidget):
    """Plays one clip or a sequence of clips. ``positionChanged`` carries seconds."""

    positionChanged = Signal(float)
    stateChanged = Signal(bool)  # playing
    frameShown = Signal(float)  # time of the frame now on screen

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._segments: list[Segment] = []
        self._duration = 0.0
        self._fps = 24.0
        self._frames: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_FRAMES)
        self._decoder: _Decoder | None = None
        self._generation = 0
        self._playing = False
        self._clock_origin = 0.0  # monotonic time at which position was _clock_base
        self._clock_base = 0.0
        self._position = 0.0
        self._pending: _Frame | None = None
        self._at_end = False
        self.current_time: float | None = None  # time of the frame on screen
        self.current_image: QImage | None = None
        self.current_label = ""
        self._audio: np.ndarray | None = None  # (frames, channels) float32, the cut's mix
        self._audio_rate = 48000
        self._audio_offset = 0.0  # audio time of player time 0
        self._audio_out: Any = None

        self.screen = _Screen(self)
        self.screen.placeholder = self.tr("No video loaded")
        self.play_button = QToolButton(self)
        self.play_button.setText(self.tr("Play"))
        self.play_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.play_button.clicked.connect(self.toggle)
        self.play_button.setEnabled(False)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(0, 0)
        self.slider.sliderMoved.connect(lambda v: self.seek(v / 1000.0))
        self.slider.sliderPressed.connect(lambda: self.seek(self.slider.value() / 1000.0))
        self.time_label = QLabel(self._time_text(), self)
        self.time_label.setToolTip(self.tr("Preview has no sound; the exported film has."))
        self.time_label.setMinimumWidth(self.time_label.fontMetrics().horizontalAdvance(
            "00:00.00 / 00:00.00") + 8)

        controls = QHBoxLayout()
        controls.setContentsMargins(4, 2, 4, 2)
        controls.addWidget(self.play_button)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.time_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.screen, 1)
        layout.addLayout(controls)

        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        # J / K / L as in editing tools: back one second, pause, play
        for key, slot in ((Qt.Key.Key_J, self.step_back), (Qt.Key.Key_K, self.pause),
                          (Qt.Key.Key_L, self.play)):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

    # ------------------------------------------------------------------ public API
    @property
    def duration(self) -> float:
        return self._duration

    @property
    def position(self) -> float:
        return self._position

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def error(self) -> str:
        return self._decoder.error if self._decoder is not None else ""

    @property
    def audio_out(self) -> Any:
        return self._audio_out

    def shown_source(self) -> tuple[Path, float] | None:
        """The file of the frame now on screen and that frame's time in the file (None
        when nothing, or a gap, is shown)."""
        t = self.current_time
        if t is None or self.current_image is None:
            return None
        for seg in reversed(self._segments):
            if seg.start <= t + 1e-6:
                if seg.path is None:
                    return None
                return Path(seg.path), max(0.0, seg.source_in + (t - seg.start))
        return None

    def set_audio(self, samples: np.ndarray | None, sample_rate: int = 48000,
                  offset: float = 0.0) -> None:
        """The sound under the picture: player time t plays ``samples`` at t + ``offset``
        seconds. None silences the preview."""
        self._audio = samples
        self._audio_rate = int(sample_rate)
        self._audio_offset = float(offset)
        if self._playing:
            self._start_audio()
        self._update_sound_tip()

    def _start_audio(self) -> None:
        if self._audio is None or not self._playing:
            return
        if self._audio_out is None:
            from studio.preview_audio import AudioOut

            self._audio_out = AudioOut()
        frame = int(round((self._clock_now() + self._audio_offset) * self._audio_rate))
        self._audio_out.start(self._audio, self._audio_rate, frame)
        self._update_sound_tip()

    def _stop_audio(self) -> None:
        if self._audio_out is not None:
            self._audio_out.stop()

    def _update_sound_tip(self) -> None:
        out = self._audio_out
        if self._audio is None:
            tip = self.tr("Preview has no sound; the exported film has.")
        elif out is not None and out.error:
            tip = self.tr("No sound device ({reason}); the exported film has sound.").format(
                reason=out.error)
        else:
            tip = self.tr("Sound: the cut's mix")
        self.time_label.setToolTip(tip)

    def load(self, path: str | Path) -> None:
        """Preview one file from its start (paused on its first frame)."""
        p = Path(path)
        duration = probe_duration(p)
        if duration <= 0:
            self.unload()
            self.screen.placeholder = self.tr("No picture to show in {name}").format(name=p.name)
            self.screen.update()
            return
        self.load_segments([Segment(p, 0.0, 0.0, duration, p.name)], fps=_probe_fps(p))

    def load_timeline(self, timeline: Any, media_resolver: Callable[[Any], Path | None]) -> None:
        """Preview the whole cut: one segment per video clip of an engine Timeline.

        ``media_resolver(clip)`` returns the clip's file (or None for a gap). Clips are
        read through ``studio.playback.clip_segments``."""
        segments, fps = clip_segments(timeline, media_resolver)
        self.load_segments(segments, fps=fps)

    def load_segments(self, segments: Sequence[Segment], fps: float = 24.0) -> None:
        """Load a playlist; its sound (if any) comes separately through ``set_audio``."""
        self._stop_audio()
        self._audio = None
        self._stop_decoder()
        fixed: list[Segment] = []
        for seg in segments:
            if seg.duration is None and seg.path is not None:
                length = probe_duration(seg.path) - seg.source_in
                seg = Segment(seg.path, seg.start, seg.source_in, max(0.0, length), seg.label)
            fixed.append(seg)
        self._segments = fixed
        self._fps = fps if fps and fps > 0 else 24.0
        self._duration = max((s.end for s in fixed), default=0.0)
        self.slider.setRange(0, int(round(self._duration * 1000)))
        self.play_button.setEnabled(self._duration > 0)
        self.current_time = None
        self.current_image = None
        self.screen.image = None
        self.screen.placeholder = self.tr("No video loaded") if not fixed else ""
        self.screen.update()
        if not fixed:
            self._update_labels()
            return
        self._frames = queue.Queue(maxsize=QUEUE_FRAMES)
        self._decoder = _Decoder(fixed, self._frames, self._fps)
        self._generation = self._decoder.generation
        self._decoder.start()
        self._position = 0.0
        self._at_end = False
        self._pending = None
        self._timer.start()
        self._update_labels()

    def unload(self) -> None:
        self.pause()
        self._stop_decoder()
        self._segments = []
        self._duration = 0.0
        self.play_button.setEnabled(False)
        self.slider.setRange(0, 0)
        self.current_image = None
        self.current_time = None
        self.screen.image = None
        self.screen.placeholder = self.tr("No video loaded")
        self.screen.update()
        self._update_labels()

    def play(self) -> None:
        if self._decoder is None or self._duration <= 0:
            return
        if self._at_end or self._position >= self._duration - 1e-3:
            self.seek(0.0)
        self._playing = True
        self._clock_base = self._position
        self._clock_origin = time.monotonic()
        self._start_audio()
        self._timer.start()
        self.play_button.setText(self.tr("Pause"))
        self.stateChanged.emit(True)

    def pause(self) -> None:
        if not self._playing:
            return
        self._position = self._clock_now()
        self._playing = False
        self._stop_audio()
        self.play_button.setText(self.tr("Play"))
        self.stateChanged.emit(False)
        self._update_labels()

    def toggle(self) -> None:
        if self._playing:
            self.pause()
        else:
            self.play()

    def step_back(self, seconds: float = 1.0) -> None:
        """Pause and go back ``seconds`` (the J key)."""
        self.pause()
        self.seek(self.position - seconds)

    def seek(self, seconds: float) -> None:
        if self._decoder is None:
            return
        seconds = max(0.0, min(float(seconds), max(0.0, self._duration - 1e-3)))
        self._generation = self._decoder.seek(seconds)
        self._pending = None
        self._position = seconds
        self._clock_base = seconds
        self._clock_origin = time.monotonic()
        self._at_end = False
        if self._playing:
            self._start_audio()  # the sound jumps with the picture
        self._timer.start()
        self._update_labels()
        self.positionChanged.emit(seconds)

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        self._stop_decoder()
        if self._audio_out is not None:
            self._audio_out.close()
        super().closeEvent(event)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(360, 420)

    # ------------------------------------------------------------------ internals
    def _stop_decoder(self) -> None:
        self._playing = False
        self._timer.stop()
        if self._decoder is not None:
            self._decoder.stop()
            self._decoder.join(timeout=2.0)
            self._decoder = None
        self.play_button.setText(self.tr("Play"))

    def _clock_now(self) -> float:
        if not self._playing:
            return self._position
        return self._clock_base + (time.monotonic() - self._clock_origin)

    def _next_item(self) -> Any:
        if self._pending is not None:
            item, self._pending = self._pending, None
            return item
        try:
            return self._frames.get_nowait()
        except queue.Empty:
            return None

    def _tick(self) -> None:
        now = self._clock_now()
        shown: _Frame | None = None
        while True:
            item = self._next_item()
            if item is None:
                break
            if isinstance(item, tuple):  # (_END, generation)
                if item[1] == self._generation:
                    self._at_end = True
                continue
            if item.generation != self._generation:
                continue
            if shown is None and self.current_time is None:
                shown = item  # nothing on screen yet: show the first frame at once
                if not self._playing:
                    break
                continue
            if item.time <= now + 1e-6 or (not self._playing and self._awaiting_seek_frame()):
                shown = item
                if not self._playing:
                    break
                continue
            self._pending = item  # a future frame: keep it for a later tick
            break
        if shown is not None:
            self._show(shown)
        if self._playing:
            if self._at_end and self._pending is None and now >= self._duration - 1e-3:
                self.pause()
                self._position = self._duration
                self._at_end = True
            else:
                self._position = min(now, self._duration)
            self._update_labels()
            self.positionChanged.emit(self._position)

    def _awaiting_seek_frame(self) -> bool:
        """Paused after a seek: the first frame at/after the position replaces the view."""
        if self.current_time is None:
            return True
        return abs(self.current_time - self._position) > 0.5 / self._fps

    def _show(self, frame: _Frame) -> None:
        if frame.image is None:
            image = QImage(16, 9, QImage.Format.Format_RGB888)
            image.fill(QColor(0, 0, 0))
            self.screen.placeholder = frame.label
        else:
            image = rgba_to_qimage(frame.image)
        self.current_image = image
        self.current_time = frame.time
        self.current_label = frame.label
        self.screen.image = image if frame.image is not None else None
        self.screen.update()
        self.frameShown.emit(frame.time)

    def _time_text(self) -> str:
        return f"{_timecode(self._position)} / {_timecode(self._duration)}"

    def _update_labels(self) -> None:
        self.time_label.setText(self._time_text())
        if not self.slider.isSliderDown():
            self.slider.blockSignals(True)
            self.slider.setValue(int(round(self._position * 1000)))
            self.slider.blockSignals(False)
