"""Quality presets per model family, and how they combine with per-shot and CLI settings.

Resolution order (later wins): the family's preset for the chosen quality → the shot's own
``Shot.generation`` settings → explicit overrides (CLI flags, GUI job dialog). Every value
is validated for the family (Wan frame counts are 4k+1, sizes multiples of 16) and a bad
one is refused with one sentence rather than silently rounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.errors import StoryreelError

QUALITIES = ("draft", "standard", "final")
SETTING_KEYS = ("width", "height", "frames", "steps", "guidance", "fps", "seed", "quality")


class SettingsError(StoryreelError):
    """A generation setting is invalid for the chosen model family."""


@dataclass(frozen=True)
class FamilyRules:
    fps: float
    frame_step: int  # frames = frame_step * k + 1 (1 means any count)
    size_multiple: int
    # quality → (short side, long side, max frames, steps)
    presets: dict[str, tuple[int, int, int, int]]
    guidance: float
    video: bool = True  # False: the model makes a still keyframe
    max_frames: int = 1000  # the most frames one call may make


FAMILY_RULES: dict[str, FamilyRules] = {
    "animatic": FamilyRules(
        fps=24.0, frame_step=1, size_multiple=2, guidance=0.0, max_frames=72000,
        presets={"draft": (360, 640, 0, 1), "standard": (540, 960, 0, 1),
                 "final": (1080, 1920, 0, 1)},
    ),
    "wan-vace": FamilyRules(
        fps=16.0, frame_step=4, size_multiple=16, guidance=5.0,
        presets={"draft": (320, 576, 33, 12), "standard": (480, 832, 81, 30),
                 "final": (720, 1280, 81, 40)},
    ),
    "wan-i2v": FamilyRules(
        fps=16.0, frame_step=4, size_multiple=16, guidance=5.0,
        presets={"draft": (320, 576, 33, 12), "standard": (480, 832, 81, 30),
                 "final": (720, 1280, 81, 40)},
    ),
    "wan-t2v": FamilyRules(
        fps=16.0, frame_step=4, size_multiple=16, guidance=5.0,
        presets={"draft": (320, 576, 33, 12), "standard": (480, 832, 81, 30),
                 "final": (720, 1280, 81, 40)},
    ),
    "ltx-condition": FamilyRules(
        fps=24.0, frame_step=8, size_multiple=32, guidance=3.0,
        presets={"draft": (320, 576, 49, 8), "standard": (480, 832, 97, 30),
                 "final": (704, 1216, 121, 40)},
    ),
    "sdxl": FamilyRules(
        fps=16.0, frame_step=1, size_multiple=8, guidance=5.0, video=False, max_frames=72000,
        presets={"draft": (512, 896, 0, 12), "standard": (768, 1344, 0, 30),
                 "final": (832, 1472, 0, 40)},
    ),
}


def nearest_frames(seconds: float, fps: float, step: int, cap: int) -> int:
    """The frame count of form step*k+1 closest to ``seconds`` at ``fps``, at most ``cap``."""
    want = max(1, round(seconds * fps))
    if step > 1:
        k = max(1, round((want - 1) / step))
        want = step * k + 1
        while cap and want > cap:
            want -= step
    elif cap:
        want = min(want, cap)
    return max(1, want)


def resolve_settings(
    family: str,
    quality: str,
    *,
    portrait: bool,
    duration: float,
    shot_settings: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """width, height, frames, fps, steps, guidance (+ seed if given) for one shot."""
    rules = FAMILY_RULES.get(family)
    if rules is None:
        raise SettingsError(f"No quality presets for model family {family!r}.")
    layered: dict[str, Any] = {}
    for source in (shot_settings or {}, overrides or {}):
        layered.update({k: v for k, v in source.items() if k in SETTING_KEYS and v is not None})
    quality = str(layered.pop("quality", quality))
    if quality not in QUALITIES:
        raise SettingsError(f"Quality {quality!r} is not one of {', '.join(QUALITIES)}.")
    short, long, max_frames, steps = rules.presets[quality]
    width, height = (short, long) if portrait else (long, short)
    fps = float(layered.get("fps", rules.fps))
    out: dict[str, Any] = {
        "quality": quality,
        "width": int(layered.get("width", width)),
        "height": int(layered.get("height", height)),
        "fps": fps,
        "steps": int(layered.get("steps", steps)),
        "guidance": float(layered.get("guidance", rules.guidance)),
    }
    if "frames" in layered:
        out["frames"] = int(layered["frames"])
    else:
        out["frames"] = nearest_frames(duration, fps, rules.frame_step, max_frames)
    if "seed" in layered:
        out["seed"] = int(layered["seed"])
    validate(family, out)
    return out


def validate(family: str, settings: dict[str, Any]) -> None:
    rules = FAMILY_RULES[family]
    m = rules.size_multiple
    for key in ("width", "height"):
        value = settings[key]
        if value < m or value > 4096 or value % m:
            raise SettingsError(
                f"{key} {value} does not fit {family}: use a multiple of {m} between {m} and 4096."
            )
    frames = settings["frames"]
    if frames < 1 or frames > rules.max_frames:
        raise SettingsError(f"frames {frames} is outside 1–{rules.max_frames} for {family}.")
    step = rules.frame_step
    if step > 1 and (frames - 1) % step:
        lower = (frames - 1) // step * step + 1
        raise SettingsError(
            f"{family} models take {step}k+1 frames; {frames} is not one (try {lower} or "
            f"{lower + step})."
        )
    if not 1 <= settings["steps"] <= 200:
        raise SettingsError(f"steps {settings['steps']} is outside 1–200.")
    if not 1 <= settings["fps"] <= 120:
        raise SettingsError(f"fps {settings['fps']} is outside 1–120.")
