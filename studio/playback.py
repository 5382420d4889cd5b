"""Playback without widgets: the playlist (segments), probing, and the decoder thread.

``PreviewPlayer`` (studio.player) shows what ``Decoder`` puts on its queue; the timeline
view turns a Timeline into segments with ``clip_segments``. Nothing here touches Qt.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from engine.model.timeline import SourceKind, Timeline, VideoClip

MAX_DISPLAY_SIDE = 640  # frames are scaled down in the decoder thread to at most this


@dataclass(frozen=True)
class Segment:
    """A piece of a source file placed on the playback timeline (seconds).

    ``path`` None means a gap (shown black, e.g. a shot without any take)."""

    path: Path | None
    start: float  # where it starts on the playback timeline
    source_in: float = 0.0  # where it starts in the source
    duration: float | None = None  # None = until the end of the source
    label: str = ""

    @property
    def end(self) -> float:
        return self.start + (self.duration or 0.0)


def probe_duration(path: Path) -> float:
    """Seconds of video in ``path`` (0.0 when it cannot be read)."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return 0.0
            stream = container.streams.video[0]
            if stream.duration is not None and stream.time_base:
                return float(stream.duration * stream.time_base)
            if container.duration is not None:
                return container.duration / 1_000_000
            if stream.frames and stream.average_rate:
                return stream.frames / float(stream.average_rate)
    except (av.error.FFmpegError, OSError, ValueError):
        return 0.0
    return 0.0


def clip_segments(
    timeline: Timeline, media_resolver: Callable[[VideoClip], Path | None] | None = None,
) -> tuple[list[Segment], float]:
    """Player segments for every video clip of ``timeline`` (slates become gaps)."""
    fps = Fraction(timeline.fps)
    segments: list[Segment] = []
    for clip in timeline.video:
        path = media_resolver(clip) if media_resolver else (Path(clip.path) if clip.path else None)
        start = float(clip.record_in / fps)
        length = float(clip.duration_frames / fps)
        if clip.kind == SourceKind.SLATE or path is None:
            segments.append(Segment(None, start, 0.0, length, clip.slate_text or clip.label))
        else:
            source_in = 0.0 if clip.kind == SourceKind.IMAGE else clip.source_in
            segments.append(Segment(Path(path), start, source_in, length, clip.label))
    return segments, float(fps)


@dataclass
class _Frame:
    generation: int
    time: float  # playback-timeline seconds
    image: np.ndarray | None  # HxWx4 uint8 (RGBA), None for a gap
    label: str = ""


_END = "end"


class _Decoder(threading.Thread):
    """Decodes the playlist from a position into ``frames`` until stopped."""

    def __init__(self, segments: Sequence[Segment], out: queue.Queue[Any], fps: float) -> None:
        super().__init__(name="storyreel-preview-decoder", daemon=True)
        self.segments = list(segments)
        self.out = out
        self.fps = fps
        self._lock = threading.Lock()
        self._seek_to: float | None = 0.0
        self.generation = 0
        self._halt = threading.Event()
        self._wake = threading.Event()
        self.error: str = ""

    def seek(self, seconds: float) -> int:
        with self._lock:
            self.generation += 1
            self._seek_to = seconds
            gen = self.generation
        self._drain()
        self._wake.set()
        return gen

    def stop(self) -> None:
        self._halt.set()
        self._wake.set()
        self._drain()

    def _drain(self) -> None:
        try:
            while True:
                self.out.get_nowait()
        except queue.Empty:
            pass

    def _pending_seek(self) -> tuple[float, int] | None:
        with self._lock:
            if self._seek_to is None:
                return None
            target, self._seek_to = self._seek_to, None
            return target, self.generation

    def _put(self, item: Any, generation: int) -> bool:
        """Blocking put that gives up when a seek or stop arrives. True if delivered."""
        while not self._halt.is_set():
            with self._lock:
                if self._seek_to is not None or generation != self.generation:
                    return False
            try:
                self.out.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def run(self) -> None:
        while not self._halt.is_set():
            pending = self._pending_seek()
            if pending is None:
                self._wake.wait(0.1)
                self._wake.clear()
                continue
            target, generation = pending
            self._play_from(target, generation)

    def _play_from(self, target: float, generation: int) -> None:
        for seg in self.segments:
            seg_end = seg.start + seg.duration if seg.duration is not None else float("inf")
            if seg_end <= target + 1e-6 and seg is not self.segments[-1]:
                continue
            if not self._play_segment(seg, max(target, seg.start), generation):
                return
        self._put((_END, generation), generation)

    def _play_segment(self, seg: Segment, from_time: float, generation: int) -> bool:
        if seg.path is None:
            return self._play_gap(seg, from_time, generation)
        import av

        try:
            container = av.open(str(seg.path))
        except (av.error.FFmpegError, OSError) as exc:
            self.error = f"{seg.path.name}: {exc}"
            return self._play_gap(seg, from_time, generation)
        try:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            source_target = seg.source_in + (from_time - seg.start)
            if source_target > 0.05 and stream.time_base:
                container.seek(int(max(0.0, source_target - 0.5) / stream.time_base),
                               stream=stream, backward=True, any_frame=False)
            src_end = seg.source_in + seg.duration if seg.duration is not None else None
            half = 0.5 / self.fps
            for frame in container.decode(stream):
                if frame.time is None:
                    continue
                t = float(frame.time)
                if src_end is not None and t >= src_end - 1e-6:
                    break
                if t + half < source_target:
                    continue
                image = self._convert(frame)
                item = _Frame(generation, seg.start + (t - seg.source_in), image, seg.label)
                if not self._put(item, generation):
                    return False
        except (av.error.FFmpegError, IndexError, ValueError) as exc:
            self.error = f"{seg.path.name}: {exc}"
        finally:
            container.close()
        return True

    def _play_gap(self, seg: Segment, from_time: float, generation: int) -> bool:
        """A black frame at the gap's start (and each second) so the clock moves on."""
        end = seg.start + (seg.duration or 0.0)
        t = from_time
        while t < end - 1e-6:
            if not self._put(_Frame(generation, t, None, seg.label), generation):
                return False
            t += 1.0
        return True

    @staticmethod
    def _convert(frame: Any) -> np.ndarray:
        w, h = frame.width, frame.height
        scale = min(1.0, MAX_DISPLAY_SIDE / max(w, h))
        tw, th = max(2, int(w * scale) // 2 * 2), max(2, int(h * scale) // 2 * 2)
        # RGBA: 4-byte pixels keep every scanline aligned, so the bytes copy straight in
        return frame.to_ndarray(width=tw, height=th, format="rgba")


def _probe_fps(path: Path) -> float:
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            return float(rate) if rate else 24.0
    except (av.error.FFmpegError, OSError, IndexError, ValueError):
        return 24.0
