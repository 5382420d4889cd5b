"""The edit as an OpenTimelineIO file, so it continues in Resolve, Premiere or Kdenlive.

One video track (a clip per shot, media as file:// URLs, source in/out in timeline
frames, speed as a LinearTimeWarp, crossfades as SMPTE dissolves, a dip to black as a
"Dip to Black" transition centred on the cut), audio tracks for
dialogue, music and effects (extra lanes where sounds overlap), and the subtitles as
markers on the timeline's stack. Storyreel's own facts ride along in ``metadata
["storyreel"]`` so nothing is lost on a round trip.

Crossfades follow OTIO's model: the transition sits before the cut (``in_offset``) and
the incoming clip reaches back into its handle, so the incoming clip's ``source_range``
starts ``n × speed`` frames after its source in and is ``n`` frames shorter; the track's
duration equals the film's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.model import AudioRole, TransitionKind
from engine.model.timeline import AudioItem, SourceKind, Timeline, VideoClip

SCHEMA_KEY = "storyreel"
DIP_NAME = "Dip to Black"

MediaUrl = Callable[[str], str]


def file_url(path: str) -> str:
    """A media file's reference: an absolute file:// URL (what editors expect)."""
    return Path(path).resolve().as_uri()


def _rate(timeline: Timeline) -> float:
    return float(timeline.fps)


def _reference(otio: Any, path: str | None, rate: float, duration: float | None,
               media_url: MediaUrl = file_url) -> Any:
    if not path:
        return otio.schema.MissingReference()
    available = None
    if duration:
        available = otio.opentime.TimeRange(
            otio.opentime.RationalTime(0, rate),
            otio.opentime.RationalTime(round(duration * rate), rate),
        )
    return otio.schema.ExternalReference(
        target_url=media_url(path), available_range=available
    )


def _video_clip(otio: Any, clip: VideoClip, rate: float, head_cut: int,
                media_url: MediaUrl, slates: dict[str, str]) -> Any:
    rt = otio.opentime.RationalTime
    start = round(clip.source_in * rate) + round(head_cut * clip.speed)
    duration = clip.duration_frames - head_cut
    media = clip.path if clip.kind != SourceKind.SLATE else slates.get(clip.shot_id)
    item = otio.schema.Clip(
        name=f"Shot {clip.label}" if clip.label else clip.shot_id,
        # a still has no length of its own: editors want one, so it lasts the clip
        media_reference=_reference(
            otio, media, rate, clip.source_duration or (start + duration) / rate, media_url),
        source_range=otio.opentime.TimeRange(rt(start, rate), rt(duration, rate)),
    )
    if abs(clip.speed - 1.0) > 1e-6:
        item.effects.append(otio.schema.LinearTimeWarp(time_scalar=clip.speed))
    item.metadata[SCHEMA_KEY] = {
        "shot_id": clip.shot_id,
        "take_id": clip.take_id,
        "media": clip.media,
        "kind": clip.kind,
        "record_in": clip.record_in,
        "record_out": clip.record_out,
        "transition": str(clip.transition),
        "transition_frames": clip.transition_frames,
        "slate_text": clip.slate_text if clip.kind == SourceKind.SLATE else "",
    }
    return item


def _lanes(items: list[AudioItem], end_of: Any) -> list[list[AudioItem]]:
    """Spread sounds over as few lanes as possible with no overlap inside a lane."""
    lanes: list[list[AudioItem]] = []
    for item in sorted(items, key=lambda a: a.record_in):
        for lane in lanes:
            if end_of(lane[-1]) <= item.record_in:
                lane.append(item)
                break
        else:
            lanes.append([item])
    return lanes


def _audio_name(item: AudioItem, labels: dict[str, str]) -> str:
    """A sound's clip name: a line names its shot ("Line 1-2 #1"), others their file."""
    label = labels.get(item.shot_id or "")
    if item.role is AudioRole.DIALOGUE and label:
        line = "narration" if (item.line_index or 0) < 0 else f"#{(item.line_index or 0) + 1}"
        return f"Line {label} {line}"
    if item.role is AudioRole.EFFECTS and label:
        return f"Sound of shot {label}"
    return Path(item.path).name


