"""Plain domain objects. No database, no Qt: the store maps these to rows.

Every entity has a stable UUID (``id``) that survives renames, reorders and round trips
through pack/unpack. Media is referenced by the sha256 of its bytes (see MediaAsset).
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

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


def new_id() -> str:
    return str(uuid.uuid4())


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class VoiceProfile:
    """How a character (or the narrator) sounds.

    ``backend`` names a TTS backend ("espeak", "piper", or "" for the project default);
    ``voice`` is backend specific (an espeak voice name, a piper model path...).
    ``rate`` is a speed factor (1.0 = normal), ``pitch`` in semitones, ``volume`` in dB.
    """

    backend: str = ""
    voice: str = ""
    rate: float = 1.0
    pitch: float = 0.0
    volume: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> VoiceProfile:
        data = data or {}
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        # stored JSON is untrusted: numbers must be numbers (ValueError/TypeError otherwise)
        for name in ("rate", "pitch", "volume"):
            if name in values:
                if isinstance(values[name], bool) or not isinstance(values[name], int | float):
                    raise ValueError(f"{name} {values[name]!r} is not a number")
                values[name] = float(values[name])
        for name in ("backend", "voice"):
            if name in values and not isinstance(values[name], str):
                raise ValueError(f"{name} {values[name]!r} is not text")
        return cls(**values)


@dataclass
class Project:
    title: str = "Untitled"
    language: Language = Language.CHINESE
    aspect: Aspect = Aspect.PORTRAIT
    width: int = 1080
    height: int = 1920
    fps: Fraction = Fraction(30, 1)
    style: str = ""
    logline: str = ""
    script_text: str = ""
    narrator_voice: VoiceProfile = field(default_factory=VoiceProfile)
    settings: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=new_id)
    version: int = field(default=0, compare=False, repr=False)  # row version; 0 = unsaved
    created_at: str = field(default_factory=utc_now)


@dataclass
class Character:
    name: str
    age: str = ""
    gender: str = ""
    appearance: str = ""
    costume: str = ""  # the default costume; Costume rows vary it per episode or scene
    personality: str = ""
    role: str = ""  # who they are to the others (苏晴的母亲): never drawn, never in prompts
    # English looks for CLIP-based models in a Chinese project (the LLM planner or the user
    # fills them; one language per prompt)
    appearance_en: str = ""
    costume_en: str = ""
    description: str = ""
    voice: VoiceProfile = field(default_factory=VoiceProfile)
    reference_images: list[str] = field(default_factory=list)  # media sha256, in order
    lora_path: str | None = None
    locked: bool = False  # user-edited: the planner must not overwrite it
    id: str = field(default_factory=new_id)
    version: int = field(default=0, compare=False, repr=False)  # row version; 0 = unsaved


@dataclass
class Episode:
    """One episode of the series (a 微短剧 has 20–100): scenes are numbered within it."""

    number: int
    title: str = ""
    logline: str = ""
    script_text: str = ""  # the text last imported for this episode alone (--episode N)
    id: str = field(default_factory=new_id)
    version: int = field(default=0, compare=False, repr=False)  # row version; 0 = unsaved


@dataclass
class Location:
    """A place: the same place in any episode is one location (made from scene headings).
    Its description goes into prompts; its first reference image is the animatic backdrop."""

    name: str
    description: str = ""
    reference_images: list[str] = field(default_factory=list)  # media sha256, in order
    id: str = field(default_factory=new_id)
    version: int = field(default=0, compare=False, repr=False)  # row version; 0 = unsaved


@dataclass
class Costume:
    """A character's wardrobe variant for one episode or one scene (``scope`` "episode" or
    "scene", ``scope_id`` its id); a scene's variant wins over its episode's, which wins over
    the character's default ``Character.costume``."""

    character_id: str
    scope: str
    scope_id: str
    text: str = ""
    text_en: str = ""  # the same costume in English, for CLIP-family prompts (schema 8)
    id: str = field(default_factory=new_id)
    version: int = field(default=0, compare=False, repr=False)  # row version; 0 = unsaved


@dataclass
class Scene:
    number: int
    heading: str = ""
    location: str = ""
    setting: Setting = Setting.INTERIOR
    time_of_day: TimeOfDay = TimeOfDay.UNSPECIFIED
    weather: str = ""
    lighting: str = ""
    description: str = ""
    order: int = 0
    episode_id: str | None = None  # None only before the store files it under an episode
    location_id: str | None = None
    id: str = field(default_factory=new_id)
    version: int = field(default=0, compare=False, repr=False)  # row version; 0 = unsaved


@dataclass
class DialogueLine:
    """One spoken line. ``character_id`` is None for narration."""

    text: str
    character_id: str | None = None
    emotion: str = ""
    kind: LineKind = LineKind.DIALOGUE

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "character_id": self.character_id,
            "emotion": self.emotion,
            "kind": str(self.kind),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DialogueLine:
        return cls(
            text=str(data.get("text", "")),
            character_id=data.get("character_id"),
            emotion=str(data.get("emotion", "")),
            kind=LineKind(data.get("kind", LineKind.DIALOGUE)),
        )


