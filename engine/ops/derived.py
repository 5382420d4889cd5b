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
CAST_INPUTS = set(staleness.CHARACTER_FIELDS) | {"name", "age", "gender"}
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


def refresh_for_entry(store: ProjectStore, changes: list[tuple[str, str, str]]) -> None:
    """Refresh after an undo/redo: (entity, id, field) of what it wrote."""
    shots = {k for e, k, f in changes if e == "Shot" and f != "status"}
    chars = {k for e, k, f in changes if e == "Character" and (f in CAST_INPUTS or f == "*")}
    scenes = {k for e, k, f in changes if e == "Scene" and (f in SCENE_INPUTS or f == "*")}
    takes = {k for e, k, f in changes if e == "Take"}
    for take_id in takes:
        take = store.get(E.Take, take_id)
        if take is not None:
            shots.add(take.shot_id)
    refresh(store, shots, chars, scenes)
