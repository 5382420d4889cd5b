"""Enumerations of the domain model. Values are what is stored and shown in the CLI."""

from __future__ import annotations

from enum import StrEnum


class Language(StrEnum):
    CHINESE = "zh"
    ENGLISH = "en"


class Aspect(StrEnum):
    PORTRAIT = "9:16"
    LANDSCAPE = "16:9"
    SQUARE = "1:1"

    def default_resolution(self) -> tuple[int, int]:
        """Working resolution (width, height) for a new project of this aspect."""
        return {
            Aspect.PORTRAIT: (1080, 1920),
            Aspect.LANDSCAPE: (1920, 1080),
            Aspect.SQUARE: (1080, 1080),
        }[self]


class ShotSize(StrEnum):
    EXTREME_WIDE = "EWS"
    WIDE = "WS"
    MEDIUM = "MS"
    MEDIUM_CLOSE_UP = "MCU"
    CLOSE_UP = "CU"
    EXTREME_CLOSE_UP = "ECU"


class CameraAngle(StrEnum):
    EYE_LEVEL = "eye-level"
    HIGH = "high"
    LOW = "low"
    OVERHEAD = "overhead"
    DUTCH = "dutch"
    OVER_THE_SHOULDER = "over-the-shoulder"


class CameraMove(StrEnum):
    STATIC = "static"
    PAN = "pan"
    TILT = "tilt"
    PUSH_IN = "push-in"
    PULL_OUT = "pull-out"
    ORBIT = "orbit"
    TRACK = "track"
    HANDHELD = "handheld"


class ShotStatus(StrEnum):
    DRAFT = "draft"
    READY = "ready"
    QUEUED = "queued"
    GENERATING = "generating"
    GENERATED = "generated"
    APPROVED = "approved"
    STALE = "stale"


class TakeKind(StrEnum):
    GENERATED = "generated"
    IMPORTED = "imported"
    ANIMATIC = "animatic"


class Setting(StrEnum):
    """Interior or exterior, as in a scene heading (INT./EXT., 内/外)."""

    INTERIOR = "INT"
    EXTERIOR = "EXT"
    INTERIOR_EXTERIOR = "INT/EXT"


class TimeOfDay(StrEnum):
    DAY = "day"
    NIGHT = "night"
    DAWN = "dawn"
    DUSK = "dusk"
    MORNING = "morning"
    EVENING = "evening"
    CONTINUOUS = "continuous"
    UNSPECIFIED = ""


class LineKind(StrEnum):
    """What a spoken line is: on-screen dialogue, voice-over / off-screen, or narration."""

    DIALOGUE = "dialogue"
    VOICE_OVER = "voice-over"
    OFF_SCREEN = "off-screen"
    NARRATION = "narration"


class MediaKind(StrEnum):
    VIDEO = "video"
    IMAGE = "image"
    AUDIO = "audio"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class TransitionKind(StrEnum):
    CUT = "cut"
    CROSSFADE = "crossfade"
    DIP_TO_BLACK = "dip-to-black"


class AudioRole(StrEnum):
    DIALOGUE = "dialogue"
    MUSIC = "music"
    EFFECTS = "effects"
