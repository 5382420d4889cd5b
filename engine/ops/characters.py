"""Character operations: every field, reference images, voice. The same checks for the
CLI and the Cast tab: a name is not blank, a reference decodes as an image, a voice
speaks a sample before it is saved."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

from engine.audio import tts
from engine.errors import MediaError
from engine.model import MediaKind, VoiceProfile
from engine.model import entities as E
from engine.ops import derived
from engine.ops.base import Changes, OpError, number, operation, text, with_result
from engine.store.media import probe
from engine.store.project import ProjectStore

SETTABLE = ("name", "age", "gender", "appearance", "costume", "personality", "description",
            "role", "appearance_en", "costume_en", "reference_images", "lora_path", "locked",
            "voice")
GENDERS = ("", "female", "male", "unknown")
GENDER_ALIASES = {"f": "female", "女": "female", "m": "male", "男": "male", "?": "unknown"}


def check_name(store: ProjectStore, name: Any, exclude_id: str | None = None) -> str:
    name = text(name, "A character's name", blank_ok=False, limit=200).strip()
    other = store.character_by_name(name)
    if other is not None and other.id != exclude_id:
        raise OpError(f"A character named {name!r} already exists in this project.")
    return name


def check_reference_files(paths: list[str | Path]) -> None:
    """Every reference decodes as an image (checked before any is stored)."""
    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise OpError(f"Reference image {p} does not exist or is not a file.")
        try:
            info = probe(path)
        except MediaError as exc:
            raise OpError(f"Reference {path.name} cannot be read as an image ({exc}).") from None
        if info.kind is not MediaKind.IMAGE:
            raise OpError(f"Reference {path.name} is not an image.")


def reference_warnings(paths: list[str | Path]) -> list[str]:
    """One sentence per reference image that makes a poor identity reference (no face,
    several faces, a face too small); saved all the same (a costume sheet is still
    useful to a model), but identity scores need one clear face."""
    from engine.generate import identity
    from engine.generate.faces import FaceModelMissing

    out = []
    for p in paths:
        try:
            problem = identity.reference_problem(identity.load_rgb(Path(p)))
        except FaceModelMissing:
            return []  # no face models installed: nothing to check with
        if problem:
            out.append(f"Reference {Path(p).name}: {problem}; identity scores need one "
                       "clear face.")
    return out


def check_voice(store: ProjectStore, profile: VoiceProfile) -> VoiceProfile:
    """A voice that speaks a sample sentence, or OpError (nothing saved)."""
    for k in ("rate", "pitch", "volume"):
        v = getattr(profile, k)
        if not isinstance(v, int | float) or not math.isfinite(v):
            raise OpError(f"The voice {k} must be a number.")
    number(profile.rate, "The voice rate", 0.25, 4.0)
    number(profile.pitch, "The voice pitch (semitones)", -24, 24)
    number(profile.volume, "The voice volume (dB)", -40, 20)
    backend = profile.backend or tts.DEFAULT_BACKEND
    if backend not in tts.available_backends():
        raise OpError(f"Voice engine {backend!r} is not available; installed: "
                      f"{', '.join(tts.available_backends())}.")
    try:
        tts.preview(profile, str(store.project.language))
    except tts.TTSError as exc:
        raise OpError(str(exc)) from exc
    return profile


def _validate(store: ProjectStore, fields: dict[str, Any], char_id: str | None) -> dict:
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in SETTABLE:
            raise OpError(f"A character has no settable field {name!r}; fields: "
                          f"{', '.join(SETTABLE)}.")
        if name == "name":
            out[name] = check_name(store, value, char_id)
        elif name == "gender":
            g = str(value).strip().lower()
            g = GENDER_ALIASES.get(g, g)
            if g not in GENDERS:
                raise OpError(f"Gender {value!r} is not one of: female, male, unknown.")
            out[name] = g
        elif name == "age":
            age = str(value).strip()
            if age and age.isdigit():
                number(age, "Age", 0, 150, integer=True)
            out[name] = text(age, "Age", limit=40)
        elif name == "reference_images":
            shas = list(value)
            for sha in shas:
                if not store.media.exists(sha):
                    raise OpError(f"Reference image {str(sha)[:12]} is not in this project.")
            out[name] = shas
        elif name == "voice":
            profile = value if isinstance(value, VoiceProfile) else VoiceProfile.from_dict(value)
            out[name] = check_voice(store, profile)
        elif name == "locked":
            out[name] = bool(value)
        elif name == "lora_path":
            out[name] = None if not value else text(value, "LoRA path", limit=4096)
        else:
            out[name] = text(value, name.capitalize())
    return out


def add_character(store: ProjectStore, name: str, *, references: list[str | Path] = (),
                  author: str | None = None, **fields: Any) -> Changes:
    """A new character (user-made, so the planner never overwrites it)."""
    values = _validate(store, {"name": name, **fields}, None)
    check_reference_files(list(references))
    with operation(store, f"Add character {values['name']}", author) as out:
        refs = [store.media.import_file(p).sha256 for p in references]
        values.setdefault("locked", True)
        character = E.Character(**{**values, "reference_images": refs
                                   + list(values.get("reference_images", []))})
        store.add(character)
    return with_result(out[0], store.require(E.Character, character.id))


def set_character_fields(store: ProjectStore, character_id: str, *,
                         author: str | None = None, expected_version: int | None = None,
                         **fields: Any) -> Changes:
    """Set any of a character's fields; the prompts of shots they are in follow."""
    character = store.require(E.Character, character_id)
    values = _validate(store, fields, character.id)
    label = f"Edit {'voice of ' if set(values) == {'voice'} else ''}{character.name}"
    with operation(store, label, author) as out:
        if values:
            store.set_fields(E.Character, character.id, expected_version=expected_version,
                             locked=True, **values)
            derived.refresh(store, character_ids=[character.id])
    return out[0]


