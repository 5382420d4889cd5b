"""Project settings: title, style, logline, language, picture, narrator voice, settings."""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import Any

from engine.model import Aspect, Language, VoiceProfile
from engine.model import entities as E
from engine.ops import derived
from engine.ops.base import Changes, OpError, number, operation, parse_enum, text
from engine.ops.characters import check_voice
from engine.store.project import ProjectStore

SETTABLE = ("title", "style", "logline", "language", "aspect", "width", "height", "fps",
            "script_text", "narrator_voice", "settings")


def set_project_fields(store: ProjectStore, *, author: str | None = None,
                       **fields: Any) -> Changes:
    project = store.project
    values: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in SETTABLE:
            raise OpError(f"A project has no settable field {name!r}; fields: "
                          f"{', '.join(SETTABLE)}.")
        if name == "title":
            values[name] = text(value, "The title", blank_ok=False, limit=300).strip()
        elif name == "language":
            values[name] = parse_enum(Language, value, "Language")
        elif name == "aspect":
            values[name] = parse_enum(Aspect, value, "Aspect")
        elif name in ("width", "height"):
            n = int(number(value, name.capitalize(), 16, 8192, integer=True))
            if n % 2:
                raise OpError(f"{name.capitalize()} {n} must be even for H.264.")
            values[name] = n
        elif name == "fps":
            try:
                fps = Fraction(str(value))
            except (ValueError, ZeroDivisionError):
                raise OpError(f"Frame rate {value!r} is not a number like 30 or "
                              "30000/1001.") from None
            if not 1 <= fps <= 240:
                raise OpError(f"Frame rate {value} is outside 1–240.")
            values[name] = fps
        elif name == "narrator_voice":
            profile = value if isinstance(value, VoiceProfile) else VoiceProfile.from_dict(value)
            values[name] = check_voice(store, profile)
        elif name == "settings":
            if not isinstance(value, dict):
                raise OpError("Project settings must be a mapping.")
            if "prompt_family" in value:
                value = {**value, "prompt_family": _prompt_family(value["prompt_family"])}
            values[name] = {**project.settings, **value}
        else:
            values[name] = text(value, name.replace("_", " ").capitalize())
    with operation(store, "Edit project", author) as out:
        if values:
            store.set_fields(E.Project, project.id, **values)
            family_changed = "settings" in values and values["settings"].get(
                "prompt_family") != project.settings.get("prompt_family")
            if {"style", "language"} & set(values) or family_changed:
                derived.refresh(store, [s.id for s in store.all(E.Shot)])
    return out[0]


def _prompt_family(value: Any) -> str:
    """A prompt family name (clip, sdxl, t5, wan, ...) as the composer knows it."""
    from engine.errors import StoryreelError
    from engine.story.composer import family_of

    try:
        return family_of(str(value))
    except StoryreelError as exc:
        raise OpError(str(exc)) from None


def set_narrator_voice(store: ProjectStore, *, author: str | None = None,
                       **changes: Any) -> Changes:
    if "backend" in changes and "voice" not in changes:
        changes["voice"] = ""
    profile = dataclasses.replace(store.project.narrator_voice, **changes)
    return set_project_fields(store, author=author, narrator_voice=profile)
