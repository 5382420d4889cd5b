"""The film as a 剪映 (JianYing / CapCut China) draft, written with ``pyJianYingDraft``.

A draft is a folder holding ``draft_content.json`` and ``draft_meta_info.json``; 剪映专业版
5.x and later open one copied into their drafts folder (6+ encrypt drafts they save, but
open plain ones they are given). What it holds:

- a video track, one segment per shot: source in/out and speed (source range over target
  range), the clip's own sound as the segment's volume; a crossfade is 剪映's 叠化 on the
  outgoing segment, cut like OTIO's (the incoming segment starts at the cut, ``n × speed``
  later into its source); a dip to black is 闪黑; a slate is its card as a still;
- audio tracks for dialogue, music and effects (one per lane where sounds overlap) with
  their gains (volume) and fades, loops repeated;
- a text track with the subtitles, white with a dark border, bottom-centred like the
  burned-in ones.

No CapCut (international) variant: pyJianYingDraft 0.3.1 writes 剪映 drafts only — its
template is 剪映专业版 5.9's (``platform.app_source = "lv"``, app id 3704), its transition,
effect and font tables carry 剪映's resource ids, and its README points CapCut users to a
separate, early project (pyCapCut). A draft relabelled by hand as CapCut's would reference
effects CapCut does not have, so Storyreel does not write one.

Every time is in microseconds, converted from timeline frames with exact fractions, so the
draft lasts exactly as long as the film. Material names carry the shot label and id
(``Shot 1-2 [id]``), so an edit made in 剪映 can be read back and matched.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from engine.errors import StoryreelError
from engine.model import AudioRole, TransitionKind
from engine.model.timeline import AudioItem, SourceKind, Timeline

CONTENT = "draft_content.json"
META = "draft_meta_info.json"
US = 1_000_000


class JianyingError(StoryreelError):
    """The draft could not be written or read."""


@dataclass
class DraftReport:
    folder: Path
    duration_us: int
    video_segments: int
    audio_segments: int
    text_segments: int
    materials: list[str] = field(default_factory=list)


def frames_to_us(frames: int, fps: Fraction) -> int:
    return int(round(Fraction(frames) * US / Fraction(fps)))


def material_name(label: str, shot_id: str) -> str:
    return f"Shot {label} [{shot_id}]"


def _lib() -> Any:
    try:
        import pyJianYingDraft as draft
    except ImportError as exc:  # pragma: no cover - a dependency of the base install
        raise JianyingError(f"pyJianYingDraft is not installed ({exc}).") from exc
    return draft


def _end_of(timeline: Timeline, item: AudioItem) -> int:
    if item.record_out is not None:
        return min(item.record_out, timeline.duration_frames)
    length = (item.source_duration or 0.0) - item.source_in
    return min(timeline.duration_frames,
               item.record_in + max(1, math.ceil(length * float(timeline.fps))))


def create_draft(timeline: Timeline, folder: Path) -> Any:
    """Make the new draft folder ``folder`` (its name is the draft's name); returns the
    draft's script to fill with ``write_draft``."""
    draft = _lib()
    folder = Path(folder)
    root = draft.DraftFolder(str(folder.parent))
    return root.create_draft(folder.name, timeline.width, timeline.height,
                             fps=max(1, round(float(timeline.fps))))


def write_draft(timeline: Timeline, script: Any, folder: Path, *,
                resolve: Callable[[str], str], slates: dict[str, str]) -> DraftReport:
    """Fill and save the draft made by ``create_draft`` in ``folder``. ``resolve`` maps a
    media path to the absolute path the draft refers to (the project's file, or its copy
    in a bundle); ``slates`` maps slate shots to their card stills."""
    draft = _lib()
    from engine.interchange.otio import _lanes

    fps = Fraction(timeline.fps)
    us = lambda frames: frames_to_us(frames, fps)  # noqa: E731
    folder = Path(folder)
    video = script.append_track(draft.TrackSpec(draft.TrackType.video, name="Video"))
    materials: list[str] = []
    clips = sorted(timeline.video, key=lambda c: c.record_in)
    own_sound = {(a.shot_id, a.path): a for a in timeline.audio
                 if a.role is AudioRole.EFFECTS and a.shot_id}
    segments: list[Any] = []
    for i, clip in enumerate(clips):
        nxt = clips[i + 1] if i + 1 < len(clips) else None
        head = clip.transition_frames if (
            clip.transition is TransitionKind.CROSSFADE and i > 0) else 0
        path = clip.path if clip.kind != SourceKind.SLATE else slates.get(clip.shot_id)
        if not path:
            raise JianyingError(f"Shot {clip.label} has no picture to put in the draft.")
        material = draft.VideoMaterial(resolve(path),
                                       material_name=material_name(clip.label, clip.shot_id))
        materials.append(material.path)
        start = us(clip.record_in + head)
        end = us(clip.record_out)
        if nxt is not None and nxt.transition is TransitionKind.CROSSFADE:
            end = min(end, us(nxt.record_in + nxt.transition_frames))
        target = draft.Timerange(start, end - start)
        if clip.kind == SourceKind.VIDEO:
            src_in = round(Fraction(clip.source_in).limit_denominator(US) * US
                           + Fraction(head) * US / fps * Fraction(clip.speed))
            length = round((end - start) * clip.speed)
            length = max(1, min(length, material.duration - src_in))
            source = draft.Timerange(src_in, length)
        else:
            source = draft.Timerange(0, end - start)
        sound = own_sound.get((clip.shot_id, clip.path))
        volume = 10 ** (sound.gain_db / 20) if sound is not None else 0.0
        segment = draft.VideoSegment(material, target, source_timerange=source,
                                     volume=volume if clip.kind == SourceKind.VIDEO else 1.0)
        if nxt is not None and nxt.transition_frames > 0:
            if nxt.transition is TransitionKind.CROSSFADE:
                segment.add_transition(draft.TransitionType.叠化,
                                       duration=us(nxt.transition_frames))
            elif nxt.transition is TransitionKind.DIP_TO_BLACK:
                segment.add_transition(draft.TransitionType.闪黑,
                                       duration=us(nxt.transition_frames))
        script.add_segment(segment, video)
        segments.append(segment)

    audio_count = 0
    for role in (AudioRole.DIALOGUE, AudioRole.MUSIC, AudioRole.EFFECTS):
        items = [a for a in timeline.audio if a.role is role
                 and a.record_in < timeline.duration_frames
                 and (a.shot_id, a.path) not in {(c.shot_id, c.path) for c in clips}]
        end_of = lambda a: _end_of(timeline, a)  # noqa: E731
        for lane_no, lane in enumerate(_lanes(items, end_of), start=1):
            track = script.append_track(draft.TrackSpec(
                draft.TrackType.audio, name=f"{str(role).capitalize()} {lane_no}"))
            for item in lane:
                audio_count += _add_audio(draft, script, track, item, us(item.record_in),
                                          us(end_of(item)), resolve, materials)

    texts = script.append_track(draft.TrackSpec(draft.TrackType.text, name="Subtitles"))
    style = draft.TextStyle(size=8.0, color=(1.0, 1.0, 1.0), align=1, auto_wrapping=True,
                            max_line_width=0.82)
    border = draft.TextBorder(color=(0.0, 0.0, 0.0), width=40.0)
    # burned-in subtitles sit in the lower safe area: 剪映's own subtitle position
    place = draft.ClipSettings(transform_y=-0.62 if timeline.height > timeline.width else -0.8)
    cues = sorted(timeline.subtitles, key=lambda c: c.record_in)
    count_text = 0
    for k, cue in enumerate(cues):
        start = us(cue.record_in)
        end = us(cue.record_out)
        if k + 1 < len(cues):
            end = min(end, us(cues[k + 1].record_in))  # one text track: no overlaps
        if end <= start:
            continue
        script.add_segment(draft.TextSegment(
            cue.text, draft.Timerange(start, end - start), style=style, border=border,
            clip_settings=place), texts)
        count_text += 1
    script.duration = us(timeline.duration_frames)
    # the library's template carries one fixed id: each draft gets its own, or 剪映
    # takes two hand-offs for the same draft
    script.content["id"] = draft_id = str(uuid.uuid4()).upper()
    script.content["name"] = folder.name
    script.save()
    _write_meta(folder, draft_id, script.duration)
    return DraftReport(folder, script.duration, len(segments), audio_count, count_text,
                       materials)


def _add_audio(draft: Any, script: Any, track: Any, item: AudioItem, start: int, end: int,
               resolve: Callable[[str], str], materials: list[str]) -> int:
    material = draft.AudioMaterial(resolve(item.path))
    materials.append(material.path)
    src_in = round(item.source_in * US)
    speed = item.speed or 1.0
    count = 0
    position = start
    while position < end:
        room = material.duration - src_in
        if room <= 0:
            break
        target_len = min(end - position, int(room / speed))
        if target_len <= 0:
            break
        source_len = min(room, max(1, round(target_len * speed)))
        segment = draft.AudioSegment(
            material, draft.Timerange(position, target_len),
            source_timerange=draft.Timerange(src_in, source_len),
            volume=10 ** (item.gain_db / 20))
        fade_in = round(item.fade_in * US) if count == 0 else 0
        fade_out = round(item.fade_out * US) if position + target_len >= end else 0
        if fade_in or fade_out:
            segment.add_fade(min(fade_in, target_len), min(fade_out, target_len))
        script.add_segment(segment, track)
        count += 1
        position += target_len
        if not item.loop:
            break
        src_in = 0  # a loop starts again from the top
    return count


def _write_meta(folder: Path, draft_id: str, duration_us: int) -> None:
    meta_path = folder / META
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta.update({
        "draft_id": draft_id,
        "draft_name": folder.name,
        "draft_fold_path": str(folder.resolve()),
        "draft_root_path": str(folder.resolve().parent),
        "tm_duration": duration_us,
    })
    meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=4), encoding="utf-8")


def read_draft(folder: Path) -> dict[str, Any]:
    """A draft's ``draft_content.json`` as data (plain JSON only: 剪映 6+ encrypts the
    drafts it saves, and those cannot be read back)."""
    path = Path(folder)
    if path.is_dir():
        path = path / CONTENT
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise JianyingError(f"{path} does not exist.") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise JianyingError(
            f"{path} is not plain JSON: 剪映 6 and later encrypt the drafts they save; "
            "export XML or EDL from 剪映 instead, or use a draft saved by 剪映 5.") from None
