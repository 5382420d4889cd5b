"""Music and sound-effect placements, and clip edits of the timeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.audio import music, voices
from engine.jobs.progress import CancelToken, Progress, no_progress
from engine.model import entities as E
from engine.ops.base import Changes, OpError, number, operation, with_result
from engine.render import timeline_builder
from engine.store.project import ProjectStore

PLACEMENT_FIELDS = ("from_shot", "to_shot", "offset", "gain_db", "fade_in", "fade_out", "loop")


def add_music(store: ProjectStore, path: str | Path, *, from_shot: int | None = None,
              to_shot: int | None = None, gain_db: float = 0.0,
              author: str | None = None) -> Changes:
    with operation(store, f"Add music {Path(path).name}", author) as out:
        placement = music.add_music(store, path, from_shot=from_shot, to_shot=to_shot,
                                    gain_db=gain_db)
    return with_result(out[0], placement)


def add_sfx(store: ProjectStore, shot_number: int, path: str | Path, *, offset: float = 0.0,
            gain_db: float = 0.0, author: str | None = None) -> Changes:
    with operation(store, f"Add sound {Path(path).name}", author) as out:
        placement = music.add_sfx(store, shot_number, path, offset=offset, gain_db=gain_db)
    return with_result(out[0], placement)


def set_placement_fields(store: ProjectStore, placement_id: str, *,
                         author: str | None = None, **fields: Any) -> Changes:
    placement = store.require(E.AudioPlacement, placement_id)
    values: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in PLACEMENT_FIELDS:
            raise OpError(f"A music or sound placement has no field {name!r}; fields: "
                          f"{', '.join(PLACEMENT_FIELDS)}.")
        if name in ("from_shot", "to_shot"):
            if value is not None and store.get(E.Shot, value) is None:
                raise OpError(f"No shot with id {value} in this project.")
            values[name] = value
        elif name == "offset":
            values[name] = float(number(value, "Offset (seconds)", -3600, 3600))
        elif name == "gain_db":
            values[name] = float(number(value, "Gain (dB)", -60, 24))
        elif name in ("fade_in", "fade_out"):
            values[name] = float(number(value, name.replace("_", " ").capitalize(), 0, 600))
        else:
            values[name] = bool(value)
    with operation(store, f"Edit {placement.role}", author) as out:
        if values:
            store.set_fields(E.AudioPlacement, placement.id, **values)
    return out[0]


def remove_placement(store: ProjectStore, placement_id: str, *,
                     author: str | None = None) -> Changes:
    placement = store.require(E.AudioPlacement, placement_id)
    with operation(store, f"Remove {placement.role}", author) as out:
        store.delete(placement)
    return out[0]


def set_clip_edit(store: ProjectStore, shot_id: str, *, author: str | None = None,
                  **changes: Any) -> Changes:
    """Trim, speed, transition and gain of one shot's clip (validated by the timeline)."""
    from engine.ops.addressing import shot_label

    with operation(store, f"Edit clip of shot {shot_label(store, shot_id)}", author) as out:
        edit = timeline_builder.set_clip_edit(store, shot_id, **changes)
    return with_result(out[0], edit)



def voice_lines(store: ProjectStore, shot_ids: list[str] | None = None, *,
                episode: str | int | None = None, progress: Progress = no_progress,
                cancel: CancelToken | None = None) -> voices.VoiceReport:
    """Synthesize every dialogue line and narration of these shots (all when None; with
    ``episode``, its number or id, that episode's shots alone); the engine's work (voice
    clips, shots timed to their voices), not undoable."""
    if episode is not None:
        from engine.ops.addressing import resolve_episode

        scenes = {sc.id for sc in store.scenes(resolve_episode(store, episode).id)}
        in_episode = [s.id for s in store.shots() if s.scene_id in scenes]
        if shot_ids is not None:
            outside = [s for s in shot_ids if s not in set(in_episode)]
            if outside:
                raise OpError(f"Shot {outside[0][:8]} is not in episode {episode}; give "
                              "shots of that episode, or leave out --episode.")
        else:
            shot_ids = in_episode
    return voices.synthesize_project(store, shot_ids, progress=progress, cancel=cancel)
