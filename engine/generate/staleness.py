"""Which shots need a new take: edits to a shot's or a character's inputs mark shots STALE.

Every take records a *fingerprint* of the inputs that shaped it (the shot's prompt-relevant
fields and its characters' appearance, costume and reference images). A shot with takes is
stale when its current fingerprint differs from its current take's (the one the film
shows, ``engine.model.shot_rules.current_take``). ``watch(store)`` keeps ``Shot.status`` in
step after every commit: STALE when an edit changes the fingerprint, back to
GENERATED/APPROVED when undo restores it. The
status is derived, so it is written outside the undo history (undo/redo stay intact) and
listeners are told about it like any other change.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from typing import Any

from engine.model import ShotStatus
from engine.model import entities as E
from engine.model.shot_rules import current_take, take_order
from engine.model.wardrobe import costume_for

SHOT_FIELDS = ("prompt", "prompt_override", "negative_prompt", "seed", "characters",
               "first_keyframe", "last_keyframe", "generation", "size", "angle",
               "camera_move", "action")
CHARACTER_FIELDS = ("appearance", "costume", "reference_images")
TIMELINE_SETTINGS = frozenset({"short_take"})  # kept in Shot.generation, no input of a take


def _plain(value: Any) -> Any:
    return str(value) if hasattr(value, "value") else value


def fingerprint(store: Any, shot: E.Shot) -> str:
    """The inputs' hash; a character's costume is the one they wear in the shot's scene
    (``engine.model.wardrobe``), so a wardrobe change marks only the shots it dresses."""
    facts: dict[str, Any] = {k: _plain(getattr(shot, k)) for k in SHOT_FIELDS}
    # how a short take fills its shot is the timeline's business, not the take's
    facts["generation"] = {k: v for k, v in shot.generation.items()
                           if k not in TIMELINE_SETTINGS}
    chars = []
    scene = store.get(E.Scene, shot.scene_id)
    for cid in shot.characters:
        c = store.get(E.Character, cid)
        if c is not None:
            c = dataclasses.replace(c, costume=costume_for(c, scene, store.costumes(cid)))
        chars.append([cid] + ([getattr(c, k) for k in CHARACTER_FIELDS] if c else []))
    facts["character_facts"] = chars
    place = store.get(E.Location, scene.location_id) if scene and scene.location_id else None
    if place is not None and place.reference_images:  # only when set: old takes keep theirs
        facts["location_refs"] = list(place.reference_images)
    blob = json.dumps(facts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def takes_in_order(store: Any, shot_id: str) -> list[E.Take]:
    return sorted(store.takes(shot_id), key=take_order)


def reference_take(store: Any, shot: E.Shot) -> E.Take | None:
    """The take the shot's inputs are compared against: its current take, the one the film
    shows (``engine.model.shot_rules.current_take``)."""
    return current_take(shot, store.takes(shot.id))


def is_stale(store: Any, shot: E.Shot) -> bool:
    take = reference_take(store, shot)
    if take is None:
        return False
    if _retake_since(store, shot, take):
        return True
    recorded = take.record.get("fingerprint")
    return recorded is not None and recorded != fingerprint(store, shot)


def _retake_since(store: Any, shot: E.Shot, take: E.Take) -> bool:
    """A reviewer asked for a retake after this take was made."""
    from engine.model.review import RETAKE, ReviewNote, ShotReview

    review = store.get(ShotReview, shot.id)
    if review is None or review.status != RETAKE:
        return False
    asked = [n.created_at for n in store.all(ReviewNote, shot_id=shot.id) if n.status == RETAKE]
    return bool(asked) and max(asked) >= take.created_at


def needs_generation(store: Any, shot: E.Shot) -> bool:
    """No take yet, stale, or the film's take lost its file (what ``--shots stale`` selects)."""
    if not store.takes(shot.id) or is_stale(store, shot) or shot.status is ShotStatus.STALE:
        return True
    take = reference_take(store, shot)
    return take is not None and not (
        store.media.exists(take.media)
        and (not take.thumbnail or store.media.exists(take.thumbnail)))


def stale_shots(store: Any) -> list[E.Shot]:
    """Shots with takes whose inputs changed since (in film order)."""
    return [s for s in store.shots()
            if store.takes(s.id) and (s.status is ShotStatus.STALE or is_stale(store, s))]


def _changed(change: Any, fields: tuple[str, ...]) -> bool:
    if change.before is None or change.after is None:
        return False
    return any(change.before.get(f) != change.after.get(f) for f in fields)


def refresh_status(store: Any, shot: E.Shot) -> ShotStatus | None:
    """Set the shot's derived status from its fingerprint; returns the new status if changed."""
    if not store.takes(shot.id):
        return None
    if is_stale(store, shot):
        wanted = ShotStatus.STALE
    elif shot.status is ShotStatus.STALE:
        wanted = ShotStatus.APPROVED if shot.approved_take_id else ShotStatus.GENERATED
    else:
        return None
    if wanted is shot.status:
        return None
    _write_status(store, shot, wanted)
    return wanted


def _write_status(store: Any, shot: E.Shot, status: ShotStatus) -> None:
    store.update_derived(shot, status=status)


def watch(store: Any) -> Callable[[], None]:
    """Mark shots stale as their inputs change. Returns the unsubscribe function."""

    def on_changes(changes: list[Any]) -> None:
        affected: set[str] = set()
        characters: set[str] = set()
        for ch in changes:
            if ch.kind is E.Shot and _changed(ch, SHOT_FIELDS):
                affected.add(ch.key)
            elif ch.kind is E.Character and _changed(ch, CHARACTER_FIELDS):
                characters.add(ch.key)
        if characters:
            for shot in store.all(E.Shot):
                if characters.intersection(shot.characters):
                    affected.add(shot.id)
        for shot_id in sorted(affected):
            shot = store.get(E.Shot, shot_id)
            if shot is not None:
                refresh_status(store, shot)

    return store.subscribe(on_changes)