def build_otio(timeline: Timeline, media_root: Path | None = None, *,
               media_url: MediaUrl = file_url, slates: dict[str, str] | None = None) -> Any:
    """An ``opentimelineio.schema.Timeline`` of the film. ``media_url`` turns a media
    path into its reference (file:// URL by default; relative in a bundle); ``slates``
    maps a slate shot's id to a still picture of its card (else a MissingReference)."""
    slates = slates or {}
    import opentimelineio as otio

    rate = _rate(timeline)
    rt = otio.opentime.RationalTime
    tl = otio.schema.Timeline(name=timeline.title or "Storyreel film")
    tl.global_start_time = rt(0, rate)
    tl.metadata[SCHEMA_KEY] = {
        "project_id": timeline.project_id,
        "fps": str(timeline.fps),
        "width": timeline.width,
        "height": timeline.height,
        "media_root": str(media_root) if media_root else None,
        "aigc": True,
    }
    video = otio.schema.Track(name="Video", kind=otio.schema.TrackKind.Video)
    clips = sorted(timeline.video, key=lambda c: c.record_in)
    position = 0
    for clip in clips:
        head_cut = 0
        if clip.transition is TransitionKind.CROSSFADE and clip.transition_frames and video:
            n = clip.transition_frames
            video.append(otio.schema.Transition(
                name="Crossfade",
                transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                in_offset=rt(n, rate), out_offset=rt(0, rate),
            ))
            head_cut = n
        elif clip.transition is TransitionKind.DIP_TO_BLACK and clip.transition_frames and video:
            n = clip.transition_frames
            # fades the outgoing clip out over n//2 frames and this one in over the rest:
            # no overlap of pictures, so neither clip reaches into a handle
            video.append(otio.schema.Transition(
                name=DIP_NAME, transition_type=otio.schema.TransitionTypes.Custom,
                in_offset=rt(n // 2, rate), out_offset=rt(n - n // 2, rate),
                metadata={SCHEMA_KEY: {"transition": str(TransitionKind.DIP_TO_BLACK)}},
            ))
        if clip.record_in + head_cut > position:
            video.append(otio.schema.Gap(
                source_range=otio.opentime.TimeRange(
                    rt(0, rate), rt(clip.record_in + head_cut - position, rate))))
        video.append(_video_clip(otio, clip, rate, head_cut, media_url, slates))
        position = clip.record_out
    tl.tracks.append(video)

    labels = {c.shot_id: c.label for c in timeline.video}

    def end_of(item: AudioItem) -> int:
        if item.record_out is not None:
            return min(item.record_out, timeline.duration_frames)
        length = (item.source_duration or 0.0) - item.source_in
        return min(timeline.duration_frames, item.record_in + max(1, round(length * rate)))

    for role in (AudioRole.DIALOGUE, AudioRole.MUSIC, AudioRole.EFFECTS):
        items = [a for a in timeline.audio
                 if a.role is role and a.record_in < timeline.duration_frames]
        for lane_no, lane in enumerate(_lanes(items, end_of), start=1):
            track = otio.schema.Track(
                name=f"{str(role).capitalize()} {lane_no}", kind=otio.schema.TrackKind.Audio)
            position = 0
            for item in lane:
                if item.record_in > position:
                    track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(
                        rt(0, rate), rt(item.record_in - position, rate))))
                end = end_of(item)
                clip = otio.schema.Clip(
                    name=_audio_name(item, labels),
                    media_reference=_reference(otio, item.path, rate, item.source_duration,
                                               media_url),
                    source_range=otio.opentime.TimeRange(
                        rt(round(item.source_in * rate), rate), rt(end - item.record_in, rate)),
                )
                clip.metadata[SCHEMA_KEY] = {
                    "role": str(item.role), "media": item.media, "gain_db": item.gain_db,
                    "fade_in": item.fade_in, "fade_out": item.fade_out, "loop": item.loop,
                    "shot_id": item.shot_id, "line_index": item.line_index,
                }
                track.append(clip)
                position = end
            tl.tracks.append(track)

    for cue in sorted(timeline.subtitles, key=lambda c: c.record_in):
        marker = otio.schema.Marker(
            name=cue.text,
            marked_range=otio.opentime.TimeRange(
                rt(cue.record_in, rate), rt(cue.record_out - cue.record_in, rate)),
            color=otio.schema.MarkerColor.YELLOW,
        )
        marker.metadata[SCHEMA_KEY] = {
            "subtitle": cue.text, "speaker": cue.speaker, "shot_id": cue.shot_id}
        tl.tracks.markers.append(marker)
    return tl


def write_otio(timeline: Timeline, path: Path | str, media_root: Path | None = None) -> Path:
    """Write the film's edit as an ``.otio`` (JSON) file at ``path``."""
    import opentimelineio as otio

    path = Path(path)
    otio.adapters.write_to_file(build_otio(timeline, media_root), str(path),
                                adapter_name="otio_json")
    return path
