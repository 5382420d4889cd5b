"""Device, dtype and memory profile, picked from what the machine has.

Profiles, from fastest to leanest:

- ``none``: the whole pipeline on the GPU.
- ``model-offload``: ``enable_model_cpu_offload()`` — one component on the GPU at a time.
- ``group-offload``: the pipeline's ``enable_group_offload`` (leaf level, CUDA streams
  overlap transfers with compute) — fits 14B-class models in consumer VRAM, slower.
- ``vae-tiling`` is added to any offload profile (decoding 81 frames at 480p is the peak).

On CPU the profile is always ``none`` and the dtype fp32. torch is imported lazily: this
module is importable without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import StoryreelError

PROFILES = ("none", "model-offload", "group-offload")
GIB = 1 << 30


class DeviceError(StoryreelError):
    """The requested device is not available."""


@dataclass(frozen=True)
class Placement:
    device: str  # "cpu" or "cuda"
    dtype: str  # "float32", "bfloat16", "float16"
    profile: str  # one of PROFILES
    vae_tiling: bool
    free_vram: int = 0  # bytes, when measured

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "dtype": self.dtype, "memory_profile": self.profile,
                "vae_tiling": self.vae_tiling, "free_vram_gib": round(self.free_vram / GIB, 2)}


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def resolve_device(device: str) -> str:
    if device not in ("auto", "cpu", "cuda"):
        raise DeviceError(f"Device {device!r} is not one of auto, cpu, cuda.")
    if device == "cpu":
        return "cpu"
    has_cuda = cuda_available()
    if device == "cuda" and not has_cuda:
        raise DeviceError("--device cuda was asked for but no CUDA GPU is available here.")
    return "cuda" if has_cuda else "cpu"


def weights_bytes(folder: Path) -> tuple[int, int]:
    """(total, largest component) bytes of safetensors weights in a diffusers folder."""
    per_component: dict[str, int] = {}
    for f in folder.rglob("*.safetensors"):
        rel = f.relative_to(folder).parts
        key = rel[0] if len(rel) > 1 else ""
        per_component[key] = per_component.get(key, 0) + f.stat().st_size
    total = sum(per_component.values())
    return total, max(per_component.values(), default=0)


def pick_profile(free_vram: int, total: int, largest: int, forced: str = "") -> tuple[str, bool]:
    """(profile, vae_tiling) for a model of ``total`` bytes (largest component ``largest``).

    Keeps ~3 GiB headroom for activations and the VAE decode at 480p.
    """
    if forced:
        if forced not in PROFILES:
            raise DeviceError(f"Memory profile {forced!r} is not one of {', '.join(PROFILES)}.")
        return forced, forced != "none"
    headroom = 3 * GIB
    if free_vram >= total + headroom:
        return "none", False
    if free_vram >= largest + headroom:
        return "model-offload", True
    return "group-offload", True


def torch_dtype(name: str) -> Any:
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def model_weights(model: Path | Any | None) -> tuple[int, int]:
    """(total, largest component) bytes a model takes once loaded in half precision.

    ``model`` is a diffusers folder or a registry entry. An assembled entry counts each part
    file: a GGUF transformer by its quantized size (it stays quantized on the GPU), a
    Wan 2.2 A14B model's two experts separately (only one runs at a time).
    """
    if model is None:
        return 0, 0
    options = getattr(model, "options", None)
    if options and options.get("source") == "single-file":
        from engine.generate.assemble import part_bytes

        sizes = part_bytes(model)
        formats = options.get("formats", {})
        for role in list(sizes):
            if formats.get(role, "safetensors") == "safetensors" and _stored_fp32(
                    Path(options["parts"][role])):
                sizes[role] //= 2
        sizes.pop("tokenizer", None)
        return sum(sizes.values()), max(sizes.values(), default=0)
    folder = Path(getattr(model, "folder", model))
    total, largest = weights_bytes(folder)
    if _stored_fp32(folder):
        # checkpoints stored in fp32 take half the memory once loaded in half precision
        total, largest = total // 2, largest // 2
    return total, largest


def plan(device: str, model: Path | Any | None, forced_profile: str = "") -> Placement:
    """Where and how to run a model: resolve ``auto``, measure free VRAM, pick a profile.
    ``model``: a diffusers folder or a registry entry (see ``model_weights``)."""
    resolved = resolve_device(device)
    if resolved == "cpu":
        return Placement("cpu", "float32", "none", False)
    import torch

    free, _total = torch.cuda.mem_get_info()
    dtype = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    total, largest = model_weights(model)
    profile, tiling = pick_profile(free, total, largest, forced_profile)
    return Placement("cuda", dtype, profile, tiling, free)


def _stored_fp32(folder: Path | None) -> bool:
    if folder is None:
        return False
    try:
        from safetensors import safe_open

        first = folder if folder.is_file() else next(iter(sorted(folder.rglob(
            "*.safetensors"))), None)
        if first is None or first.suffix != ".safetensors":
            return False
        if first is None:
            return False
        with safe_open(str(first), framework="numpy") as fh:
            keys = list(fh.keys())
            return bool(keys) and str(fh.get_slice(keys[0]).get_dtype()) in ("F32", "float32")
    except Exception:  # noqa: BLE001 - a guess only; never fails the plan
        return False


def apply(pipe: Any, placement: Placement) -> None:
    """Move a loaded pipeline per the placement (call once, after loading)."""
    if placement.device == "cpu":
        pipe.to("cpu")
        return
    if placement.profile == "none":
        pipe.to("cuda")
    elif placement.profile == "model-offload":
        pipe.enable_model_cpu_offload()
    else:
        import torch

        pipe.enable_group_offload(
            onload_device=torch.device("cuda"), offload_device=torch.device("cpu"),
            offload_type="leaf_level", use_stream=True,
        )
    if placement.vae_tiling and hasattr(getattr(pipe, "vae", None), "enable_tiling"):
        pipe.vae.enable_tiling()
