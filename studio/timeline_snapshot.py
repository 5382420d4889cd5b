"""What the timeline shows, read from the store off the UI thread.

``read_snapshot(store, episode)`` builds the Timeline (``build_timeline``) and reads the rows
its tracks show (statuses, trims, placements, dialogue text, media names, thumbnails) into a
``_Snapshot``; safe on a worker thread, it never touches a widget.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from engine.errors import StoryreelError
from engine.model import AudioPlacement, ClipEdit, MediaAsset, Shot, ShotStatus, Take, VoiceClip
from engine.model.timeline import SourceKind, Timeline, VideoClip, seconds_to_frames
from engine.render.timeline_builder import build_timeline


@dataclass
class _Snapshot:
    """Everything the tracks show, read from the store off the UI thread."""

    timeline: Timeline | None
    error: str
    fps: Fraction
    statuses: dict[str, ShotStatus] = field(default_factory=dict)
    trims: dict[str, tuple[int, int]] = field(default_factory=dict)
    placements: list[AudioPlacement] = field(default_factory=list)
    lines: dict[tuple[str, int], str] = field(default_factory=dict)
    media_names: dict[str, str] = field(default_factory=dict)
    thumbnails: dict[str, str | None] = field(default_factory=dict)  # take id → PNG path


def placement_start(placement: AudioPlacement, timeline: Timeline) -> int:
    """Timeline frame where a music/effects placement starts."""
    start = 0
    for clip in timeline.video:
        if clip.shot_id == placement.from_shot:
            start = clip.record_in
            break
    return start + seconds_to_frames(placement.offset, timeline.fps)


def read_snapshot(store: Any, episode: int | None = None) -> _Snapshot:
    """Read the timeline (of one episode, in a series) and the rows its tracks show (safe
    on a worker thread)."""
    timeline: Timeline | None = None
    error = ""
    try:
        timeline = build_timeline(store, episode)
        fps = Fraction(timeline.fps)
        snap = _Snapshot(timeline, error, fps)
        snap.statuses = {s.id: s.status for s in store.all(Shot)}
        snap.trims = {e.shot_id: (e.trim_in, e.trim_out) for e in store.all(ClipEdit)}
        snap.placements = store.all(AudioPlacement)
        snap.lines = {(v.shot_id, v.line_index): v.text for v in store.all(VoiceClip)}
        if timeline is not None:
            for sha in {a.media for a in timeline.audio}:
                asset = store.get(MediaAsset, sha)
                snap.media_names[sha] = asset.original_name if asset and asset.original_name \
                    else sha[:8]
            for clip in timeline.video:
                snap.thumbnails[clip.take_id or ""] = _thumbnail_path(store, clip)
        return snap
    except StoryreelError as exc:
        return _Snapshot(None, str(exc), Fraction(30))
    except Exception as exc:  # noqa: BLE001 - e.g. the project was closed under us
        return _Snapshot(None, f"The timeline could not be read: {exc}", Fraction(30))


def _thumbnail_path(store: Any, clip: VideoClip) -> str | None:
    if not clip.take_id:
        return None
    take = store.get(Take, clip.take_id)
    try:
        if take is not None and take.thumbnail:
            return str(store.media_path(take.thumbnail))
    except StoryreelError:
        return None
    if clip.kind == SourceKind.IMAGE and clip.path:
        return clip.path
    return None
