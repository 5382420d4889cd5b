"""Pydantic models of what the LLM planner asks for, with bounded sizes.

Every string and list has a maximum, so a schema-constrained decoder always finishes and
a server's reply stays small enough to check.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.model import CameraAngle, CameraMove, ShotSize

SizeName = Literal["EWS", "WS", "MS", "MCU", "CU", "ECU"]
AngleName = Literal["eye-level", "high", "low", "overhead", "dutch", "over-the-shoulder"]
MoveName = Literal["static", "pan", "tilt", "push-in", "pull-out", "orbit", "track", "handheld"]

assert set(SizeName.__args__) == {s.value for s in ShotSize}  # type: ignore[attr-defined]
assert set(AngleName.__args__) == {a.value for a in CameraAngle}  # type: ignore[attr-defined]
assert set(MoveName.__args__) == {m.value for m in CameraMove}  # type: ignore[attr-defined]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ----------------------------------------------------------------------------- idea → script
class CharacterDraft(_Strict):
    name: str = Field(min_length=1, max_length=20)
    gender: Literal["female", "male", "unknown"]
    age: int = Field(ge=1, le=99)
    appearance: str = Field(max_length=160)
    costume: str = Field(max_length=120)
    personality: str = Field(max_length=80)
    # the same looks in English, for CLIP-based image models (one language per prompt)
    appearance_en: str = Field(default="", max_length=200)
    costume_en: str = Field(default="", max_length=160)


class BeatDraft(_Strict):
    kind: Literal["action", "dialogue", "narration"]
    speaker: str = Field(max_length=20)  # a character name for dialogue, "" otherwise
    emotion: str = Field(max_length=16)
    text: str = Field(min_length=1, max_length=160)


class SceneDraft(_Strict):
    location: str = Field(min_length=1, max_length=30)
    setting: Literal["INT", "EXT"]
    time_of_day: Literal["day", "night", "dawn", "dusk", "morning", "evening"]
    beats: list[BeatDraft] = Field(min_length=1, max_length=14)


class StoryDraft(_Strict):
    title: str = Field(min_length=1, max_length=30)
    logline: str = Field(min_length=1, max_length=160)
    characters: list[CharacterDraft] = Field(min_length=1, max_length=4)
    scenes: list[SceneDraft] = Field(min_length=1, max_length=6)


# ----------------------------------------------------------------------------- looks → English
class LookDraft(_Strict):
    key: str = Field(min_length=1, max_length=40)  # a character's name, or "costume N"
    appearance_en: str = Field(max_length=200)
    costume_en: str = Field(max_length=160)


class LooksDraft(_Strict):
    items: list[LookDraft] = Field(min_length=1, max_length=12)


# ----------------------------------------------------------------------------- scene → shots
class ShotDraft(_Strict):
    beats: list[int] = Field(max_length=4)  # indices of the script beats this shot covers
    size: SizeName
    angle: AngleName
    camera_move: MoveName
    characters: list[str] = Field(max_length=3)  # names in frame
    action: str = Field(min_length=1, max_length=140)  # what the camera sees


class ScenePlanDraft(_Strict):
    shots: list[ShotDraft] = Field(min_length=1, max_length=16)


def bound_scene_schema(schema: dict[str, Any], beats: int, names: list[str]) -> dict[str, Any]:
    """Narrow the ScenePlanDraft schema to one scene: beat indices and names that exist."""
    shots = schema["properties"]["shots"]
    shots["maxItems"] = min(16, beats + 2)
    shot = shots["items"]["properties"]
    shot["beats"]["items"] = {"type": "integer", "minimum": 0, "maximum": max(0, beats - 1)}
    if names:
        shot["characters"]["items"] = {"type": "string", "enum": list(names)}
    else:
        shot["characters"]["maxItems"] = 0
    return schema
