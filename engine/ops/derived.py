"""One rule for derived state, called by every operation after it writes.

A shot's composed prompt follows from the shot, its scene and its cast; its status
(STALE or not) follows from its takes' fingerprints. Nothing here depends on a GUI
having installed a watcher: the operation that changed the inputs refreshes them, in the
same transaction, as the engine's (not undoable) part of that entry.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.generate import staleness
from engine.model import entities as E
from engine.store.project import ProjectStore
from engine.story import composer

SHOT_INPUTS = set(staleness.SHOT_FIELDS) | {"scene_id", "dialogue", "narration"}
CAST_INPUTS = set(staleness.CHARACTER_FIELDS) | {"name", "age", "gender", "appearance_en",
                                                 "costume_en"}
SCENE_INPUTS = {"location", "setting", "time_of_day", "weather", "lighting", "description",
                "heading"}


def affected_shots(store: ProjectStore, shot_ids: Iterable[str] = (),
                   character_ids: Iterable[str] = (), scene_ids: Iterable[str] = ()) -> list[str]:
    wanted = set(shot_ids)
    chars, scenes = set(character_ids), set(scene_ids)
    if chars or scenes:
        for shot in store.all(E.Shot):
            if scenes & {shot.scene_id} or chars & set(shot.characters):
                wanted.add(shot.id)
    return sorted(wanted)


def refresh(store: ProjectStore, shot_ids: Iterable[str] = (),
            character_ids: Iterable[str] = (), scene_ids: Iterable[str] = (), *,
            recompose: bool = True) -> None:
    """Recompose the prompts and re-derive the status of every shot these edits affect."""
    ids = affected_shots(store, shot_ids, character_ids, scene_ids)
    if not ids:
        return
    existing = {s.id for s in store.all(E.Shot)}
    ids = [i for i in ids if i in existing]
    with store.deriving():
        if recompose and ids:
            composer.recompose(store, ids)
        for shot_id in ids:
            shot = store.get(E.Shot, shot_id)
            if shot is not None:
                staleness.refresh_status(store, shot)


def _costume_shots(store: ProjectStore, costume_id: str) -> set[str]:
    """The shots a costume row dresses (read from the log when the row is gone)."""
    row = store.get(E.Costume, costume_id)
    if row is None:
        entry = next((c for e in store.history(limit=20) for c in e.changes
                      if c.entity == "Costume" and c.key == costume_id
                      and (c.before or c.after)), None)
        data = (entry.before or entry.after) if entry is not None else None
        if not isinstance(data, dict):
            return set()
        row = E.Costume(character_id=data["character_id"], scope=data["scope"],
                        scope_id=data["scope_id"], id=costume_id)
    scenes = {row.scope_id} if row.scope == "scene" else {
        s.id for s in store.all(E.Scene, episode_id=row.scope_id)}
    return {s.id for s in store.all(E.Shot)
            if s.scene_id in scenes and row.character_id in s.characters}


def refresh_for_entry(store: ProjectStore, changes: list[tuple[str, str, str]]) -> None:
    """Refresh after an undo/redo: (entity, id, field) of what it wrote."""
    shots = {k for e, k, f in changes if e == "Shot" and f != "status"}
    chars = {k for e, k, f in changes if e == "Character" and (f in CAST_INPUTS or f == "*")}
    scenes = {k for e, k, f in changes if e == "Scene" and (f in SCENE_INPUTS or f == "*")}
    takes = {k for e, k, f in changes if e == "Take"}
    for e, k, _f in changes:  # a wardrobe variant or a location: the shots they dress
        if e == "Costume":
            shots |= _costume_shots(store, k)
        elif e == "Location":
            scenes |= {s.id for s in store.all(E.Scene, location_id=k)}
    for take_id in takes:
        take = store.get(E.Take, take_id)
        if take is not None:
            shots.add(take.shot_id)
    refresh(store, shots, chars, scenes)