def add_reference_images(store: ProjectStore, character_id: str, paths: list[str | Path], *,
                         replace: bool = False, author: str | None = None) -> Changes:
    """Import image files as the character's references (all are checked first). The
    result is the list of warnings about references without one clear face."""
    character = store.require(E.Character, character_id)
    check_reference_files(list(paths))
    warnings = reference_warnings(list(paths))
    with operation(store, f"Add reference images of {character.name}", author) as out:
        shas = [store.media.import_file(p).sha256 for p in paths]
        refs = [] if replace else list(character.reference_images)
        refs += [s for s in shas if s not in refs]
        store.set_fields(E.Character, character.id, reference_images=refs, locked=True)
        derived.refresh(store, character_ids=[character.id])
    return with_result(out[0], warnings)


def edit_character(store: ProjectStore, character_id: str, *,
                   references: list[str | Path] = (), clear_references: bool = False,
                   author: str | None = None, **fields: Any) -> Changes:
    """Fields and reference images in one operation (one undo step): ``references`` are
    image files added to the character's (replacing them with ``clear_references``)."""
    character = store.require(E.Character, character_id)
    references = list(references)
    check_reference_files(references)
    with operation(store, f"Edit {character.name}", author) as out:
        if fields:
            set_character_fields(store, character.id, author=author, **fields)
        if references:
            add_reference_images(store, character.id, references, replace=clear_references,
                                 author=author)
        elif clear_references and character.reference_images:
            set_character_fields(store, character.id, author=author, reference_images=[])
    return out[0]


def remove_reference_image(store: ProjectStore, character_id: str, sha256: str, *,
                           author: str | None = None) -> Changes:
    character = store.require(E.Character, character_id)
    refs = [r for r in character.reference_images if r != sha256]
    return set_character_fields(store, character.id, author=author, reference_images=refs)


def set_voice(store: ProjectStore, character_id: str, *, author: str | None = None,
              **changes: Any) -> Changes:
    """Change a character's voice (backend, voice, rate, pitch, volume); it must speak."""
    character = store.require(E.Character, character_id)
    if "backend" in changes and "voice" not in changes:
        changes["voice"] = ""  # a voice name belongs to its backend
    profile = dataclasses.replace(character.voice, **changes)
    return set_character_fields(store, character.id, author=author, voice=profile)


def delete_character(store: ProjectStore, character_id: str, *,
                     author: str | None = None) -> Changes:
    """Delete a character: shots no longer list them, their lines keep the text."""
    character = store.require(E.Character, character_id)
    with operation(store, f"Delete character {character.name}", author) as out:
        affected = []
        for shot in store.all(E.Shot):
            lines = [dataclasses.replace(ln, character_id=None)
                     if ln.character_id == character.id else ln for ln in shot.dialogue]
            if character.id in shot.characters or lines != shot.dialogue:
                store.set_fields(E.Shot, shot.id, dialogue=lines, characters=[
                    c for c in shot.characters if c != character.id])
                affected.append(shot.id)
        store.delete(store.require(E.Character, character.id))
        derived.refresh(store, affected)
    return out[0]
