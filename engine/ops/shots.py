"""Shot operations: set any field, add, duplicate, delete, move; dialogue lines."""

from __future__ import annotations

import dataclasses
from typing import Any

from engine.model import CameraAngle, CameraMove, LineKind, ShotSize, ShotStatus
from engine.model import entities as E
from engine.ops import derived
from engine.ops.addressing import shot_label
from engine.ops.base import Changes, OpError, number, operation, parse_enum, text, with_result
from engine.store.project import ProjectStore

SETTABLE = ("size", "angle", "camera_move", "duration", "action", "characters", "dialogue",
            "narration", "prompt_override", "negative_prompt", "seed", "seed_locked",
            "first_keyframe", "last_keyframe", "status", "locked", "generation",
            "short_take", "continue_from_previous")
# per-shot generation settings a user sets by name; kept in the shot's ``generation``
SHORT_TAKE_FILLS = ("hold", "slow")  # a take shorter than its shot: hold its last frame, or slow
GENERATION_SETTINGS = ("short_take", "continue_from_previous")
USER_STATUSES = (ShotStatus.DRAFT, ShotStatus.READY)
# editing these makes the shot the user's: re-planning the script keeps it (locked)
USER_FIELDS = frozenset({"size", "angle", "camera_move", "duration", "action", "narration",
                         "characters", "dialogue", "prompt_override", "negative_prompt"})
MAX_DURATION = 120.0


def validate_shot_fields(store: ProjectStore, fields: dict[str, Any]) -> dict[str, Any]:
    """Domain values for these shot fields, or OpError naming the first bad one."""
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in SETTABLE:
            raise OpError(f"A shot has no settable field {name!r}; fields: "
                          f"{', '.join(SETTABLE)}.")
        if name == "size":
            out[name] = parse_enum(ShotSize, value, "Shot size")
        elif name == "angle":
            out[name] = parse_enum(CameraAngle, value, "Camera angle")
        elif name == "camera_move":
            out[name] = parse_enum(CameraMove, value, "Camera move")
        elif name == "duration":
            out[name] = float(number(value, "Duration (seconds)", 0.1, MAX_DURATION))
        elif name in ("action", "narration", "prompt_override", "negative_prompt"):
            out[name] = text(value, name.replace("_", " ").capitalize())
        elif name == "seed":
            out[name] = None if value is None or value == "" else int(
                number(value, "Seed", 0, 2**32 - 1, integer=True))
        elif name in ("seed_locked", "locked"):
            out[name] = bool(value)
        elif name == "characters":
            ids = list(value)
            known = {c.id for c in store.characters()}
            for cid in ids:
                if cid not in known:
                    raise OpError(f"No character with id {cid} in this project.")
            if len(set(ids)) != len(ids):
                raise OpError("A character is listed twice in the shot.")
            out[name] = ids
        elif name == "dialogue":
            out[name] = [validate_line(store, line) for line in value]
        elif name in ("first_keyframe", "last_keyframe"):
            if value is not None and not store.media.exists(value):
                raise OpError(f"The {name.replace('_', ' ')} image is not in this project.")
            out[name] = value
        elif name == "status":
            status = parse_enum(ShotStatus, value, "Status")
            if status not in USER_STATUSES:
                raise OpError(f"Status {status} is set by the engine; choose draft or ready.")
            out[name] = status
        elif name == "generation":
            if not isinstance(value, dict):
                raise OpError("Generation settings must be a mapping.")
            out[name] = dict(value)
        elif name == "short_take":
            fill = str(value).strip().lower()
            if fill not in SHORT_TAKE_FILLS:
                raise OpError(f"A short take is filled by {' or '.join(SHORT_TAKE_FILLS)}, "
                              f"not {value!r}.")
            out[name] = fill
        elif name == "continue_from_previous":
            out[name] = bool(value)
    return out


