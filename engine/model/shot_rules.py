"""Two rules every part of Storyreel shares about shots, as pure functions.

``shot_label``: how a shot is named to people — ``"2-3"`` is shot 3 of scene number 2
(shots counted from 1 in film order within their scene). Scene numbers are per episode, so
in a project with more than one episode the label names the episode too: ``"E2 1-3"`` is
shot 3 of scene 1 of episode 2 (``2:1-3`` and ``E2-1-3`` are accepted as input).

``current_take``: which of a shot's takes is *the* take — the one the film shows, the one
staleness compares the shot's inputs against, the one the storyboard card shows: the
approved take (``Shot.approved_take_id``), else the newest take flagged approved, else the
newest generated or imported take, else the newest animatic, else None (a slate).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from engine.model.entities import Episode, Scene, Shot, Take
from engine.model.enums import TakeKind


def shot_label(scene_number: int | None, index_in_scene: int,
               episode_number: int | None = None) -> str:
    """``"2-3"``: scene number 2, the 3rd shot of that scene (1-based); ``"?-3"`` when the
    shot's scene is unknown; ``"E2 1-3"`` when an episode number is given."""
    base = f"{'?' if scene_number is None else scene_number}-{index_in_scene}"
    return base if episode_number is None else f"E{episode_number} {base}"


def scene_label(scene_number: int, episode_number: int | None = None) -> str:
    """``"3"``, or ``"E2 3"`` in a series."""
    return str(scene_number) if episode_number is None else f"E{episode_number} {scene_number}"


def episode_numbers(scenes: Iterable[Scene], episodes: Iterable[Episode] | None
                    ) -> dict[str, int | None]:
    """Scene id → the episode number its labels carry: None unless the project has more
    than one episode."""
    episodes = list(episodes or [])
    scenes = list(scenes)
    if len(episodes) <= 1:
        return {s.id: None for s in scenes}
    number = {e.id: e.number for e in episodes}
    return {s.id: number.get(s.episode_id or "") for s in scenes}


def shot_labels(scenes: Iterable[Scene], shots: Iterable[Shot],
                episodes: Iterable[Episode] | None = None) -> dict[str, str]:
    """Shot id → label for ``shots`` given in film order (``ProjectStore.shots()``)."""
    scenes = list(scenes)
    number = {s.id: s.number for s in scenes}
    episode = episode_numbers(scenes, episodes)
    counters: dict[str, int] = {}
    labels: dict[str, str] = {}
    for shot in shots:
        counters[shot.scene_id] = counters.get(shot.scene_id, 0) + 1
        labels[shot.id] = shot_label(number.get(shot.scene_id), counters[shot.scene_id],
                                     episode.get(shot.scene_id))
    return labels


_ADDRESS = re.compile(r"\s*(?:(?:[Ee](\d+)\s*[\s:-]|(\d+)\s*:)\s*)?(\d+)\s*-\s*(\d+)\s*")


def match_label(labels: dict[str, str], address: str) -> list[str]:
    """The ids whose label an address names: ``E2 1-3`` / ``2:1-3`` / ``E2-1-3`` name one
    episode's shot; a plain ``1-3`` names that shot in every episode (ambiguous in a
    series). Empty when the address is not a label."""
    m = _ADDRESS.fullmatch(str(address))
    if not m:
        return []
    episode = m.group(1) or m.group(2)
    base = f"{int(m.group(3))}-{int(m.group(4))}"
    if episode:
        wanted = {f"E{int(episode)} {base}"}
        return [i for i, label in labels.items() if label in wanted]
    return [i for i, label in labels.items() if label == base or label.endswith(f" {base}")]


def project_shot_labels(store: Any) -> dict[str, str]:
    """Every shot's label in a project (anything with scenes(), shots(), episodes())."""
    return shot_labels(store.scenes(), store.shots(), store.episodes())


def take_order(take: Take) -> tuple[str, float]:
    """Creation order (``created_at`` has whole seconds; the record keeps a finer stamp)."""
    return take.created_at, float(take.record.get("created_ts", 0.0))


def current_take(shot: Shot, takes: Iterable[Take]) -> Take | None:
    """The shot's current take among ``takes`` (any order; see the module docstring)."""
    ordered = sorted((t for t in takes if t.shot_id == shot.id), key=take_order)
    if not ordered:
        return None
    if shot.approved_take_id:
        for take in ordered:
            if take.id == shot.approved_take_id:
                return take
    approved = [t for t in ordered if t.approved]
    if approved:
        return approved[-1]
    real = [t for t in ordered if t.kind is not TakeKind.ANIMATIC]
    return real[-1] if real else ordered[-1]
