"""Series operations: episodes, locations and wardrobe variants.

Each is one validated, logged, undoable transaction that re-derives what it affects: a
location's description is in the prompts of the shots of its scenes; a wardrobe variant
is in the prompts (and the staleness fingerprint) of the shots that character appears in
within that scene or episode, and of no other shot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.model import entities as E
from engine.model.wardrobe import SCOPES
from engine.ops import derived
from engine.ops.base import Changes, OpError, number, operation, text, with_result
from engine.ops.characters import check_reference_files
from engine.store.project import ProjectStore

EPISODE_FIELDS = ("title", "logline")
LOCATION_FIELDS = ("name", "description", "reference_images")


def set_episode_fields(store: ProjectStore, episode_id: str, *, author: str | None = None,
                       **fields: Any) -> Changes:
    episode = store.require(E.Episode, episode_id)
    values: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in EPISODE_FIELDS:
            raise OpError(f"An episode has no settable field {name!r}; fields: "
                          f"{', '.join(EPISODE_FIELDS)}.")
        values[name] = text(value, f"The episode {name}", limit=2000).strip()
    with operation(store, f"Edit episode {episode.number}", author) as out:
        if values:
            store.set_fields(E.Episode, episode.id, **values)
    return out[0]


def add_episode(store: ProjectStore, episode_number: int | None = None, *, title: str = "",
                author: str | None = None) -> Changes:
    taken = {e.number for e in store.episodes()}
    n = max(taken, default=0) + 1 if episode_number is None else int(
        number(episode_number, "An episode number", 1, 9999, integer=True))
    if n in taken:
        raise OpError(f"Episode {n} already exists in this project.")
    episode = E.Episode(number=n, title=text(title, "The episode title", limit=2000).strip())
    with operation(store, f"Add episode {n}", author) as out:
        store.add(episode)
    return with_result(out[0], store.require(E.Episode, episode.id))


def location_by_name(store: ProjectStore, name: str) -> E.Location:
    key = str(name).strip()
    found = store.all(E.Location, name=key)
    if found:
        return found[0]
    matches = [loc for loc in store.locations() if len(key) >= 4 and loc.id.startswith(key)]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(loc.name for loc in store.locations()[:12]) or "none yet"
    raise OpError(f"There is no location named {name!r} in this project (locations: {known}).")


def _scenes_at(store: ProjectStore, location_id: str) -> list[str]:
    return [s.id for s in store.all(E.Scene, location_id=location_id)]


def set_location_fields(store: ProjectStore, location_id: str, *, author: str | None = None,
                        **fields: Any) -> Changes:
    location = store.require(E.Location, location_id)
    values: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in LOCATION_FIELDS:
            raise OpError(f"A location has no settable field {name!r}; fields: "
                          f"{', '.join(LOCATION_FIELDS)}.")
        if name == "reference_images":
            refs = [str(v) for v in value]
            missing = [r for r in refs if store.get(E.MediaAsset, r) is None]
            if missing:
                raise OpError(f"Reference {missing[0][:12]}… is not in the project's media.")
            values[name] = refs
        elif name == "name":
            new = text(value, "A location's name", blank_ok=False, limit=200).strip()
            other = store.all(E.Location, name=new)
            if other and other[0].id != location.id:
                raise OpError(f"A location named {new!r} already exists in this project.")
            values[name] = new
        else:
            values[name] = text(value, "The location description", limit=4000).strip()
    with operation(store, f"Edit location {location.name}", author) as out:
        if values:
            store.set_fields(E.Location, location.id, **values)
            derived.refresh(store, scene_ids=_scenes_at(store, location.id))
    return out[0]


def set_location_references(store: ProjectStore, location_id: str, paths: list[str | Path],
                            *, author: str | None = None) -> Changes:
    """Replace a location's reference images with these files (each checked first)."""
    check_reference_files(list(paths))
    refs = [store.media.import_file(p).sha256 for p in paths]
    return set_location_fields(store, location_id, author=author, reference_images=refs)


def _scope_shots(store: ProjectStore, character_id: str, scope: str, scope_id: str
                 ) -> list[str]:
    scenes = {scope_id} if scope == "scene" else {
        s.id for s in store.all(E.Scene, episode_id=scope_id)}
    return [s.id for s in store.all(E.Shot)
            if s.scene_id in scenes and character_id in s.characters]


def set_costume(store: ProjectStore, character_id: str, scope: str, scope_id: str,
                costume: str | None, *, costume_en: str | None = None,
                author: str | None = None) -> Changes:
    """What a character wears in one scene or episode (``scope`` "scene"/"episode"), in the
    project's language and (``costume_en``) in English for CLIP-family prompts; None keeps
    that text as it is. Blank text (both blank) removes the variant (the default costume
    applies again). Only the shots of that character in that scope are recomposed and,
    when generated, marked stale."""
    character = store.require(E.Character, character_id)
    if scope not in SCOPES:
        raise OpError(f"A costume applies to a scene or an episode, not {scope!r}.")
    owner = store.get(E.Scene if scope == "scene" else E.Episode, scope_id)
    if owner is None:
        raise OpError(f"No {scope} with id {scope_id} in this project.")
    if costume is None and costume_en is None:
        raise OpError("Give the costume's text, its English text, or both.")
    found = [c for c in store.costumes(character.id)
             if c.scope == scope and c.scope_id == scope_id]
    current = found[0] if found else None
    costume = (current.text if current else "") if costume is None else text(
        costume, "The costume", limit=2000).strip()
    english = (current.text_en if current else "") if costume_en is None else text(
        costume_en, "The English costume", limit=2000).strip()
    with operation(store, f"Costume of {character.name}", author) as out:
        if current is not None and not costume and not english:
            store.delete(current)
        elif current is not None:
            changed = {k: v for k, v in (("text", costume), ("text_en", english))
                       if getattr(current, k) != v}
            if changed:
                store.set_fields(E.Costume, current.id, **changed)
        elif costume or english:
            store.add(E.Costume(character_id=character.id, scope=scope, scope_id=scope_id,
                                text=costume, text_en=english))
        derived.refresh(store, shot_ids=_scope_shots(store, character.id, scope, scope_id))
    return out[0]
