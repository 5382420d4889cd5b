"""Single-file checkpoints as ComfyUI users keep them: what a file is, and its config.

A Wan transformer ``.safetensors`` (or a GGUF-quantized one, as city96 publishes) in the
original Wan key layout carries no config; neither does a UMT5 text encoder or a Wan VAE
file. This module reads only the files' headers (tensor names and shapes, never the
weights), tells what each file is, infers the diffusers config from the shapes (the rules
ComfyUI's model detection uses: 128-wide attention heads, blocks counted), and refuses a
file it cannot account for — unknown keys, a truncated GGUF, parts of two architectures —
with one sentence. Loading (``engine.generate.assemble``) uses diffusers' own key
conversion (``convert_wan_transformer_to_diffusers``, ``convert_wan_vae_to_diffusers``),
except for the Wan 2.2 VAE, which diffusers 0.42 cannot convert (``engine.generate.
wan22_vae``); CLIP image encoder files are read by ``engine.generate.clip_vision``.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.generate import wan22_vae
from engine.generate.registry import PICKLE_SUFFIXES, ModelError

WEIGHT_SUFFIXES = (".safetensors", ".gguf")
HEAD_DIM = 128  # every Wan checkpoint (1.3B: 12 heads, 5B: 24, 14B: 40)
PREFIXES = ("model.diffusion_model.", "diffusion_model.")
# Wan 2.2 A14B: where the high-noise expert hands over to the low-noise one
BOUNDARY_RATIO = {"wan-t2v": 0.875, "wan-i2v": 0.9}
# original Wan names diffusers 0.42's single-file converter leaves as they are
EXTRA_RENAMES = {"img_emb.emb_pos": "condition_embedder.image_embedder.pos_embed"}


@dataclass
class FileInfo:
    """What one weight file holds: tensor names → shapes, and its storage format."""

    path: Path
    shapes: dict[str, tuple[int, ...]]
    fmt: str  # "safetensors" or "gguf"
    quant: str = ""  # GGUF: the most common quantization type of the weights, e.g. "Q8_0"
    dtypes: set[str] = field(default_factory=set)


def read_file(path: Path) -> FileInfo:
    """Tensor names and shapes of a .safetensors or .gguf file (header only)."""
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise ModelError(f"{path} is not a file.")
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        raise ModelError(f"{path.name} is a pickle file; Storyreel loads safetensors and GGUF "
                         "only — download the .safetensors or .gguf version.")
    if suffix == ".gguf":
        return _read_gguf(path)
    if suffix != ".safetensors":
        raise ModelError(f"{path.name} is neither a .safetensors nor a .gguf file.")
    return _read_safetensors(path)


def _read_safetensors(path: Path) -> FileInfo:
    size = path.stat().st_size
    try:
        with open(path, "rb") as fh:
            (length,) = struct.unpack("<Q", fh.read(8))
            if length <= 0 or 8 + length > size:
                raise ValueError("header longer than the file")
            header = json.loads(fh.read(length))
    except (OSError, ValueError, struct.error) as exc:
        raise ModelError(f"{path.name} is not a readable safetensors file ({exc}).") from exc
    shapes: dict[str, tuple[int, ...]] = {}
    dtypes: set[str] = set()
    end = 0
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        shapes[name] = tuple(int(d) for d in meta["shape"])
        dtypes.add(str(meta["dtype"]))
        end = max(end, int(meta["data_offsets"][1]))
    if 8 + length + end > size:
        raise ModelError(f"{path.name} is truncated: its header names {8 + length + end} bytes "
                         f"but the file has {size}; download it again.")
    return FileInfo(path, shapes, "safetensors", dtypes=dtypes)


def _read_gguf(path: Path) -> FileInfo:
    try:
        from gguf import GGUFReader
    except ImportError as exc:
        raise ModelError("GGUF files need the `gguf` package: pip install 'storyreel[gpu]'."
                         ) from exc
    try:
        reader = GGUFReader(str(path))
        shapes: dict[str, tuple[int, ...]] = {}
        counts: dict[str, int] = {}
        for tensor in reader.tensors:
            # GGUF stores dimensions innermost first; torch's order is the reverse
            shapes[tensor.name] = tuple(int(d) for d in reversed(list(tensor.shape)))
            kind = tensor.tensor_type.name
            if len(shapes[tensor.name]) > 1:
                counts[kind] = counts.get(kind, 0) + 1
    except (ValueError, IndexError, KeyError, struct.error, OSError) as exc:
        raise ModelError(f"{path.name} is not a complete GGUF file ({exc}); it may be "
                         "truncated — download it again.") from exc
    if not shapes:
        raise ModelError(f"{path.name} holds no tensors.")
    quant = max(counts, key=lambda k: counts[k]) if counts else ""
    return FileInfo(path, shapes, "gguf", quant=quant)


# --------------------------------------------------------------------------- transformer
def strip_prefix(shapes: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    out = {}
    for name, shape in shapes.items():
        for prefix in PREFIXES:
            if name.startswith(prefix):
                name = name[len(prefix):]
                break
        out[name] = shape
    return out


def is_wan_transformer(shapes: dict[str, tuple[int, ...]]) -> bool:
    keys = strip_prefix(shapes)
    return "patch_embedding.weight" in keys and "head.head.weight" in keys


def wan_transformer_config(info: FileInfo) -> tuple[str, dict[str, Any]]:
    """(diffusers class name, config) of a Wan transformer in the original key layout."""
    keys = strip_prefix(info.shapes)
    if not is_wan_transformer(info.shapes):
        raise ModelError(f"{info.path.name} is not a Wan transformer in the original layout "
                         "(no patch_embedding / head.head weights).")
    patch = keys["patch_embedding.weight"]
    if len(patch) != 5:
        raise ModelError(f"{info.path.name}: patch_embedding has shape {patch}, not a Wan "
                         "video transformer's 5-D patch embedding.")
    inner, in_channels = patch[0], patch[1]
    patch_size = tuple(patch[2:])
    if inner % HEAD_DIM:
        raise ModelError(f"{info.path.name}: width {inner} is not a multiple of Wan's "
                         f"{HEAD_DIM}-wide attention heads.")
    n_patch = patch_size[0] * patch_size[1] * patch_size[2]
    blocks = {int(m.group(1)) for k in keys if (m := re.match(r"blocks\.(\d+)\.", k))}
    if not blocks:
        raise ModelError(f"{info.path.name} has no transformer blocks.")
    config: dict[str, Any] = {
        "patch_size": list(patch_size),
        "num_attention_heads": inner // HEAD_DIM,
        "attention_head_dim": HEAD_DIM,
        "in_channels": in_channels,
        "out_channels": keys["head.head.weight"][0] // n_patch,
        "text_dim": keys["text_embedding.0.weight"][1],
        "freq_dim": keys["time_embedding.0.weight"][1],
        "ffn_dim": keys["blocks.0.ffn.0.weight"][0],
        "num_layers": max(blocks) + 1,
        "cross_attn_norm": "blocks.0.norm3.weight" in keys,
        "qk_norm": "rms_norm_across_heads" if "blocks.0.self_attn.norm_q.weight" in keys
        else None,
        "eps": 1e-6,
        "rope_max_seq_len": 1024,
    }
    if "img_emb.proj.0.weight" in keys:
        config["image_dim"] = keys["img_emb.proj.0.weight"][0]
    if "blocks.0.cross_attn.k_img.weight" in keys:
        config["added_kv_proj_dim"] = keys["blocks.0.cross_attn.k_img.weight"][1]
    if "img_emb.emb_pos" in keys:
        config["pos_embed_seq_len"] = keys["img_emb.emb_pos"][1]
    vace = {int(m.group(1)) for k in keys if (m := re.match(r"vace_blocks\.(\d+)\.", k))}
    if vace:
        config["vace_in_channels"] = keys["vace_patch_embedding.weight"][1]
        # VACE hints enter evenly spaced blocks (1.3B: every 2nd of 30, 14B: every 5th of 40)
        stride = max(1, config["num_layers"] // len(vace))
        config["vace_layers"] = list(range(0, config["num_layers"], stride))[: len(vace)]
        return "WanVACETransformer3DModel", config
    return "WanTransformer3DModel", config


def convert_transformer_keys(names: dict[str, Any]) -> dict[str, Any]:
    """The original Wan names → diffusers names, through diffusers' own converter."""
    from diffusers.loaders.single_file_utils import convert_wan_transformer_to_diffusers

    renamed = {}
    for name, value in names.items():
        for prefix in PREFIXES:
            if name.startswith(prefix):
                name = name[len(prefix):]
                break
        renamed[EXTRA_RENAMES.get(name, name)] = value
    return convert_wan_transformer_to_diffusers(renamed)