def fold_generation(current: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with the named generation settings moved into its ``generation``."""
    named = {k: values.pop(k) for k in GENERATION_SETTINGS if k in values}
    if named:
        generation = dict(values.get("generation", current))
        generation.update(named)
        values["generation"] = generation
    return values


def validate_line(store: ProjectStore, line: Any) -> E.DialogueLine:
    if isinstance(line, dict):
        line = E.DialogueLine.from_dict(line)
    if not isinstance(line, E.DialogueLine):
        raise OpError("A dialogue line must have a speaker and text.")
    text(line.text, "A line's text", blank_ok=False)
    if line.character_id is not None and store.get(E.Character, line.character_id) is None:
        raise OpError(f"No character with id {line.character_id} speaks in this project.")
    if not isinstance(line.kind, LineKind):
        line = dataclasses.replace(line, kind=parse_enum(LineKind, line.kind, "Line kind"))
    return line


def set_shot_fields(store: ProjectStore, shot_id: str, *, author: str | None = None,
                    expected_version: int | None = None, **fields: Any) -> Changes:
    """Set any of a shot's fields (validated); the prompt and status follow. An edit of
    the shot's content (USER_FIELDS) locks it against re-planning unless ``locked`` is
    given."""
    values = validate_shot_fields(store, fields)
    shot = store.require(E.Shot, shot_id)
    values = fold_generation(shot.generation, values)
    if values.get("generation") == shot.generation:
        values.pop("generation")
    if USER_FIELDS & set(values) and "locked" not in values and not shot.locked:
        values["locked"] = True
    label = f"Edit shot {shot_label(store, shot_id)}"
    if set(values) == {"prompt_override"}:
        label = f"Edit prompt of shot {shot_label(store, shot_id)}"
    with operation(store, label, author) as out:
        if values:
            store.set_fields(E.Shot, shot.id, expected_version=expected_version, **values)
            derived.refresh(store, [shot.id])
    return out[0]


def _next_order(store: ProjectStore, scene_id: str) -> int:
    return max((s.order for s in store.shots(scene_id)), default=-1) + 1


def _renumber(store: ProjectStore, scene_id: str, ordered_ids: list[str]) -> None:
    for i, sid in enumerate(ordered_ids):
        current = store.require(E.Shot, sid)
        if current.order != i or current.scene_id != scene_id:
            store.set_fields(E.Shot, sid, order=i, scene_id=scene_id)


def add_shot(store: ProjectStore, scene_id: str, *, after: str | None = None,
             author: str | None = None, **fields: Any) -> Changes:
    """A new shot in a scene (at the end, or right after shot ``after``)."""
    scene = store.get(E.Scene, scene_id)
    if scene is None:
        raise OpError(f"No scene with id {scene_id} in this project.")
    values = fold_generation({}, validate_shot_fields(store, fields))
    shot = E.Shot(scene_id=scene.id, order=_next_order(store, scene.id), **values)
    with operation(store, "Add shot", author) as out:
        store.add(shot)
        ids = [s.id for s in store.shots(scene.id) if s.id != shot.id]
        pos = ids.index(after) + 1 if after in ids else len(ids)
        ids.insert(pos, shot.id)
        _renumber(store, scene.id, ids)
        derived.refresh(store, [shot.id])
    return with_result(out[0], store.require(E.Shot, shot.id))


def duplicate_shots(store: ProjectStore, shot_ids: list[str], *,
                    author: str | None = None) -> Changes:
    """Copies of these shots, each right after its original (no takes are copied)."""
    if not shot_ids:
        raise OpError("Choose at least one shot to duplicate.")
    originals = [store.require(E.Shot, sid) for sid in shot_ids]
    copies: list[E.Shot] = []
    with operation(store, "Duplicate shots" if len(originals) > 1 else "Duplicate shot",
                   author) as out:
        for orig in originals:
            copy = dataclasses.replace(
                orig, id=E.new_id(), version=0, approved_take_id=None,
                status=ShotStatus.DRAFT if orig.status is not ShotStatus.READY else orig.status,
                dialogue=[dataclasses.replace(d) for d in orig.dialogue],
                characters=list(orig.characters), generation=dict(orig.generation))
            store.add(copy)
            ids = [s.id for s in store.shots(orig.scene_id) if s.id != copy.id]
            ids.insert(ids.index(orig.id) + 1, copy.id)
            _renumber(store, orig.scene_id, ids)
            copies.append(copy)
    return with_result(out[0], [store.require(E.Shot, c.id) for c in copies])


def delete_shots(store: ProjectStore, shot_ids: list[str], *,
                 author: str | None = None) -> Changes:
    """Delete shots with their takes, voices and clip edits (undo brings all back)."""
    if not shot_ids:
        raise OpError("Choose at least one shot to delete.")
    shots = [store.require(E.Shot, sid) for sid in shot_ids]
    scenes = {s.scene_id for s in shots}
    with operation(store, "Delete shots" if len(shots) > 1 else "Delete shot", author) as out:
        for shot in shots:
            store.delete(store.require(E.Shot, shot.id))
        for scene_id in scenes:
            _renumber(store, scene_id, [s.id for s in store.shots(scene_id)])
    return out[0]


def move_shot(store: ProjectStore, shot_id: str, *, scene_id: str | None = None,
              index: int | None = None, position: int | None = None,
              author: str | None = None) -> Changes:
    """Move a shot to ``index`` (0-based) or ``position`` (1-based, as people count) of a
    scene (its own by default); neither: the end of the scene."""
    shot = store.require(E.Shot, shot_id)
    target = scene_id or shot.scene_id
    scene = store.get(E.Scene, target)
    if scene is None:
        raise OpError(f"No scene with id {target} in this project.")
    ids = [s.id for s in store.shots(target) if s.id != shot.id]
    if position is not None:
        if index is not None:
            raise OpError("Give a position or an index, not both.")
        pos = number(position, "A position", -10**9, 10**9, integer=True)
        if not 1 <= pos <= len(ids) + 1:
            raise OpError(f"Position {position} is outside scene {scene.number}: choose "
                          f"1–{len(ids) + 1} (1 = first).")
        index = int(pos) - 1
    pos = len(ids) if index is None else int(number(index, "Position", 0, len(ids),
                                                    integer=True))
    ids.insert(pos, shot.id)
    with operation(store, f"Move shot {shot_label(store, shot_id)}", author) as out:
        _renumber(store, target, ids)
        if target != shot.scene_id:
            _renumber(store, shot.scene_id, [s.id for s in store.shots(shot.scene_id)])
            derived.refresh(store, [shot.id])
    return out[0]


def reorder_shots(store: ProjectStore, scene_id: str, ordered_ids: list[str], *,
                  author: str | None = None) -> Changes:
    """Set the order of a scene's shots (every shot of the scene, once)."""
    current = {s.id for s in store.shots(scene_id)}
    if set(ordered_ids) != current or len(ordered_ids) != len(current):
        raise OpError("A reorder must list every shot of the scene once.")
    with operation(store, "Reorder shots", author) as out:
        _renumber(store, scene_id, list(ordered_ids))
    return out[0]


def set_dialogue(store: ProjectStore, shot_id: str, lines: list[Any], *,
                 author: str | None = None) -> Changes:
    return set_shot_fields(store, shot_id, author=author, dialogue=lines)


def set_line(store: ProjectStore, shot_id: str, index: int, *, author: str | None = None,
             text_: str | None = None, character_id: str | None | bool = False,
             emotion: str | None = None) -> Changes:
    """Change one dialogue line (text, speaker, emotion)."""
    shot = store.require(E.Shot, shot_id)
    if not 0 <= index < len(shot.dialogue):
        raise OpError(f"Shot {shot_label(store, shot_id)} has no line {index + 1}.")
    lines = list(shot.dialogue)
    line = lines[index]
    changes: dict[str, Any] = {}
    if text_ is not None:
        changes["text"] = text_
    if character_id is not False:
        changes["character_id"] = character_id
    if emotion is not None:
        changes["emotion"] = emotion
    lines[index] = dataclasses.replace(line, **changes)
    return set_shot_fields(store, shot_id, author=author, dialogue=lines)


def add_line(store: ProjectStore, shot_id: str, line_text: str, *,
             character_id: str | None = None, emotion: str = "",
             kind: LineKind = LineKind.DIALOGUE, author: str | None = None) -> Changes:
    shot = store.require(E.Shot, shot_id)
    line = E.DialogueLine(text=line_text, character_id=character_id, emotion=emotion,
                          kind=kind)
    return set_shot_fields(store, shot_id, author=author, dialogue=[*shot.dialogue, line])


def remove_line(store: ProjectStore, shot_id: str, index: int, *,
                author: str | None = None) -> Changes:
    shot = store.require(E.Shot, shot_id)
    if not 0 <= index < len(shot.dialogue):
        raise OpError(f"Shot {shot_label(store, shot_id)} has no line {index + 1}.")
    lines = [ln for i, ln in enumerate(shot.dialogue) if i != index]
    return set_shot_fields(store, shot_id, author=author, dialogue=lines)


def arrange_shots(store: ProjectStore, scene_id: str, ordered_ids: list[str], *,
                  author: str | None = None) -> Changes:
    """Give a scene exactly these shots in this order (what a drag on the storyboard
    does): every shot of the scene is listed once; a listed shot of another scene moves
    into it, and the scenes it left are renumbered. One undo step."""
    if store.get(E.Scene, scene_id) is None:
        raise OpError(f"No scene with id {scene_id} in this project.")
    if len(set(ordered_ids)) != len(ordered_ids):
        raise OpError("A shot is listed twice in the new order.")
    shots = [store.require(E.Shot, sid) for sid in ordered_ids]
    missing = {s.id for s in store.shots(scene_id)} - set(ordered_ids)
    if missing:
        raise OpError(f"The new order leaves out shot {shot_label(store, sorted(missing)[0])} "
                      "of the scene; list every shot of the scene once.")
    left = {s.scene_id for s in shots if s.scene_id != scene_id}
    label = "Move shots" if left else "Reorder shots"
    with operation(store, label, author) as out:
        _renumber(store, scene_id, list(ordered_ids))
        for other in left:
            _renumber(store, other, [s.id for s in store.shots(other)])
        if left:
            derived.refresh(store, [s.id for s in shots if s.scene_id != scene_id])
    return out[0]


def insert_shot(store: ProjectStore, *, after: str | None = None, scene_id: str | None = None,
                scene_heading: str = "Scene 1", author: str | None = None,
                **fields: Any) -> Changes:
    """A new draft shot right after shot ``after`` (in its scene), else at the end of
    ``scene_id``, else at the end of the last scene; a project without scenes gets its
    first scene in the same step. One undo step."""
    from engine.ops import scenes

    if after is not None:
        scene_id = store.require(E.Shot, after).scene_id
    with operation(store, "Add shot", author) as out:
        if scene_id is None:
            existing = store.scenes()
            scene_id = existing[-1].id if existing else scenes.add_scene(
                store, author=author, heading=scene_heading).result.id
        made = add_shot(store, scene_id, after=after, author=author, **fields).result
    return with_result(out[0], store.require(E.Shot, made.id))


def set_keyframe_file(store: ProjectStore, shot_id: str, path: str | None, *,
                      last: bool = False, author: str | None = None) -> Changes:
    """An image file as the shot's first (or last) keyframe; None clears it. The file
    must decode as an image; it is copied into the project's media."""
    from pathlib import Path

    from engine.errors import MediaError
    from engine.model import MediaKind
    from engine.store.media import probe

    field = "last_keyframe" if last else "first_keyframe"
    shot = store.require(E.Shot, shot_id)
    if path is not None:
        if not Path(path).is_file():
            raise OpError(f"Keyframe image {path} does not exist or is not a file.")
        try:
            kind = probe(Path(path)).kind
        except MediaError as exc:
            raise OpError(f"Keyframe {Path(path).name} cannot be read as an image "
                          f"({exc}).") from None
        if kind is not MediaKind.IMAGE:
            raise OpError(f"Keyframe {Path(path).name} is not an image.")
    verb = "Set" if path is not None else "Clear"
    with operation(store, f"{verb} keyframe of shot {shot_label(store, shot.id)}",
                   author) as out:
        sha = store.media.import_file(Path(path)).sha256 if path is not None else None
        if getattr(shot, field) != sha:
            store.set_fields(E.Shot, shot.id, **{field: sha})
            derived.refresh(store, [shot.id], recompose=False)
    return out[0]


def recompose_prompts(store: ProjectStore, shot_ids: list[str] | None = None, *,
                      author: str | None = None) -> Changes:
    """Compose the prompts of these shots (all when None) again from their fields, scene
    and cast (the override is kept); a generated shot whose prompt changed turns stale."""
    ids = [s.id for s in store.shots()] if shot_ids is None else list(shot_ids)
    for sid in ids:
        store.require(E.Shot, sid)
    with operation(store, "Recompose prompts", author) as out:
        derived.refresh(store, ids)
    return out[0]
