"""Scene operations."""

from __future__ import annotations

from typing import Any

from engine.model import Setting, TimeOfDay
from engine.model import entities as E
from engine.ops import derived
from engine.ops.base import Changes, OpError, operation, parse_enum, text, with_result
from engine.store.project import ProjectStore

SETTABLE = ("heading", "location", "setting", "time_of_day", "weather", "lighting",
            "description")


def _validate(fields: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in SETTABLE:
            raise OpError(f"A scene has no settable field {name!r}; fields: "
                          f"{', '.join(SETTABLE)}.")
        if name == "setting":
            out[name] = parse_enum(Setting, value, "Setting")
        elif name == "time_of_day":
            out[name] = parse_enum(TimeOfDay, value, "Time of day")
        else:
            out[name] = text(value, name.replace("_", " ").capitalize())
    return out


def set_scene_fields(store: ProjectStore, scene_id: str, *, author: str | None = None,
                     expected_version: int | None = None, **fields: Any) -> Changes:
    scene = store.require(E.Scene, scene_id)
    values = _validate(fields)
    with operation(store, f"Edit scene {scene.number}", author) as out:
        if values:
            store.set_fields(E.Scene, scene.id, expected_version=expected_version, **values)
            derived.refresh(store, scene_ids=[scene.id])
    return out[0]


def add_scene(store: ProjectStore, *, author: str | None = None, episode_id: str | None = None,
              **fields: Any) -> Changes:
    """A new scene at the end of an episode (the last one by default; numbers are per
    episode)."""
    values = _validate(fields)
    episodes = store.episodes()
    if episode_id is None and episodes:
        episode_id = episodes[-1].id
    elif episode_id is not None:
        store.require(E.Episode, episode_id)
    scenes = store.scenes()
    number = max((s.number for s in scenes if s.episode_id == episode_id), default=0) + 1
    order = max((s.order for s in scenes), default=-1) + 1
    scene = E.Scene(number=number, order=order, episode_id=episode_id, **values)
    with operation(store, f"Add scene {number}", author) as out:
        store.add(scene)
    return with_result(out[0], store.require(E.Scene, scene.id))


def delete_scene(store: ProjectStore, scene_id: str, *, author: str | None = None) -> Changes:
    scene = store.require(E.Scene, scene_id)
    with operation(store, f"Delete scene {scene.number}", author) as out:
        store.delete(scene)
    return out[0]


def reorder_scenes(store: ProjectStore, ordered_ids: list[str], *,
                   author: str | None = None) -> Changes:
    current = {s.id for s in store.scenes()}
    if set(ordered_ids) != current or len(ordered_ids) != len(current):
        raise OpError("A reorder must list every scene once.")
    with operation(store, "Reorder scenes", author) as out:
        for i, sid in enumerate(ordered_ids):
            if store.require(E.Scene, sid).order != i:
                store.set_fields(E.Scene, sid, order=i)
    return out[0]
