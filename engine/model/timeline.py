"""The edit of a film as plain data: tracks of clips on integer frames at a rational fps.

Times follow OpenTimelineIO's RationalTime semantics: every position on the timeline is
an integer frame count at ``Timeline.fps`` (a Fraction such as 30 or 30000/1001); a range
is ``[start, end)``. Sources keep their own clock: ``VideoClip.source_in``/``source_out``
are seconds into the source media, so a variable-frame-rate clip or a 16 fps generated
take sits on a 30 fps timeline without rounding drift.

No database, no I/O: ``engine.render.timeline_builder`` builds a Timeline from a project,
the renderer and the OTIO writer read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from engine.model.enums import AudioRole, TransitionKind


class SourceKind:
    """What feeds a video clip: a video file, a still image, or a text slate."""

    VIDEO = "video"
    IMAGE = "image"
    SLATE = "slate"


def frames_to_seconds(frames: int, fps: Fraction) -> float:
    return float(Fraction(frames) / fps)


def seconds_to_frames(seconds: float, fps: Fraction) -> int:
    """Nearest whole frame at ``fps`` (OTIO ``to_frames`` after rounding)."""
    return int(round(Fraction(seconds).limit_denominator(1_000_000) * fps))


def timecode(frames: int, fps: Fraction) -> str:
    """``HH:MM:SS:FF`` for display (non-drop-frame)."""
    nominal = max(1, round(float(fps)))
    ff = frames % nominal
    total = frames // nominal
    return f"{total // 3600:02d}:{total // 60 % 60:02d}:{total % 60:02d}:{ff:02d}"


@dataclass
class VideoClip:
    """One shot's picture on the video track.

    ``record_in``/``record_out`` are timeline frames; the clip shows source seconds
    ``source_in`` … ``source_out`` played at ``speed``. When the source is shorter than
    the record range needs, its last frame is held. ``transition`` is the transition
    *into* this clip; a crossfade of ``transition_frames`` overlaps the previous clip's
    tail, a dip to black fades the previous clip out and this one in.
    """

    shot_id: str
    kind: str  # SourceKind
    media: str | None  # sha256 in the project's media store (None for a slate)
    path: str | None  # absolute path of the media file at build time
    source_in: float  # seconds
    source_out: float  # seconds
    record_in: int  # timeline frames
    record_out: int  # timeline frames, exclusive
    speed: float = 1.0
    transition: TransitionKind = TransitionKind.CUT
    transition_frames: int = 0
    take_id: str | None = None
    label: str = ""  # "1-2" scene-shot, shown on slates and in tools
    slate_text: str = ""  # what a slate shows (the shot's action / dialogue)
    source_width: int | None = None
    source_height: int | None = None
    source_fps: float | None = None
    source_duration: float | None = None  # seconds of media available (None: unbounded)
    has_audio: bool = False
    gain_db: float = 0.0  # for the clip's own sound, if any

    @property
    def duration_frames(self) -> int:
        return self.record_out - self.record_in

    def to_dict(self) -> dict[str, Any]:
        return {
            "shot_id": self.shot_id,
            "kind": self.kind,
            "media": self.media,
            "path": self.path,
            "take_id": self.take_id,
            "label": self.label,
            "source_in": self.source_in,
            "source_out": self.source_out,
            "record_in": self.record_in,
            "record_out": self.record_out,
            "speed": self.speed,
            "transition": str(self.transition),
            "transition_frames": self.transition_frames,
            "gain_db": self.gain_db,
        }


@dataclass
class AudioItem:
    """A sound on an audio track: dialogue, music or effects.

    Starts at timeline frame ``record_in`` and plays ``duration`` seconds of the source
    from ``source_in`` (None = to the end of the source, or to ``record_out`` when
    looping). ``record_out`` bounds it on the timeline (None = the source's length).
    ``speed`` plays the source faster or slower (pitch follows, as a tape would): a video
    clip's own sound at the clip's speed.
    """

    role: AudioRole
    media: str
    path: str
    record_in: int
    record_out: int | None = None
    source_in: float = 0.0
    gain_db: float = 0.0
    fade_in: float = 0.0
    fade_out: float = 0.0
    loop: bool = False
    shot_id: str | None = None
    line_index: int | None = None
    source_duration: float | None = None
    speed: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": str(self.role),
            "media": self.media,
            "path": self.path,
            "record_in": self.record_in,
            "record_out": self.record_out,
            "source_in": self.source_in,
            "gain_db": self.gain_db,
            "fade_in": self.fade_in,
            "fade_out": self.fade_out,
            "loop": self.loop,
            "shot_id": self.shot_id,
            "line_index": self.line_index,
            "speed": self.speed,
        }


@dataclass
class SubtitleItem:
    """One subtitle cue on the subtitle track, ``[record_in, record_out)`` frames."""

    record_in: int
    record_out: int
    text: str
    speaker: str = ""
    shot_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "record_in": self.record_in,
            "record_out": self.record_out,
            "text": self.text,
            "speaker": self.speaker,
            "shot_id": self.shot_id,
        }


@dataclass
class Timeline:
    fps: Fraction
    width: int
    height: int
    video: list[VideoClip] = field(default_factory=list)
    audio: list[AudioItem] = field(default_factory=list)
    subtitles: list[SubtitleItem] = field(default_factory=list)
    duration_frames: int = 0
    title: str = ""
    project_id: str = ""
    language: str = "zh"
    fit: str = "fill"  # how sources of another shape fill the frame: "fill" crops, "fit" pads

    @property
    def duration(self) -> float:
        return frames_to_seconds(self.duration_frames, self.fps)

    def seconds(self, frames: int) -> float:
        return frames_to_seconds(frames, self.fps)

    def clips_at(self, frame: int) -> list[VideoClip]:
        """Video clips covering timeline ``frame`` (two during a crossfade)."""
        return [c for c in self.video if c.record_in <= frame < c.record_out]

    def subtitles_at(self, frame: int) -> list[SubtitleItem]:
        return [s for s in self.subtitles if s.record_in <= frame < s.record_out]

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "project_id": self.project_id,
            "fps": str(self.fps),
            "width": self.width,
            "height": self.height,
            "fit": self.fit,
            "duration_frames": self.duration_frames,
            "duration": self.duration,
            "video": [c.to_dict() for c in self.video],
            "audio": [a.to_dict() for a in self.audio],
            "subtitles": [s.to_dict() for s in self.subtitles],
        }
