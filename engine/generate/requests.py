"""Shot → GenerationRequest, seeds, and the cache key that names a take's inputs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from engine.generate.base import CharacterRef, GenerationRequest, SpokenLine
from engine.model import entities as E
from engine.model.wardrobe import costume_for

CACHE_KEY_VERSION = "storyreel-take-v1"
# what a model backend actually consumes; the animatic also draws the storyboard facts
MODEL_INPUTS = ("prompt", "negative_prompt", "seed", "width", "height", "frames", "fps",
                "steps", "guidance", "camera_move", "duration", "film_fps")


def shot_seed(shot: E.Shot) -> int:
    """The shot's own seed, or a stable one derived from its id (recorded with the take)."""
    if shot.seed is not None:
        return int(shot.seed)
    return int(hashlib.sha256(shot.id.encode()).hexdigest()[:8], 16) & 0x7FFFFFFF


def shot_label(store: Any, shot: E.Shot) -> str:
    """The shot's label, "2-3" or "E2 1-3" in a series (``engine.model.shot_rules``)."""
    from engine.model.shot_rules import episode_numbers
    from engine.model.shot_rules import shot_label as label

    scene = store.get(E.Scene, shot.scene_id)
    siblings = store.shots(shot.scene_id)
    index = next((i for i, s in enumerate(siblings) if s.id == shot.id), 0) + 1
    episode = episode_numbers([scene], store.episodes()).get(scene.id) if scene else None
    return label(scene.number if scene else None, index, episode)


def build_request(store: Any, shot: E.Shot, settings: dict[str, Any]) -> GenerationRequest:
    """Everything one take needs, resolved to plain values and media file paths."""
    project = store.project
    scene = store.get(E.Scene, shot.scene_id)
    names: dict[str, str] = {}
    characters: list[CharacterRef] = []
    for cid in shot.characters:
        c = store.get(E.Character, cid)
        if c is None:
            continue
        names[c.id] = c.name
        costume = costume_for(c, scene, store.costumes(c.id))  # the scene's wardrobe
        characters.append(CharacterRef(
            name=c.name, appearance=c.appearance, costume=costume,
            images=[store.media_path(sha) for sha in c.reference_images],
            image_hashes=list(c.reference_images),
        ))
    for line in shot.dialogue:
        if line.character_id and line.character_id not in names:
            other = store.get(E.Character, line.character_id)
            names[line.character_id] = other.name if other else ""
    mouths = _mouths(store, shot)
    dialogue = [SpokenLine(names.get(d.character_id or "", ""), d.text, mouths.get(i, []))
                for i, d in enumerate(shot.dialogue)]
    if shot.narration:
        dialogue.append(SpokenLine("", shot.narration))
    return GenerationRequest(
        shot_id=shot.id,
        prompt=shot.effective_prompt,
        negative_prompt=shot.negative_prompt,
        seed=int(settings.get("seed", shot_seed(shot))),
        width=int(settings["width"]),
        height=int(settings["height"]),
        frames=int(settings["frames"]),
        fps=float(settings["fps"]),
        steps=int(settings["steps"]),
        guidance=float(settings["guidance"]),
        characters=characters,
        first_frame=store.media_path(shot.first_keyframe) if shot.first_keyframe else None,
        last_frame=store.media_path(shot.last_keyframe) if shot.last_keyframe else None,
        shot_label=shot_label(store, shot),
        size=shot.size,
        angle=shot.angle,
        camera_move=shot.camera_move,
        scene_heading=scene.heading if scene else "",
        scene_description=scene.description if scene else "",
        action=shot.action,
        dialogue=dialogue,
        duration=float(shot.duration),
        style=project.style,
        language=str(project.language),
        film_fps=float(project.fps),
        segment_cache=Path(store.cache_dir) / "take-segments",  # export uses cache/segments
        **_location_reference(store, scene),
    )


def _mouths(store: Any, shot: E.Shot) -> dict[int, list[tuple[float, float]]]:
    """Dialogue line index → when its speaker's mouth is open in the shot (voiced lines)."""
    from engine.audio.voices import line_layout
    from engine.generate.animatic_mouths import mouth_intervals

    clips = [c for c in store.all(E.VoiceClip) if c.shot_id == shot.id]
    if not clips:
        return {}
    by_index = {c.line_index: c for c in clips}
    return {p.line_index: mouth_intervals(by_index[p.line_index].timings, p.offset)
            for p in line_layout(shot, clips) if p.line_index >= 0}


def _location_reference(store: Any, scene: E.Scene | None) -> dict[str, Any]:
    place = store.get(E.Location, scene.location_id) if scene and scene.location_id else None
    if place is None or not place.reference_images:
        return {}
    sha = place.reference_images[0]
    return {"location_image": store.media_path(sha), "location_hash": sha}


def request_facts(request: GenerationRequest, *, storyboard: bool) -> dict[str, Any]:
    """The inputs of a request as JSON-ready values (paths replaced by content hashes)."""
    facts: dict[str, Any] = {k: _plain(getattr(request, k)) for k in MODEL_INPUTS}
    facts["references"] = [[c.name, c.image_hashes] for c in request.characters]
    if request.location_hash:  # only when set: takes without one keep their cache keys
        facts["location_reference"] = request.location_hash
    if storyboard:
        facts.update({
            "shot_label": request.shot_label, "size": str(request.size),
            "angle": str(request.angle), "scene_heading": request.scene_heading,
            "scene_description": request.scene_description, "action": request.action,
            "dialogue": [[d.speaker, d.text] for d in request.dialogue],
            **({"mouths": [[list(iv) for iv in d.mouth] for d in request.dialogue]}
               if any(d.mouth for d in request.dialogue) else {}),
            "duration": request.duration, "style": request.style,
            "language": request.language,
            "characters": [[c.name, c.appearance, c.costume] for c in request.characters],
        })
    return facts


def cache_key(request: GenerationRequest, backend: str, model_hash: str,
              keyframes: tuple[str | None, str | None], *, storyboard: bool) -> str:
    """sha256 of every input of a take: same key → the same clip, reused with zero compute."""
    payload = {
        "v": CACHE_KEY_VERSION, "backend": backend, "model_hash": model_hash,
        "keyframes": list(keyframes), **request_facts(request, storyboard=storyboard),
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _plain(value: Any) -> Any:
    return str(value) if hasattr(value, "value") else value
