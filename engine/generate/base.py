"""The interface every generation backend implements.

A backend turns one ``GenerationRequest`` (everything needed to make one take of one
shot, already resolved to plain values and file paths) into a video file. Backends know
nothing of the project database: the job layer builds requests and stores results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from engine.jobs.progress import CancelToken, Progress
from engine.model import CameraAngle, CameraMove, ShotSize


@dataclass
class CharacterRef:
    """A character in frame, with its reference images as files."""

    name: str
    appearance: str = ""
    costume: str = ""
    images: list[Path] = field(default_factory=list)
    image_hashes: list[str] = field(default_factory=list)  # sha256, same order as images


@dataclass
class SpokenLine:
    speaker: str  # a character name, or "" for narration
    text: str
    # when the speaker's mouth is open (seconds from the shot's start), from the voice's
    # per-character timings; empty before the line is voiced
    mouth: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class GenerationRequest:
    shot_id: str
    prompt: str
    negative_prompt: str = ""
    seed: int = 0
    width: int = 480
    height: int = 832
    frames: int = 81
    fps: float = 16.0
    steps: int = 30
    guidance: float = 5.0
    characters: list[CharacterRef] = field(default_factory=list)
    first_frame: Path | None = None
    last_frame: Path | None = None
    # storyboard facts, used by the animatic and recorded with the take
    shot_label: str = ""  # e.g. "2-3" (scene 2, shot 3)
    size: ShotSize = ShotSize.MEDIUM
    angle: CameraAngle = CameraAngle.EYE_LEVEL
    camera_move: CameraMove = CameraMove.STATIC
    scene_heading: str = ""
    scene_description: str = ""
    action: str = ""
    dialogue: list[SpokenLine] = field(default_factory=list)
    duration: float = 3.0  # seconds the shot lasts in the film
    style: str = ""
    language: str = "zh"
    # the film's frame rate: a model's take at another rate is converted to it by
    # motion-compensated interpolation (0: keep the model's rate)
    film_fps: float = 0.0
    # where finished segments of a long shot are kept (resume after a crash; not an input)
    segment_cache: Path | None = None
    # the scene's location reference (engine.model.Location): the animatic's backdrop and
    # an extra reference for reference-conditioned models (counted in their budget)
    location_image: Path | None = None
    location_hash: str | None = None

    def reference_hashes(self) -> list[str]:
        own = [h for c in self.characters for h in c.image_hashes]
        return own + ([self.location_hash] if self.location_hash else [])


@dataclass
class GenerationResult:
    video: Path  # the encoded clip (mp4, H.264), written by the backend
    record: dict[str, Any] = field(default_factory=dict)  # backend-specific facts


class Backend(Protocol):
    """One way of making a take. ``name`` is recorded with every take."""

    name: str

    def generate(
        self,
        request: GenerationRequest,
        out_path: Path,
        progress: Progress,
        cancel: CancelToken,
    ) -> GenerationResult: ...
