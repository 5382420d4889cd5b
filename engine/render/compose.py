"""The film's pictures, frame by frame, for any range of output frames.

``compose_frames(timeline, geometry, k0, k1)`` yields the yuv420p av.VideoFrames of
output frames ``k0 … k1-1``: sources decoded once each (by timestamp), scaled into the
delivery's size and matrix, blended where transitions and overlays need it. Every time
is computed exactly (fractions) relative to the clips, so the same clip at another place
in the film gives the same pictures — what lets a segment rendered once be reused
(``engine.render.segments``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from engine.jobs.progress import CancelToken
from engine.model import TransitionKind
from engine.model.timeline import SourceKind, Timeline, VideoClip
from engine.render.aigc import AigcOptions
from engine.render.frames import (
    Fitter,
    StillSource,
    VideoSource,
    Yuv,
    crossfade,
    fade_to_black,
    picture_area,
)
from engine.render.overlays import SubtitleOverlays, aigc_label, slate


@dataclass(frozen=True)
class Geometry:
    """What the output frames are: size, rate, YUV matrix, and what is drawn over them."""

    width: int
    height: int
    fps: Fraction
    matrix: str  # "ITU709" / "ITU601" (``engine.render.frames.matrix_for``)
    burn_subtitles: bool = True
    visible_label: bool = True
    # where and when the visible AI label shows (GB 45438-2025; ``engine.render.aigc``)
    label_position: str = "top-left"
    label_span: str = "whole"
    label_at_end: bool = False
    film_seconds: float = 0.0


def frame_at(timeline: Timeline, out_fps: Fraction, k: int) -> int:
    """The timeline frame output frame ``k`` shows."""
    return min(timeline.duration_frames - 1, int(k * timeline.fps // out_fps))


def fades(clips: list[VideoClip]) -> tuple[dict[int, int], dict[int, int]]:
    """Dip-to-black fade lengths: (head frames of clip i, tail frames of clip i)."""
    head: dict[int, int] = {}
    tail: dict[int, int] = {}
    for i, clip in enumerate(clips):
        if i and clip.transition is TransitionKind.DIP_TO_BLACK and clip.transition_frames:
            tail[i - 1] = clip.transition_frames // 2
            head[i] = clip.transition_frames - clip.transition_frames // 2
    return head, tail


def source_time(clip: VideoClip, k: int, out_fps: Fraction, timeline_fps: Fraction) -> float:
    """The source time (seconds) ``clip`` shows at output frame ``k`` (its last frame held
    after its end)."""
    local = max(Fraction(0), Fraction(k) / out_fps - Fraction(clip.record_in) / timeline_fps)
    return min(clip.source_in + float(local) * clip.speed,
               max(clip.source_in, clip.source_out - 1e-3))


def fade_level(i: int, clip: VideoClip, frame: int, head: dict[int, int],
               tail: dict[int, int]) -> float:
    """How much of clip ``i``'s picture shows at timeline ``frame`` in a dip to black
    (1: all of it, 0: black)."""
    level = 1.0
    if i in head and frame - clip.record_in < head[i]:
        level = (frame - clip.record_in + 1) / (head[i] + 1)
    if i in tail and clip.record_out - frame <= tail[i]:
        level = min(level, (clip.record_out - frame - 1) / tail[i])
    return level


def crossfade_weight(incoming: VideoClip, frame: int) -> float:
    """How much of the incoming clip shows at timeline ``frame`` of a crossfade."""
    n = max(1, incoming.transition_frames)
    return (frame - incoming.record_in + 1) / (n + 1)


class _Clips:
    """Opens each clip's source when the clip starts (or at the range's first frame, at
    the source time shown there) and closes it after it ends."""

    def __init__(self, timeline: Timeline, fitter: Fitter, out_fps: Fraction) -> None:
        self.timeline, self.fitter, self.out_fps = timeline, fitter, out_fps
        self.clips = sorted(timeline.video, key=lambda c: c.record_in)
        self.open: dict[int, Any] = {}
        self.next = 0
        self.head, self.tail = fades(self.clips)

    def source_time(self, clip: VideoClip, k: int) -> float:
        return source_time(clip, k, self.out_fps, self.timeline.fps)

    def _open(self, clip: VideoClip, k: int) -> Any:
        if clip.kind == SourceKind.VIDEO and clip.path:
            # started where this range first shows it (decoding forward from there)
            start = self.source_time(clip, k)
            return VideoSource(clip.path, self.fitter, start=start)
        if clip.kind == SourceKind.IMAGE and clip.path:
            return StillSource.from_image(clip.path, self.fitter)
        return slate(self.fitter, clip.label, clip.slate_text)

    def active(self, frame: int, k: int) -> list[int]:
        while self.next < len(self.clips) and self.clips[self.next].record_in <= frame:
            if self.clips[self.next].record_out > frame:
                self.open[self.next] = self._open(self.clips[self.next], k)
            self.next += 1
        for i in [i for i in self.open if self.clips[i].record_out <= frame]:
            self.open.pop(i).close()
        return sorted(i for i in self.open if self.clips[i].record_in <= frame)

    def picture(self, i: int, frame: int, k: int) -> Yuv:
        clip = self.clips[i]
        yuv = self.open[i].at(self.source_time(clip, k))
        level = fade_level(i, clip, frame, self.head, self.tail)
        return yuv if level >= 1.0 else fade_to_black(yuv, level)

    def close(self) -> None:
        for source in self.open.values():
            source.close()
        self.open.clear()


def compose_frames(
    timeline: Timeline, geometry: Geometry, k0: int, k1: int, cancel: CancelToken | None = None,
) -> Iterator[Any]:
    """Output frames ``k0 … k1-1`` as yuv420p av.VideoFrames (pts = k - k0)."""
    cancel = cancel or CancelToken()
    width, height, out_fps = geometry.width, geometry.height, geometry.fps
    fitter = Fitter(width, height, timeline.fit,
                    picture=picture_area(timeline.width, timeline.height, width, height),
                    matrix=geometry.matrix)
    clips = _Clips(timeline, fitter, out_fps)
    subs = SubtitleOverlays(width, height, geometry.matrix)
    cues = sorted(timeline.subtitles, key=lambda c: c.record_in) \
        if geometry.burn_subtitles else []
    label = aigc_label(timeline.language, width, height, geometry.label_position,
                       geometry.matrix) if geometry.visible_label else None
    shown = AigcOptions(position=geometry.label_position, span=geometry.label_span,
                        at_end=geometry.label_at_end)
    black = Yuv.black(width, height)
    time_base = Fraction(1) / out_fps
    try:
        for k in range(k0, k1):
            cancel.check()
            frame_no = frame_at(timeline, out_fps, k)
            active = clips.active(frame_no, k)
            if not active:
                picture = black
            elif len(active) == 1:
                picture = clips.picture(active[0], frame_no, k)
            else:
                a, b = active[-2], active[-1]
                weight = crossfade_weight(clips.clips[b], frame_no)
                picture = crossfade(
                    clips.picture(a, frame_no, k), clips.picture(b, frame_no, k), weight)
            frame, view = picture.into_frame()
            if cues:
                while cues and cues[0].record_out <= frame_no:
                    cues.pop(0)
                on_screen = []
                for cue in cues:
                    if cue.record_in > frame_no:
                        break
                    if frame_no < cue.record_out:
                        on_screen.append(cue)
                subs.keep_only({(c.text, c.speaker) for c in on_screen})
                for cue in on_screen:
                    overlay = subs.get(cue.text, cue.speaker)
                    if overlay is not None:
                        overlay.apply(view)
            if label is not None and shown.shown_at(float(k / out_fps), geometry.film_seconds):
                label.apply(view)
            frame.pts = k - k0
            frame.time_base = time_base
            yield frame
    finally:
        clips.close()


def first_output_frame(timeline: Timeline, out_fps: Fraction, frame: int) -> int:
    """The first output frame showing timeline frame ``frame`` or later."""
    return max(0, math.ceil(Fraction(frame) * out_fps / timeline.fps))
