"""A CLIP image encoder as a single file, as ComfyUI keeps it (``models/clip_vision/
clip_vision_h.safetensors``, the image encoder of Wan 2.1 I2V 14B).

ComfyUI's file is a transformers ``CLIPVisionModelWithProjection`` state dict:
``vision_model.embeddings.patch_embedding.weight``, ``vision_model.pre_layrnorm.*``,
``vision_model.encoder.layers.N.{self_attn.{q,k,v,out}_proj, layer_norm1, mlp.fc1, ...}``,
``vision_model.post_layernorm.*`` and a ``visual_projection.weight``. Wan's pipeline reads
the penultimate hidden states of a ``CLIPVisionModel``, so the projection is not loaded.
The file carries no config: widths, depth and image size come from the tensor shapes; the
number of heads (not visible in any shape) from the published CLIP models of that width
(ViT-H/14 and ViT-bigG: 16, ViT-L/14: 16, ViT-B: 12; any other width: 64-wide heads, as
every CLIP has). The image processor is CLIP's standard one (OpenAI mean and std, bicubic
resize of the short side, centre crop) at the model's image size, built in code.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from engine.generate.registry import ModelError

PATCH = "vision_model.embeddings.patch_embedding.weight"
# tensors a ComfyUI file may hold that CLIPVisionModel has no place for (or rebuilds)
NOT_LOADED = ("visual_projection.weight", "vision_model.embeddings.position_ids")
# width → (heads, activation) of the published CLIP vision towers
KNOWN_WIDTHS = {1280: (16, "gelu"), 1664: (16, "gelu"), 1024: (16, "quick_gelu"),
                768: (12, "quick_gelu")}
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


FLAT_TOP = ("embeddings.", "pre_layrnorm.", "encoder.layers.", "post_layernorm.")


def canonical(state: dict[str, Any]) -> dict[str, Any]:
    """The ``vision_model.`` names of ComfyUI's files, also for a file saved from a
    transformers 5 ``CLIPVisionModel`` (whose names lack that level)."""
    if PATCH in state or PATCH.removeprefix("vision_model.") not in state:
        return state
    return {("vision_model." + k if k.startswith(FLAT_TOP) else k): v for k, v in state.items()}


def is_clip_vision(shapes: dict[str, Any]) -> bool:
    return PATCH in canonical(shapes)


def config(shapes: dict[str, tuple[int, ...]], file_name: str) -> dict[str, Any]:
    """``CLIPVisionConfig`` arguments of a CLIP vision file in the transformers layout."""
    shapes = canonical(shapes)
    if not is_clip_vision(shapes):
        if any(k.startswith(("visual.transformer.", "visual.conv1.")) for k in shapes):
            raise ModelError(f"{file_name} is a CLIP image encoder in the open_clip layout; "
                             "use ComfyUI's clip_vision_h.safetensors (transformers layout).")
        raise ModelError(f"{file_name} is not a CLIP image encoder (no "
                         f"{PATCH}).")
    hidden, channels, patch = shapes[PATCH][:3]
    positions = shapes.get("vision_model.embeddings.position_embedding.weight", (0,))[0]
    side = round((positions - 1) ** 0.5)
    if positions < 2 or side * side != positions - 1:
        raise ModelError(f"{file_name}: {positions} position embeddings are not one class "
                         "token plus a square grid of patches.")
    layers = {int(m.group(1)) for k in shapes
              if (m := re.match(r"vision_model\.encoder\.layers\.(\d+)\.", k))}
    if not layers:
        raise ModelError(f"{file_name} has no encoder layers.")
    if hidden in KNOWN_WIDTHS:
        heads, act = KNOWN_WIDTHS[hidden]
    elif hidden % 64 == 0:
        heads, act = hidden // 64, "gelu"
    else:
        raise ModelError(f"{file_name}: width {hidden} is not a CLIP width (a multiple of "
                         "its 64-wide heads).")
    fc1 = shapes.get("vision_model.encoder.layers.0.mlp.fc1.weight")
    if fc1 is None:
        raise ModelError(f"{file_name} lacks vision_model.encoder.layers.0.mlp.fc1.weight.")
    out: dict[str, Any] = {
        "hidden_size": hidden, "intermediate_size": fc1[0], "num_hidden_layers": max(layers) + 1,
        "num_attention_heads": heads, "num_channels": channels, "patch_size": patch,
        "image_size": side * patch, "hidden_act": act, "layer_norm_eps": 1e-5,
    }
    if "visual_projection.weight" in shapes:
        out["projection_dim"] = shapes["visual_projection.weight"][0]
    return out


def _model(cfg: dict[str, Any]) -> Any:
    import torch
    from transformers import CLIPVisionConfig, CLIPVisionModel

    with torch.device("meta"):
        return CLIPVisionModel(CLIPVisionConfig(**cfg))


def _to_model(state: dict[str, Any], model: Any) -> dict[str, Any]:
    """File names → the model's: transformers 5 dropped CLIPVisionModel's ``vision_model.``
    level (CLIPVisionModelWithProjection, as in the file, keeps it)."""
    flat = not any(k.startswith("vision_model.") for k in model.state_dict())
    out = {}
    for name, value in canonical(state).items():
        if name in NOT_LOADED:
            continue
        out[name.removeprefix("vision_model.") if flat else name] = value
    return out


def check(shapes: dict[str, tuple[int, ...]], cfg: dict[str, Any], file_name: str) -> None:
    """Every tensor of the file has its place (and shape) in the model, every place filled."""
    model = _model(cfg)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    given = _to_model(shapes, model)
    unknown = sorted(set(given) - set(expected))
    missing = sorted(set(expected) - set(given))
    if unknown:
        raise ModelError(f"{file_name} has {len(unknown)} tensor(s) a CLIP image encoder does "
                         f"not have (first: {unknown[0]!r}); it may hold parts of another "
                         "model.")
    if missing:
        raise ModelError(f"{file_name} lacks {len(missing)} tensor(s) of a CLIP image encoder "
                         f"(first: {missing[0]!r}).")
    wrong = sorted(k for k in expected if tuple(given[k]) != expected[k])
    if wrong:
        raise ModelError(f"{file_name}: {wrong[0]!r} has shape {tuple(given[wrong[0]])}, not "
                         f"the {expected[wrong[0]]} its other tensors imply.")


def load(path: Path, cfg: dict[str, Any], dtype: Any) -> Any:
    """The CLIPVisionModel of a single file (safetensors only; the projection left out)."""
    import torch
    from safetensors.torch import load_file

    model = _model(cfg)
    model.load_state_dict(_to_model(load_file(str(path)), model), strict=True, assign=True)
    tower = getattr(model, "vision_model", model)
    embeddings = tower.embeddings  # its non-persistent buffer, still on the meta device
    embeddings.position_ids = torch.arange(embeddings.num_positions).expand((1, -1))
    return model.to(dtype).eval()


def processor(image_size: int) -> Any:
    """CLIP's standard image processor at ``image_size`` (224 for every published CLIP)."""
    from transformers import CLIPImageProcessor

    return CLIPImageProcessor(
        do_resize=True, size={"shortest_edge": image_size}, resample=3,
        do_center_crop=True, crop_size={"height": image_size, "width": image_size},
        do_rescale=True, rescale_factor=1 / 255, do_normalize=True, image_mean=CLIP_MEAN,
        image_std=CLIP_STD, do_convert_rgb=True,
    )
