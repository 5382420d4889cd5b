"""The Wan 2.2 VAE (48 latent channels, TI2V-5B's) as a single file in the original layout.

ComfyUI keeps it as ``wan2.2_vae.safetensors`` with the names of ``Wan2_2_VAE`` in the
Wan2.2 repository (``wan/modules/vae2_2.py``): residual down/up blocks whose resnets and
resampler sit in one ``downsamples`` / ``upsamples`` sequence
(``encoder.downsamples.1.downsamples.2.resample.1.weight``). diffusers 0.42's single-file
converter knows only the Wan 2.1 layout, so this module maps the names itself, a pure
rename over the tensors of a safetensors file, and infers diffusers' ``AutoencoderKLWan``
config (``is_residual=True``, 2×2 patches) from the tensor shapes, so that any size works.

The mapping, original → diffusers (``P`` is ``encoder`` or ``decoder``):

================================================  ============================================
``conv1.*`` / ``conv2.*``                          ``quant_conv.*`` / ``post_quant_conv.*``
``P.conv1.*``                                      ``P.conv_in.*``
``P.head.0.gamma`` / ``P.head.2.*``                ``P.norm_out.gamma`` / ``P.conv_out.*``
``P.middle.0.R`` / ``P.middle.2.R``                ``P.mid_block.resnets.0.R'`` / ``.1.R'``
``P.middle.1.*``                                   ``P.mid_block.attentions.0.*``
``encoder.downsamples.i.downsamples.j.R``          ``encoder.down_blocks.i.resnets.j.R'``
``encoder.downsamples.i.downsamples.j.S``          ``encoder.down_blocks.i.downsampler.S``
``decoder.upsamples.i.upsamples.j.R``              ``decoder.up_blocks.i.resnets.j.R'``
``decoder.upsamples.i.upsamples.j.S``              ``decoder.up_blocks.i.upsampler.S``
================================================  ============================================

where a residual block's ``R`` → ``R'`` is ``residual.0.gamma`` → ``norm1.gamma``,
``residual.2.`` → ``conv1.``, ``residual.3.gamma`` → ``norm2.gamma``, ``residual.6.`` →
``conv2.``, ``shortcut.`` → ``conv_shortcut.``, and ``S`` (``resample.*``, ``time_conv.*``)
is the resampler that ends a level. The shortcut paths (``AvgDown3D``, ``DupUp3D``) have no
weights. A name outside this table is left as it is and so shows up as unknown.
"""

from __future__ import annotations

import math
import re
from typing import Any

from engine.generate.registry import ModelError

# Wan 2.2's published latent statistics (TI2V-5B's VAE; not stored in the weight file)
LATENTS_MEAN_48 = [
    -0.2289, -0.0052, -0.1323, -0.2339, -0.2799, 0.0174, 0.1838, 0.1557, -0.1382, 0.0542,
    0.2813, 0.0891, 0.1570, -0.0098, 0.0375, -0.1825, -0.2246, -0.1207, -0.0698, 0.5109,
    0.2665, -0.2108, -0.2158, 0.2502, -0.2055, -0.0322, 0.1109, 0.1567, -0.0729, 0.0899,
    -0.2799, -0.1230, -0.0313, -0.1649, 0.0117, 0.0723, -0.2839, -0.2083, -0.0520, 0.3748,
    0.0152, 0.1957, 0.1433, -0.2944, 0.3573, -0.0548, -0.1681, -0.0667,
]
LATENTS_STD_48 = [
    0.4765, 1.0364, 0.4514, 1.1677, 0.5313, 0.4990, 0.4818, 0.5013, 0.8158, 1.0344, 0.5894,
    1.0901, 0.6885, 0.6165, 0.8454, 0.4978, 0.5759, 0.3523, 0.7135, 0.6804, 0.5833, 1.4146,
    0.8986, 0.5659, 0.7069, 0.5338, 0.4889, 0.4917, 0.4069, 0.4999, 0.6866, 0.4093, 0.5709,
    0.6065, 0.6415, 0.4944, 0.5726, 1.2042, 0.5458, 1.6887, 0.3971, 1.0600, 0.3943, 0.5537,
    0.5444, 0.4089, 0.7468, 0.7744,
]
RESNET = (("residual.0.gamma", "norm1.gamma"), ("residual.2.", "conv1."),
          ("residual.3.gamma", "norm2.gamma"), ("residual.6.", "conv2."),
          ("shortcut.", "conv_shortcut."))
