"""One shot-address syntax for every command, and one label formatter.

A shot is named by its label ``SCENE-SHOT`` (``2-3``: the third shot of scene number 2),
its id, or an unambiguous id prefix (at least 4 characters).
"""

from __future__ import annotations

import re

from engine.model import entities as E
from engine.model import shot_rules as rules
from engine.ops.base import OpError
from engine.store.project import ProjectStore

_LABEL = re.compile(r"\s*(\d+)\s*-\s*(\d+)\s*")


def shot_labels(store: ProjectStore) -> dict[str, str]:
    """Every shot's label, by id (the one formatter: engine.model.shot_rules)."""
    return rules.shot_labels(store.scenes(), store.shots())


def shot_label(store: ProjectStore, shot_id: str) -> str:
    return shot_labels(store).get(shot_id, shot_id[:8])


def resolve_shot(store: ProjectStore, address: str) -> E.Shot:
    """The shot an address names; OpError (one sentence) when none or several match."""
    address = str(address).strip()
    if not address:
        raise OpError("Name a shot by its label (2-3) or id.")
    shots = store.shots()
    m = _LABEL.fullmatch(address)
    if m:
        labels = shot_labels(store)
        wanted = f"{int(m.group(1))}-{int(m.group(2))}"
        for shot in shots:
            if labels.get(shot.id) == wanted:
                return shot
        raise OpError(f"There is no shot {wanted} in this project (it has {len(shots)} "
                      "shots; `storyreel info` lists them).")
    exact = [s for s in shots if s.id == address]
    if exact:
        return exact[0]
    if len(address) < 4:
        raise OpError(f"{address!r} is not a shot label like 2-3 or an id (give at least 4 "
                      "characters of an id).")
    matches = [s for s in shots if s.id.startswith(address.lower())]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise OpError(f"No shot has the label or id {address!r}.")
    labels = shot_labels(store)
    listed = ", ".join(f"{labels[s.id]} ({s.id[:8]})" for s in matches[:6])
    raise OpError(f"{address!r} matches {len(matches)} shots: {listed}; give more of the id.")


def resolve_scene(store: ProjectStore, address: str) -> E.Scene:
    """A scene by its number (the ``2`` of shot label ``2-3``), or its id/prefix."""
    address = str(address).strip()
    scenes = store.scenes()
    if address.isdigit():
        n = int(address)
        for scene in scenes:
            if scene.number == n:
                return scene
        numbers = ", ".join(str(s.number) for s in scenes[:12]) or "none yet"
        raise OpError(f"There is no scene {n} in this project (scenes: {numbers}).")
    matches = [s for s in scenes if s.id == address or (len(address) >= 4
                                                        and s.id.startswith(address.lower()))]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise OpError(f"No scene has the position or id {address!r}.")
    raise OpError(f"{address!r} matches {len(matches)} scenes; give more of the id.")


def resolve_character(store: ProjectStore, name_or_id: str) -> E.Character:
    key = str(name_or_id).strip()
    found = store.character_by_name(key)
    if found is not None:
        return found
    matches = [c for c in store.characters() if c.id == key or (len(key) >= 4
                                                                and c.id.startswith(key))]
    if len(matches) == 1:
        return matches[0]
    raise OpError(f"There is no character named {name_or_id!r} in this project.")


def resolve_take(store: ProjectStore, address: str) -> E.Take:
    """A take by its id or an unambiguous id prefix (at least 4 characters)."""
    address = str(address).strip().lower()
    takes = store.all(E.Take)
    exact = [t for t in takes if t.id == address]
    if exact:
        return exact[0]
    if len(address) < 4:
        raise OpError(f"{address!r} is too short for a take id (give at least 4 characters; "
                      "`storyreel takes DIR SHOT` lists them).")
    matches = [t for t in takes if t.id.startswith(address)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise OpError(f"No take with id {address} in this project.")
    labels = shot_labels(store)
    listed = ", ".join(f"{t.id[:8]} (shot {labels.get(t.shot_id, '?')})" for t in matches[:6])
    raise OpError(f"{address!r} matches {len(matches)} takes: {listed}; give more of the id.")


def resolve_shot_ids(store: ProjectStore, addresses: list[str]) -> list[str]:
    """The ids of the shots these addresses name, each once, in the order given."""
    ids: list[str] = []
    for address in addresses:
        shot_id = resolve_shot(store, address).id
        if shot_id not in ids:
            ids.append(shot_id)
    return ids
