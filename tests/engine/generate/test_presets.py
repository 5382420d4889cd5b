from __future__ import annotations

import pytest

from engine.generate.memory import GIB, pick_profile, plan
from engine.generate.presets import SettingsError, nearest_frames, resolve_settings


def test_quality_presets_per_family_and_orientation() -> None:
    draft = resolve_settings("wan-vace", "draft", portrait=True, duration=3.0)
    final = resolve_settings("wan-vace", "final", portrait=True, duration=3.0)
    assert (draft["width"], draft["height"]) == (320, 576)
    assert draft["width"] * draft["height"] < final["width"] * final["height"]
    assert draft["steps"] < final["steps"]
    assert (draft["frames"] - 1) % 4 == 0 and draft["frames"] <= 33
    wide = resolve_settings("wan-vace", "standard", portrait=False, duration=3.0)
    assert (wide["width"], wide["height"]) == (832, 480)
    assert wide["frames"] == 49  # 3 s at 16 fps → 48, rounded to the nearest 4k+1


def test_shot_settings_then_flags_override_presets() -> None:
    out = resolve_settings(
        "wan-vace", "draft", portrait=True, duration=3.0,
        shot_settings={"steps": 20, "width": 480, "seed": 7},
        overrides={"steps": 4, "frames": 9},
    )
    assert out["steps"] == 4 and out["width"] == 480 and out["frames"] == 9 and out["seed"] == 7
    per_shot_quality = resolve_settings("sdxl", "draft", portrait=True, duration=1.0,
                                        shot_settings={"quality": "final"})
    assert per_shot_quality["quality"] == "final" and per_shot_quality["steps"] == 40


@pytest.mark.parametrize("override, message", [
    ({"frames": 80}, r"4k\+1"),
    ({"width": 100}, "multiple of 16"),
    ({"steps": 0}, "steps"),
])
def test_bad_settings_are_refused_not_rounded(override: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        resolve_settings("wan-i2v", "draft", portrait=True, duration=2.0, overrides=override)


def test_nearest_frames() -> None:
    assert nearest_frames(5.0, 16, 4, 81) == 81
    assert nearest_frames(10.0, 16, 4, 81) == 81  # capped, still 4k+1
    assert nearest_frames(0.1, 16, 4, 81) == 5
    assert nearest_frames(1.0, 24, 1, 0) == 24


def test_memory_profiles_from_free_vram() -> None:
    # Wan2.1-1.3B-ish: 3 GiB of bf16 weights, transformer 2.6 GiB
    assert pick_profile(24 * GIB, 3 * GIB, int(2.6 * GIB)) == ("none", False)
    # 14B-ish on a 24 GB card: model offload does not fit the transformer → group offload
    assert pick_profile(22 * GIB, 40 * GIB, 28 * GIB) == ("group-offload", True)
    assert pick_profile(16 * GIB, 20 * GIB, 11 * GIB) == ("model-offload", True)
    assert pick_profile(80 * GIB, 3 * GIB, 2 * GIB, forced="group-offload")[0] == "group-offload"


def test_cpu_plan_is_fp32_without_offload() -> None:
    placement = plan("cpu", None)
    assert (placement.device, placement.dtype, placement.profile) == ("cpu", "float32", "none")
