"""Plain domain objects of a Storyreel project."""

from __future__ import annotations

from engine.model.entities import (
    AudioPlacement,
    Character,
    ClipEdit,
    Costume,
    DialogueLine,
    Episode,
    Job,
    Location,
    MediaAsset,
    Project,
    Scene,
    Shot,
    Take,
    VoiceClip,
    VoiceProfile,
    new_id,
)
from engine.model.enums import (
    Aspect,
    AudioRole,
    CameraAngle,
    CameraMove,
    JobStatus,
    Language,
    LineKind,
    MediaKind,
    Setting,
    ShotSize,
    ShotStatus,
    TakeKind,
    TimeOfDay,
    TransitionKind,
)

__all__ = [
    "Aspect", "AudioPlacement", "AudioRole", "CameraAngle", "CameraMove", "Character",
    "ClipEdit", "Costume", "DialogueLine", "Episode", "Job", "JobStatus", "Language",
    "LineKind", "Location", "MediaAsset",
    "MediaKind", "Project", "Scene", "Setting", "Shot", "ShotSize", "ShotStatus", "Take",
    "TakeKind", "TimeOfDay", "TransitionKind", "VoiceClip", "VoiceProfile", "new_id",
]
