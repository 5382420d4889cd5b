"""Which costume a character wears in a scene: the scene's variant, else the episode's,
else the character's default (``Character.costume``). One rule for prompts and staleness."""

from __future__ import annotations

from collections.abc import Iterable

from engine.model.entities import Character, Costume, Scene

SCOPES = ("episode", "scene")


def costume_for(character: Character, scene: Scene | None, costumes: Iterable[Costume]) -> str:
    """The costume ``character`` wears in ``scene`` (``costumes``: any of the project's)."""
    if scene is None:
        return character.costume
    by_scope: dict[str, str] = {}
    for c in costumes:
        if c.character_id != character.id:
            continue
        if c.scope == "scene" and c.scope_id == scene.id:
            by_scope["scene"] = c.text
        elif c.scope == "episode" and c.scope_id == scene.episode_id:
            by_scope["episode"] = c.text
    return by_scope.get("scene", by_scope.get("episode", character.costume))
