"""Read an edit made in another editor back: OTIO, FCP7 XML, FCPXML, EDL, 剪映 drafts.

``read_edit(path, fps)`` returns the picture track as Storyreel sees a clip: where it
starts on the timeline and how long it lasts (a crossfade's overlap included), which
source frames it shows (at normal speed, as the project's trims count them), its speed
when the format carries one, and the transition into it. Files are read with the same
official adapters that wrote them; an unreadable file raises EditReadError (one
sentence) before anything is applied.

Transitions come back from OTIO's model (a transition reaches ``in_offset`` before the
cut and ``out_offset`` after it, into the clips' handles): between two clips it is a
crossfade of ``in + out`` frames, the outgoing clip ``out`` longer and the incoming one
starting ``in`` earlier; a fade out to a black gap and a fade in from it is a dip to
black of the gap's length (as the hand-off writes it where the format has no dip).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from engine.errors import StoryreelError
from engine.interchange.otio import DIP_NAME, SCHEMA_KEY
from engine.model import TransitionKind

ADAPTERS = {".otio": "otio_json", ".xml": "fcp_xml", ".fcpxml": "fcpx_xml", ".edl": "cmx_3600"}
_ID_IN_NAME = re.compile(r"\[([0-9a-fA-F-]{8,})\]\s*$")
_LABEL_IN_NAME = re.compile(r"^(?:Shot\s+)?(\S+?)(?:\s*\[.*\])?(?:\.\w+)?$")


class EditReadError(StoryreelError):
    """An edit file could not be read; nothing was applied."""


@dataclass
class EditedClip:
    name: str
    shot_id: str | None  # from the clip's metadata or name, when it carries one
    record_in: int  # timeline frames
    length: int  # frames on the timeline (a crossfade's overlap included)
    source_start: float  # first source frame shown after the cut, at the timeline rate
    speed: float | None  # None: the format does not carry speed
    transition: TransitionKind = TransitionKind.CUT  # into this clip
    transition_frames: int = 0
    reach: int = 0  # frames the clip starts before the cut (into its head handle)

    def source_in(self, speed: float | None = None) -> float:
        """Source frames (normal speed) where the clip starts, handle included; ``speed``
        stands in where the format carried none."""
        return self.source_start - self.reach * (self.speed or speed or 1.0)

    @property
    def label(self) -> str:
        """The shot label in a clip name like ``Shot 1-2`` (or the name itself)."""
        m = _LABEL_IN_NAME.match(self.name.strip())
        return m.group(1) if m else self.name.strip()


@dataclass
class EditedTimeline:
    format: str
    fps: Fraction
    clips: list[EditedClip] = field(default_factory=list)


def read_edit(path: Path | str, fps: Fraction) -> EditedTimeline:
    """The picture track of an edit file (or 剪映 draft folder) at ``fps``."""
    path = Path(path)
    if path.is_dir() or path.name == "draft_content.json":
        return _read_jianying(path, fps)
    if not path.is_file():
        raise EditReadError(f"{path} does not exist.")
    adapter = ADAPTERS.get(path.suffix.lower())
    if adapter is None:
        raise EditReadError(f"{path.name}: not an edit Storyreel reads (.otio, .xml, .fcpxml, "
                            ".edl, or a 剪映 draft folder).")
    import opentimelineio as otio

    kwargs: dict[str, Any] = {"rate": float(fps)} if adapter == "cmx_3600" else {}
    try:
        tl = otio.adapters.read_from_file(str(path), adapter_name=adapter, **kwargs)
    except Exception as exc:  # every adapter raises its own errors on a bad file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EditReadError(f"{path.name} could not be read as {adapter}: {first}") from exc
    if isinstance(tl, otio.schema.SerializableCollection):
        timelines = list(tl.find_children(descended_from_type=otio.schema.Timeline)) \
            if hasattr(tl, "find_children") else [t for t in tl
                                                  if isinstance(t, otio.schema.Timeline)]
        if not timelines:
            raise EditReadError(f"{path.name} holds no sequence.")
        tl = timelines[0]
    if not isinstance(tl, otio.schema.Timeline) or not tl.video_tracks():
        raise EditReadError(f"{path.name} has no video track.")
    return EditedTimeline(adapter, Fraction(fps), _from_track(otio, tl.video_tracks()[0], fps))


def _frames(t: Any, fps: Fraction) -> float:
    return float(t.value) * float(fps) / float(t.rate)


def _from_track(otio: Any, track: Any, fps: Fraction) -> list[EditedClip]:
    items = list(track)
    clips: list[EditedClip] = []
    index_of: dict[int, EditedClip] = {}
    position = 0.0
    for idx, item in enumerate(items):
        if isinstance(item, otio.schema.Transition):
            continue
        dur = _frames(item.duration(), fps)
        if isinstance(item, otio.schema.Clip):
            speed = None
            for effect in item.effects:
                if isinstance(effect, otio.schema.LinearTimeWarp):
                    speed = float(effect.time_scalar)
            meta = item.metadata.get(SCHEMA_KEY) or {}
            shot_id = meta.get("shot_id") if hasattr(meta, "get") else None
            if not shot_id and (m := _ID_IN_NAME.search(item.name or "")):
                shot_id = m.group(1)
            start = _frames(item.source_range.start_time, fps) if item.source_range else 0.0
            clip = EditedClip(item.name or "", shot_id, round(position), round(dur), start,
                              speed)
            clips.append(clip)
            index_of[idx] = clip
        position += dur
    for idx, item in enumerate(items):
        if not isinstance(item, otio.schema.Transition):
            continue
        before = items[idx - 1] if idx > 0 else None
        after = items[idx + 1] if idx + 1 < len(items) else None
        i = round(_frames(item.in_offset, fps))
        o = round(_frames(item.out_offset, fps))
        a, b = index_of.get(idx - 1), index_of.get(idx + 1)
        meta = item.metadata.get(SCHEMA_KEY)
        is_dip = item.name == DIP_NAME or (
            hasattr(meta, "get") and meta.get("transition") == str(TransitionKind.DIP_TO_BLACK))
        if a is not None and b is not None:
            if is_dip:
                b.transition, b.transition_frames = TransitionKind.DIP_TO_BLACK, i + o
                continue
            a.length += o
            _reach_back(b, i)
            b.transition, b.transition_frames = TransitionKind.CROSSFADE, i + o
        elif a is not None and isinstance(after, otio.schema.Gap):
            a.length += o  # fade out into black: the clip plays on into its handle
            a_out = o
            follow = idx + 2
            if follow + 1 < len(items) and isinstance(items[follow], otio.schema.Transition) \
                    and (c := index_of.get(follow + 1)) is not None:
                c_in = round(_frames(items[follow].in_offset, fps))
                _reach_back(c, c_in)
                c.transition, c.transition_frames = TransitionKind.DIP_TO_BLACK, a_out + c_in
        elif b is not None and isinstance(before, otio.schema.Gap) and (
                b.transition is TransitionKind.CUT):
            _reach_back(b, i)  # a fade in from black at the start
            b.transition, b.transition_frames = TransitionKind.DIP_TO_BLACK, i
    return clips


def _reach_back(clip: EditedClip, frames: int) -> None:
    clip.record_in -= frames
    clip.length += frames
    clip.reach += frames


def _read_jianying(path: Path, fps: Fraction) -> EditedTimeline:
    from engine.interchange.jianying import US, JianyingError, read_draft

    try:
        data = read_draft(path)
    except JianyingError as exc:
        raise EditReadError(str(exc)) from None
    try:
        materials = data.get("materials", {})
        names = {m["id"]: m.get("material_name", "") for m in materials.get("videos", [])}
        speeds = {m["id"]: float(m.get("speed", 1.0)) for m in materials.get("speeds", [])}
        transitions = {m["id"]: m for m in materials.get("transitions", [])}
        video = next(t for t in data.get("tracks", []) if t.get("type") == "video")
        segments = sorted(video.get("segments", []), key=lambda s: s["target_timerange"]["start"])
        to_frames = lambda us: float(Fraction(int(us)) * fps / US)  # noqa: E731
        clips: list[EditedClip] = []
        pending: tuple[TransitionKind, int] | None = None
        for seg in segments:
            name = names.get(seg.get("material_id"), "")
            refs = seg.get("extra_material_refs", [])
            speed = round(next((speeds[r] for r in refs if r in speeds),
                               float(seg.get("speed", 1.0))), 4)
            target, source = seg["target_timerange"], seg.get("source_timerange") or {}
            m = _ID_IN_NAME.search(name)
            clip = EditedClip(name, m.group(1) if m else None, round(to_frames(target["start"])),
                              round(to_frames(target["duration"])),
                              to_frames(source.get("start", 0)), speed)
            if pending is not None:
                kind, n = pending
                if kind is TransitionKind.CROSSFADE:
                    _reach_back(clip, n)
                clip.transition, clip.transition_frames = kind, n
            pending = None
            for ref in refs:
                if ref in transitions:
                    t = transitions[ref]
                    n = round(to_frames(t.get("duration", 0)))
                    kind = TransitionKind.CROSSFADE if t.get("is_overlap") else \
                        TransitionKind.DIP_TO_BLACK
                    pending = (kind, n) if n > 0 else None
            clips.append(clip)
    except (KeyError, TypeError, ValueError, StopIteration) as exc:
        raise EditReadError(f"{path}: not a 剪映 draft Storyreel can read ({exc!r}).") from None
    return EditedTimeline("jianying", Fraction(fps), clips)