@dataclass
class Shot:
    scene_id: str
    order: int = 0
    size: ShotSize = ShotSize.MEDIUM
    angle: CameraAngle = CameraAngle.EYE_LEVEL
    camera_move: CameraMove = CameraMove.STATIC
    duration: float = 3.0  # seconds
    action: str = ""
    characters: list[str] = field(default_factory=list)  # character ids in frame
    dialogue: list[DialogueLine] = field(default_factory=list)
    narration: str = ""
    prompt: str = ""  # composed by the prompt composer
    prompt_override: str = ""  # the user's own prompt; wins when not empty
    negative_prompt: str = ""
    seed: int | None = None
    seed_locked: bool = False
    first_keyframe: str | None = None  # media sha256
    last_keyframe: str | None = None  # media sha256
    status: ShotStatus = ShotStatus.DRAFT
    locked: bool = False  # user-edited: re-planning must not overwrite it
    generation: dict[str, Any] = field(default_factory=dict)  # per-shot overrides
    approved_take_id: str | None = None
    id: str = field(default_factory=new_id)
    version: int = field(default=0, compare=False, repr=False)  # row version; 0 = unsaved

    @property
    def effective_prompt(self) -> str:
        return self.prompt_override.strip() or self.prompt


@dataclass
class Take:
    shot_id: str
    kind: TakeKind
    media: str  # sha256 of the clip
    record: dict[str, Any] = field(default_factory=dict)  # full generation record
    cache_key: str = ""
    thumbnail: str | None = None  # sha256 of a PNG
    approved: bool = False
    # identity scores against the cast's reference sheets (engine.generate.identity):
    # derived, cached by media + reference hashes + metric version; {} = not scored yet
    identity: dict[str, Any] = field(default_factory=dict)
    created_at: str = field(default_factory=utc_now)
    id: str = field(default_factory=new_id)
    version: int = field(default=0, compare=False, repr=False)  # row version; 0 = unsaved


@dataclass
class MediaAsset:
    sha256: str
    ext: str  # with the dot: ".mp4"
    kind: MediaKind
    original_name: str = ""
    size_bytes: int = 0
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    has_audio: bool = False
    created_at: str = field(default_factory=utc_now)

    @property
    def relpath(self) -> str:
        """Path inside the project folder, always with forward slashes."""
        return f"media/{self.sha256[:2]}/{self.sha256}{self.ext}"


@dataclass
class VoiceClip:
    """A synthesized line: one clip per dialogue line or narration of a shot."""

    shot_id: str
    line_index: int  # index into shot.dialogue; -1 for the shot's narration
    text: str
    media: str  # sha256 of the audio
    duration: float
    profile_key: str = ""  # hash of text + voice profile, for caching
    timings: list[dict[str, Any]] = field(default_factory=list)  # word/char timings
    # what the line was given: {"cues": [...], "prosody": {...}, "placement": "phone"|...}
    delivery: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=new_id)
    version: int = field(default=0, compare=False, repr=False)  # row version; 0 = unsaved


@dataclass
class AudioPlacement:
    """Music or a sound effect placed on the timeline."""

    role: AudioRole
    media: str
    from_shot: str | None = None  # shot id; None = start of the film
    to_shot: str | None = None  # shot id; None = end of the film
    offset: float = 0.0  # seconds from the start of from_shot
    gain_db: float = 0.0
    fade_in: float = 0.0
    fade_out: float = 0.0
    loop: bool = True
    id: str = field(default_factory=new_id)
    version: int = field(default=0, compare=False, repr=False)  # row version; 0 = unsaved


@dataclass
class ClipEdit:
    """The user's edit of one shot's clip on the timeline; survives re-generation."""

    shot_id: str
    trim_in: int = 0  # frames cut at the head
    trim_out: int = 0  # frames cut at the tail
    speed: float = 1.0
    transition: TransitionKind = TransitionKind.CUT  # into this clip
    transition_frames: int = 0
    gain_db: float = 0.0
    version: int = field(default=0, compare=False, repr=False)  # row version; 0 = unsaved


@dataclass
class Job:
    kind: str  # "generate", "voice", "export", ...
    params: dict[str, Any] = field(default_factory=dict)
    shot_id: str | None = None
    model_key: str = ""  # jobs with the same key share a loaded model
    status: JobStatus = JobStatus.QUEUED
    progress: float = 0.0
    message: str = ""
    error: str = ""
    result: dict[str, Any] = field(default_factory=dict)
    created_at: str = field(default_factory=utc_now)
    started_at: str | None = None
    finished_at: str | None = None
    node: str = ""  # the render node (or "" for this machine's worker) that ran it
    owner: str = ""  # a local job's process ("host:pid", engine.jobs.owner); "" for the worker's
    id: str = field(default_factory=new_id)
    version: int = field(default=0, compare=False, repr=False)  # row version; 0 = unsaved