def expected_keys(cls_name: str, config: dict[str, Any]) -> set[str]:
    """The parameter names a diffusers model with ``config`` has (built on the meta device:
    no memory, even at 14B)."""
    return set(expected_shapes(cls_name, config))


def expected_shapes(cls_name: str, config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """Parameter name → shape of a diffusers model with ``config`` (on the meta device)."""
    import diffusers
    import torch

    cls = getattr(diffusers, cls_name)
    with torch.device("meta"):
        model = cls.from_config(config)
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}


def check_keys(info: FileInfo, cls_name: str, config: dict[str, Any]) -> None:
    """Every tensor of the file has a place in the model, and every place is filled."""
    converted = convert_transformer_keys(dict.fromkeys(info.shapes, None))
    expected = expected_keys(cls_name, config)
    unknown = sorted(set(converted) - expected)
    missing = sorted(expected - set(converted))
    if unknown:
        raise ModelError(
            f"{info.path.name} has {len(unknown)} tensor(s) a Wan transformer does not have "
            f"(first: {unknown[0]!r}); it may hold parts of another model."
        )
    if missing:
        raise ModelError(f"{info.path.name} lacks {len(missing)} tensor(s) of a Wan "
                         f"transformer (first: {missing[0]!r}).")


# --------------------------------------------------------------------------- text encoder
def umt5_config(info: FileInfo) -> dict[str, Any]:
    """UMT5EncoderModel config of a text encoder file in the transformers key layout."""
    keys = info.shapes
    if "shared.weight" not in keys or "encoder.block.0.layer.0.SelfAttention.q.weight" not in keys:
        raise ModelError(f"{info.path.name} is not a UMT5 text encoder (no shared / "
                         "encoder.block weights).")
    if any(k.endswith("scale_weight") or k == "scaled_fp8" for k in keys):
        raise ModelError(f"{info.path.name} is a ComfyUI fp8-scaled text encoder; use the "
                         "fp16 or bf16 umt5_xxl file.")
    vocab, d_model = keys["shared.weight"]
    layers = {int(m.group(1)) for k in keys if (m := re.match(r"encoder\.block\.(\d+)\.", k))}
    bias = keys.get("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight")
    if bias is None:
        raise ModelError(f"{info.path.name} is a T5 encoder without per-layer position "
                         "biases, not Wan's UMT5.")
    buckets, heads = bias
    gated = "encoder.block.0.layer.1.DenseReluDense.wi_0.weight" in keys
    wi = "wi_0" if gated else "wi"
    return {
        "vocab_size": vocab, "d_model": d_model, "num_layers": max(layers) + 1,
        "num_heads": heads, "d_kv": keys["encoder.block.0.layer.0.SelfAttention.q.weight"][0]
        // heads,
        "d_ff": keys[f"encoder.block.0.layer.1.DenseReluDense.{wi}.weight"][0],
        "relative_attention_num_buckets": buckets,
        "feed_forward_proj": "gated-gelu" if gated else "relu",
    }