MARKER = "encoder.downsamples.0.downsamples.0.residual.0.gamma"
_LEVEL = re.compile(r"(encoder|decoder)\.(down|up)samples\.(\d+)\.(?:down|up)samples\.(\d+)\.(.+)")
_MIDDLE = re.compile(r"(encoder|decoder)\.middle\.([012])\.(.+)")


def is_wan22_vae(shapes: dict[str, Any]) -> bool:
    """The residual (Wan 2.2) layout: each level's blocks nested in one sequence."""
    return MARKER in shapes


def _resnet(rest: str) -> str | None:
    for old, new in RESNET:
        if rest.startswith(old):
            return new + rest[len(old):]
    return None


def rename(name: str) -> str:
    """One original Wan 2.2 VAE name → its diffusers name (unknown names unchanged)."""
    if name.startswith(("conv1.", "conv2.")):
        return ("quant_conv." if name[4] == "1" else "post_quant_conv.") + name[6:]
    part, _, rest = name.partition(".")
    if part not in ("encoder", "decoder"):
        return name
    if rest.startswith("conv1."):
        return f"{part}.conv_in.{rest[6:]}"
    if rest == "head.0.gamma":
        return f"{part}.norm_out.gamma"
    if rest.startswith("head.2."):
        return f"{part}.conv_out.{rest[7:]}"
    if m := _MIDDLE.fullmatch(name):
        index, tail = m.group(2), m.group(3)
        if index == "1":
            return f"{part}.mid_block.attentions.0.{tail}"
        renamed = _resnet(tail)
        return f"{part}.mid_block.resnets.{int(index) // 2}.{renamed}" if renamed else name
    if m := _LEVEL.fullmatch(name):
        prefix, kind, level, index, tail = m.groups()
        blocks = "down_blocks" if kind == "down" else "up_blocks"
        if (renamed := _resnet(tail)) is not None:
            return f"{prefix}.{blocks}.{level}.resnets.{index}.{renamed}"
        if tail.startswith(("resample.", "time_conv.")):
            return f"{prefix}.{blocks}.{level}.{kind}sampler.{tail}"
    return name


def convert(state: dict[str, Any]) -> dict[str, Any]:
    """A state dict (or a dict of names) in the original layout → diffusers names."""
    return {rename(name): value for name, value in state.items()}


def config(shapes: dict[str, tuple[int, ...]], file_name: str) -> dict[str, Any]:
    """``AutoencoderKLWan`` config of a Wan 2.2 VAE file, from its tensor shapes."""
    def need(name: str) -> tuple[int, ...]:
        if name not in shapes:
            raise ModelError(f"{file_name} lacks {name}; it is not a complete Wan 2.2 VAE.")
        return shapes[name]

    base, in_channels = need("encoder.conv1.weight")[:2]
    patch = math.isqrt(in_channels // 3)
    if patch * patch * 3 != in_channels:
        raise ModelError(f"{file_name} takes {in_channels} input channels, not 3 × a square "
                         "patch; not a Wan 2.2 VAE.")
    z_dim = need("conv2.weight")[0]
    levels = 1 + max(int(m.group(1)) for k in shapes
                     if (m := re.match(r"encoder\.downsamples\.(\d+)\.", k)))
    res_blocks = {int(m.group(1)) for k in shapes
                  if (m := re.match(r"encoder\.downsamples\.0\.downsamples\.(\d+)\.residual", k))}
    num_res_blocks = max(res_blocks) + 1
    mult = [need(f"encoder.downsamples.{i}.downsamples.0.residual.2.weight")[0] // base
            for i in range(levels)]
    temporal = [f"encoder.downsamples.{i}.downsamples.{num_res_blocks}.time_conv.weight"
                in shapes for i in range(levels - 1)]
    decoder_base = need("decoder.conv1.weight")[0] // mult[-1]
    if z_dim != len(LATENTS_MEAN_48):
        raise ModelError(f"{file_name} is a {z_dim}-channel VAE in the Wan 2.2 layout; only "
                         "the 48-channel Wan 2.2 VAE has published latent statistics.")
    return {
        "base_dim": base, "decoder_base_dim": decoder_base, "z_dim": z_dim,
        "dim_mult": mult, "num_res_blocks": num_res_blocks, "temperal_downsample": temporal,
        "is_residual": True, "in_channels": in_channels,
        "out_channels": need("decoder.head.2.weight")[0], "patch_size": patch,
        "scale_factor_temporal": 2 ** sum(temporal),
        "scale_factor_spatial": patch * 2 ** (levels - 1),
        "latents_mean": list(LATENTS_MEAN_48), "latents_std": list(LATENTS_STD_48),
    }
