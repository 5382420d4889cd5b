"""How long a batch of takes will take, and in which memory profile, before running it.

After every model run the seconds per denoising step are kept in the user's registry
(``STORYREEL_HOME/timings.json``), per model content hash, device, memory profile and
size (width×height×frames); an estimate uses the figure measured on this machine, else
the nearest measured size of the same model scaled by pixels×frames, else the published
figures below (Wan2.1 model cards, RTX 4090, 480×832×81, bf16).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.generate import segments
from engine.generate.presets import FAMILY_RULES

TIMINGS_NAME = "timings.json"
# (family, parameter-size hint) → seconds per step at 480×832×81 on one RTX 4090 (bf16)
PUBLISHED_S_PER_STEP: dict[str, float] = {
    "wan-vace": 6.0, "wan-i2v": 6.5, "wan-t2v": 5.0, "ltx-condition": 1.2, "sdxl": 0.12,
}
PUBLISHED_SIZE = 480 * 832 * 81
EMA = 0.5  # weight of the newest measurement


def _home() -> Path:
    base = os.environ.get("STORYREEL_HOME")
    if base:
        return Path(base)
    from platformdirs import user_data_dir

    return Path(user_data_dir("storyreel"))


def _path() -> Path:
    return _home() / TIMINGS_NAME


def _load() -> dict[str, Any]:
    try:
        data = json.loads(_path().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _key(model_hash: str, device: str, profile: str, width: int, height: int,
         frames: int) -> str:
    return f"{model_hash}|{device}|{profile}|{width}x{height}x{frames}"


def record(model_hash: str, device: str, profile: str, width: int, height: int, frames: int,
           seconds_per_step: float) -> None:
    """Keep a measured s/step (a moving average over runs); never fails a generation."""
    if not (seconds_per_step > 0):
        return
    data = _load()
    key = _key(model_hash, device, profile, width, height, frames)
    old = data.get(key)
    value = seconds_per_step if not isinstance(old, (int, float)) else (
        EMA * seconds_per_step + (1 - EMA) * float(old))
    data[key] = round(value, 6)
    path = _path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.part")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def seconds_per_step(model_hash: str, family: str, device: str, profile: str, width: int,
                     height: int, frames: int) -> tuple[float | None, str]:
    """(s/step, where the figure comes from)."""
    data = _load()
    exact = data.get(_key(model_hash, device, profile, width, height, frames))
    if isinstance(exact, (int, float)):
        return float(exact), "measured here"
    size = width * height * max(1, frames)
    nearest: tuple[float, float] | None = None
    for key, value in data.items():
        parts = key.split("|")
        if len(parts) != 4 or parts[0] != model_hash or parts[1] != device \
                or not isinstance(value, (int, float)):
            continue
        try:
            w, h, f = (int(v) for v in parts[3].split("x"))
        except ValueError:
            continue
        other = w * h * max(1, f)
        if nearest is None or abs(other - size) < abs(nearest[0] - size):
            nearest = (other, float(value))
    if nearest is not None:
        return nearest[1] * size / nearest[0], "measured here at another size, scaled"
    if device == "cuda" and family in PUBLISHED_S_PER_STEP:
        return PUBLISHED_S_PER_STEP[family] * size / PUBLISHED_SIZE, "published figures"
    return None, "no figure yet (run one take to measure)"


@dataclass
class ShotEstimate:
    label: str
    width: int
    height: int
    window: int
    segments: int
    steps: int
    seconds: float | None
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"shot": self.label, "size": [self.width, self.height], "window": self.window,
                "segments": self.segments, "steps": self.steps,
                "seconds": None if self.seconds is None else round(self.seconds, 1),
                "source": self.source}


@dataclass
class BatchEstimate:
    backend: str
    device: str
    memory_profile: str
    shots: list[ShotEstimate] = field(default_factory=list)

    @property
    def seconds(self) -> float | None:
        known = [s.seconds for s in self.shots]
        return None if any(v is None for v in known) else float(sum(known))  # type: ignore

    def to_dict(self) -> dict[str, Any]:
        return {"backend": self.backend, "device": self.device,
                "memory_profile": self.memory_profile,
                "seconds": None if self.seconds is None else round(self.seconds, 1),
                "shots": [s.to_dict() for s in self.shots]}


def estimate(store: Any, shot_ids: list[str], spec: Any) -> BatchEstimate:
    """What generating these shots with ``spec`` would take, without loading a model."""
    from engine.generate.memory import plan
    from engine.generate.requests import shot_label
    from engine.generate.service import ANIMATIC, family_of, settings_for
    from engine.model import entities as E

    family, model_hash = family_of(spec.backend)
    folder = None
    if family != ANIMATIC:
        from engine.generate.registry import get_model

        folder = get_model(spec.backend)
    placement = plan(spec.device, folder, spec.memory_profile) if family != ANIMATIC else None
    device = placement.device if placement else "cpu"
    profile = placement.profile if placement else "none"
    out = BatchEstimate(spec.backend, device, profile)
    rules = FAMILY_RULES.get(family)
    for shot_id in shot_ids:
        shot = store.require(E.Shot, shot_id)
        settings = settings_for(store, shot, spec, family)
        window = int(settings["frames"])
        count = 1
        if rules is not None and rules.video and family != ANIMATIC:
            needed = segments.frames_needed(shot.duration, float(settings["fps"]),
                                            rules.frame_step)
            count = segments.plan(needed, window).count
        steps = int(settings["steps"])
        per_step, source = seconds_per_step(model_hash, family, device, profile,
                                            int(settings["width"]), int(settings["height"]),
                                            window)
        seconds = None if per_step is None else per_step * steps * count
        out.shots.append(ShotEstimate(shot_label(store, shot), int(settings["width"]),
                                      int(settings["height"]), window, count, steps, seconds,
                                      source))
    return out
