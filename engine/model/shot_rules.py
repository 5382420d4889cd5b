"""Two rules every part of Storyreel shares about shots, as pure functions.

``shot_label``: how a shot is named to people — ``"2-3"`` is shot 3 of scene number 2
(shots counted from 1 in film order within their scene).

``current_take``: which of a shot's takes is *the* take — the one the film shows, the one
staleness compares the shot's inputs against, the one the storyboard card shows: the
approved take (``Shot.approved_take_id``), else the newest take flagged approved, else the
newest generated or imported take, else the newest animatic, else None (a slate).
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.model.entities import Scene, Shot, Take
from engine.model.enums import TakeKind


def shot_label(scene_number: int | None, index_in_scene: int) -> str:
    """``"2-3"``: scene number 2, the 3rd shot of that scene (1-based); ``"?-3"`` when the
    shot's scene is unknown."""
    return f"{'?' if scene_number is None else scene_number}-{index_in_scene}"


def shot_labels(scenes: Iterable[Scene], shots: Iterable[Shot]) -> dict[str, str]:
    """Shot id → label for ``shots`` given in film order (``ProjectStore.shots()``)."""
    number = {s.id: s.number for s in scenes}
    counters: dict[str, int] = {}
    labels: dict[str, str] = {}
    for shot in shots:
        counters[shot.scene_id] = counters.get(shot.scene_id, 0) + 1
        labels[shot.id] = shot_label(number.get(shot.scene_id), counters[shot.scene_id])
    return labels


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
