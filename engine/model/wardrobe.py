"""Which costume a character wears in a scene: the scene's variant, else the episode's,
else the character's default (``Character.costume``). One rule for prompts and staleness,
in Chinese (``costume_for``) and in English (``costume_en_for``, CLIP-family prompts)."""

from __future__ import annotations

from collections.abc import Iterable

from engine.model.entities import Character, Costume, Scene

SCOPES = ("episode", "scene")


def variant_for(character: Character, scene: Scene | None,
                costumes: Iterable[Costume]) -> Costume | None:
    """The wardrobe variant ``character`` wears in ``scene`` (None: the default costume)."""
    if scene is None:
        return None
    by_scope: dict[str, Costume] = {}
    for c in costumes:
        if c.character_id != character.id:
            continue
        if c.scope == "scene" and c.scope_id == scene.id:
            by_scope["scene"] = c
        elif c.scope == "episode" and c.scope_id == scene.episode_id:
            by_scope["episode"] = c
    return by_scope.get("scene", by_scope.get("episode"))


def costume_for(character: Character, scene: Scene | None, costumes: Iterable[Costume]) -> str:
    """The costume ``character`` wears in ``scene`` (``costumes``: any of the project's)."""
    variant = variant_for(character, scene, costumes)
    return character.costume if variant is None else variant.text


def costume_en_for(character: Character, scene: Scene | None,
                   costumes: Iterable[Costume]) -> str:
    """The same in English: a variant's English text ("" when it has none, so a prompt
    never dresses the character in the default costume instead of the scene's)."""
    variant = variant_for(character, scene, costumes)
    return character.costume_en if variant is None else variant.text_en