# --------------------------------------------------------------------------- VAE
def wan_vae_config(info: FileInfo) -> dict[str, Any]:
    """AutoencoderKLWan config of a Wan 2.1 or Wan 2.2 VAE file in the original layout."""
    keys = info.shapes
    if "encoder.conv1.weight" not in keys or "decoder.head.2.weight" not in keys:
        if "encoder.conv_in.weight" in keys and "decoder.conv_out.weight" in keys:
            raise ModelError(f"{info.path.name} is a VAE in the diffusers layout; give its "
                             "folder (config.json beside the weights) instead.")
        raise ModelError(f"{info.path.name} is not a Wan VAE (no encoder.conv1 / decoder.head "
                         "weights).")
    if wan22_vae.is_wan22_vae(keys):
        return wan22_vae.config(keys, info.path.name)
    z_dim = keys["conv2.weight"][0]
    if "encoder.downsamples.0.residual.0.gamma" not in keys:
        raise ModelError(f"{info.path.name} has Wan VAE heads but neither the Wan 2.1 nor the "
                         "Wan 2.2 block layout.")
    if z_dim != 16:
        raise ModelError(f"{info.path.name} is a {z_dim}-channel VAE in the Wan 2.1 layout; "
                         "the Wan 2.1 VAE has 16 latent channels.")
    base = keys["encoder.conv1.weight"][0]
    mult = []
    for index in (0, 3, 6, 9):  # each level: two residual blocks, then a resample
        name = f"encoder.downsamples.{index}.residual.2.weight"
        if name not in keys:
            raise ModelError(f"{info.path.name}: the encoder lacks {name}; not a Wan 2.1 VAE.")
        mult.append(keys[name][0] // base)
    temporal = [f"encoder.downsamples.{i}.time_conv.weight" in keys for i in (2, 5, 8)]
    return {"base_dim": base, "z_dim": z_dim, "dim_mult": mult, "num_res_blocks": 2,
            "temperal_downsample": temporal}


def check_vae_keys(info: FileInfo, config: dict[str, Any]) -> None:
    converted = convert_vae_keys(dict(info.shapes))
    expected = expected_shapes("AutoencoderKLWan", config)
    unknown = sorted(set(converted) - set(expected))
    missing = sorted(set(expected) - set(converted))
    if unknown or missing:
        first = unknown[0] if unknown else missing[0]
        raise ModelError(f"{info.path.name} does not match a Wan VAE of its shape "
                         f"({len(unknown)} unknown, {len(missing)} missing tensors; first: "
                         f"{first!r}).")
    wrong = sorted(k for k, shape in expected.items() if tuple(converted[k]) != shape)
    if wrong:
        raise ModelError(f"{info.path.name}: {len(wrong)} tensor(s) do not have the shape a "
                         f"Wan VAE of its size needs (first: {wrong[0]!r} is "
                         f"{tuple(converted[wrong[0]])}, not {expected[wrong[0]]}).")


def convert_vae_keys(state: dict[str, Any]) -> dict[str, Any]:
    """Original Wan VAE names → diffusers names: the Wan 2.2 layout by ``wan22_vae``, the
    Wan 2.1 layout by diffusers' own converter."""
    if wan22_vae.is_wan22_vae(state):
        return wan22_vae.convert(state)
    from diffusers.loaders.single_file_utils import convert_wan_vae_to_diffusers

    return convert_wan_vae_to_diffusers(state)
