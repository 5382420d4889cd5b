"""One shot-address syntax for every command, and one label formatter.

A shot is named by its label ``SCENE-SHOT`` (``2-3``: the third shot of scene number 2),
its id, or an unambiguous id prefix (at least 4 characters). Scene numbers are per
episode: in a series the label is ``E2 1-3`` (also typed ``2:1-3``, ``E2-1-3`` or
``E2:1-3``); a plain ``1-3`` is accepted where it names one shot and refused with the
matches listed where several episodes have one.
"""

from __future__ import annotations

import re

from engine.model import entities as E
from engine.model import shot_rules as rules
from engine.ops.base import OpError
from engine.store.project import ProjectStore

_LABEL = re.compile(r"\s*(?:(?:[Ee](\d+)\s*[\s:-]|(\d+)\s*:)\s*)?(\d+)\s*-\s*(\d+)\s*")
_SCENE = re.compile(r"\s*(?:(?:[Ee](\d+)\s*[\s:-]|(\d+)\s*:)\s*)?(\d+)\s*")
_EPISODE = re.compile(r"\s*[Ee]?(\d+)\s*")


def shot_labels(store: ProjectStore) -> dict[str, str]:
    """Every shot's label, by id (the one formatter: engine.model.shot_rules)."""
    return rules.project_shot_labels(store)


def _shot_by_label(store: ProjectStore, episode: int | None, scene: int, index: int,
                   shots: list[E.Shot]) -> E.Shot:
    episodes = {e.id: e.number for e in store.episodes()}
    scenes = {s.id: s for s in store.scenes()}
    counters: dict[str, int] = {}
    found: list[E.Shot] = []
    for shot in shots:
        counters[shot.scene_id] = counters.get(shot.scene_id, 0) + 1
        sc = scenes.get(shot.scene_id)
        if sc is None or sc.number != scene or counters[shot.scene_id] != index:
            continue
        if episode is not None and episodes.get(sc.episode_id or "") != episode:
            continue
        found.append(shot)
    wanted = f"{scene}-{index}" if episode is None else f"E{episode} {scene}-{index}"
    if len(found) == 1:
        return found[0]
    if not found:
        raise OpError(f"There is no shot {wanted} in this project (it has {len(shots)} "
                      "shots; `storyreel info` lists them).")
    labels = shot_labels(store)
    listed = ", ".join(labels[s.id] for s in found[:8])
    raise OpError(f"Shot {wanted} is in more than one episode ({listed}); name the episode, "
                  f"e.g. {labels[found[0].id]!r}.")


def resolve_episode(store: ProjectStore, address: str | int) -> E.Episode:
    """An episode by its number (``2`` or ``E2``) or id/prefix."""
    text = str(address).strip()
    episodes = store.episodes()
    m = _EPISODE.fullmatch(text)
    if m:
        n = int(m.group(1))
        for episode in episodes:
            if episode.number == n:
                return episode
        numbers = ", ".join(str(e.number) for e in episodes) or "none"
        raise OpError(f"There is no episode {n} in this project (episodes: {numbers}).")
    matches = [e for e in episodes if e.id == text or (len(text) >= 4
                                                        and e.id.startswith(text.lower()))]
    if len(matches) == 1:
        return matches[0]
    raise OpError(f"No episode has the number or id {text!r}.")


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
        episode = m.group(1) or m.group(2)
        return _shot_by_label(store, int(episode) if episode else None, int(m.group(3)),
                              int(m.group(4)), shots)
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
    """A scene by its label in a series (``E2 1`` / ``2:1``: scene 1 of episode 2), its
    number (the ``2`` of shot label ``2-3``) in a one-episode project or its position in
    film order in a series (numbers repeat per episode), or its id/prefix."""
    address = str(address).strip()
    scenes = store.scenes()
    m = _SCENE.fullmatch(address)
    if m and (m.group(1) or m.group(2)):
        episode = resolve_episode(store, m.group(1) or m.group(2))
        n = int(m.group(3))
        found = [s for s in scenes if s.episode_id == episode.id and s.number == n]
        if found:
            return found[0]
        raise OpError(f"Episode {episode.number} has no scene {n}.")
    if address.isdigit():
        n = int(address)
        if len({s.episode_id for s in scenes}) > 1:  # a series: numbers repeat per episode
            if 1 <= n <= len(scenes):
                return scenes[n - 1]
            raise OpError(f"There is no scene {n} in this project (it has {len(scenes)}).")
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
