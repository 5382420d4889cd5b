"""Tiny single-file checkpoints as ComfyUI users keep them, built offline in the session.

A Wan transformer saved in the ORIGINAL Wan key layout (``model.diffusion_model.blocks.0.
self_attn.q.weight``…: the inverse of diffusers' ``convert_wan_transformer_to_diffusers``,
checked against it), a UMT5 encoder file in the transformers layout, a Wan 2.1 VAE in the
original layout (the inverse of ``convert_wan_vae_to_diffusers``), the same transformer as
a Q8_0 GGUF written with the ``gguf`` package, and Wan 2.2 variants (TI2V-5B with the
48-channel VAE; A14B's two experts).
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.engine.generate.tiny_models import _umt5, _wan_vae, make_tokenizer

# diffusers name → original Wan name, applied in this order (the converter's inverse)
TRANSFORMER_INVERSE = (
    ("condition_embedder.time_embedder.linear_1", "time_embedding.0"),
    ("condition_embedder.time_embedder.linear_2", "time_embedding.2"),
    ("condition_embedder.text_embedder.linear_1", "text_embedding.0"),
    ("condition_embedder.text_embedder.linear_2", "text_embedding.2"),
    ("condition_embedder.time_proj", "time_projection.1"),
    ("condition_embedder.image_embedder.norm1", "img_emb.proj.0"),
    ("condition_embedder.image_embedder.ff.net.0.proj", "img_emb.proj.1"),
    ("condition_embedder.image_embedder.ff.net.2", "img_emb.proj.3"),
    ("condition_embedder.image_embedder.norm2", "img_emb.proj.4"),
    ("condition_embedder.image_embedder.pos_embed", "img_emb.emb_pos"),
    ("attn1", "self_attn"), ("attn2", "cross_attn"),
    (".to_out.0.", ".o."), (".to_q.", ".q."), (".to_k.", ".k."), (".to_v.", ".v."),
    (".add_k_proj.", ".k_img."), (".add_v_proj.", ".v_img."),
    (".norm_added_k.", ".norm_k_img."),
    ("ffn.net.0.proj", "ffn.0"), ("ffn.net.2", "ffn.2"),
)


def to_original_transformer(state: dict) -> dict:
    out = {}
    for name, value in state.items():
        new = name
        for a, b in TRANSFORMER_INVERSE:
            new = new.replace(a, b)
        if re.match(r"blocks\.\d+\.norm[23]\.", new):  # the original's norm order: 1, 3, 2
            new = re.sub(r"\.norm([23])\.", lambda m: f".norm{5 - int(m.group(1))}.", new)
        if new == "scale_shift_table":
            new = "head.modulation"
        elif re.match(r"(vace_)?blocks\.\d+\.scale_shift_table", new):
            new = new.replace("scale_shift_table", "modulation")
        elif new.startswith("proj_out."):
            new = new.replace("proj_out", "head.head")
        elif new.startswith("vace_blocks."):
            new = new.replace(".proj_out.", ".after_proj.").replace(".proj_in.", ".before_proj.")
        out["model.diffusion_model." + new] = value
    return out


def to_original_vae(state: dict) -> dict:
    """Diffusers AutoencoderKLWan names (num_res_blocks=2) → the original Wan VAE's."""
    resnet = (("norm1.gamma", "residual.0.gamma"), ("conv1.", "residual.2."),
              ("norm2.gamma", "residual.3.gamma"), ("conv2.", "residual.6."),
              ("conv_shortcut.", "shortcut."))
    out = {}
    for name, value in state.items():
        new = name
        if new.startswith(("quant_conv.", "post_quant_conv.")):
            new = new.replace("post_quant_conv", "conv2").replace("quant_conv", "conv1")
        elif ".mid_block." in new:
            m = re.match(r"(\w+)\.mid_block\.(resnets|attentions)\.(\d)\.(.*)", new)
            part, kind, i, rest = m.groups()
            index = 1 if kind == "attentions" else {"0": 0, "1": 2}[i]
            if kind == "resnets":
                for a, b in resnet:
                    rest = rest.replace(a, b) if rest.startswith(a) else rest
            new = f"{part}.middle.{index}.{rest}"
        elif ".norm_out." in new or ".conv_out." in new:
            new = new.replace("norm_out.gamma", "head.0.gamma").replace("conv_out.", "head.2.")
        elif ".conv_in." in new:
            new = new.replace("conv_in.", "conv1.")
        elif new.startswith("encoder.down_blocks."):
            m = re.match(r"encoder\.down_blocks\.(\d+)\.(.*)", new)
            i, rest = m.groups()
            for a, b in resnet:
                rest = rest.replace(a, b) if rest.startswith(a) else rest
            new = f"encoder.downsamples.{i}.{rest}"
        elif new.startswith("decoder.up_blocks."):
            m = re.match(r"decoder\.up_blocks\.(\d)\.(resnets|upsamplers)\.(\d)\.(.*)", new)
            b, kind, r, rest = m.groups()
            if kind == "upsamplers":
                new = f"decoder.upsamples.{4 * int(b) + 3}.{rest}"
            else:
                for a, c in resnet:
                    rest = rest.replace(a, c) if rest.startswith(a) else rest
                new = f"decoder.upsamples.{4 * int(b) + int(r)}.{rest}"
        out[new] = value
    return out


def _check_round_trip(original: dict, expected: set[str], convert) -> None:
    back = set(convert(dict.fromkeys(original, None)))
    assert back == expected, (sorted(back - expected)[:3], sorted(expected - back)[:3])


def tiny_wan_transformer(in_channels: int = 16, out_channels: int = 16, seed: int = 0,
                         image_dim: int | None = None):
    """A tiny Wan transformer with Wan's 128-wide heads (one head), two blocks."""
    import torch
    from diffusers import WanTransformer3DModel

    torch.manual_seed(seed)
    return WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=1, attention_head_dim=128,
        in_channels=in_channels, out_channels=out_channels, text_dim=32, freq_dim=256,
        ffn_dim=32, num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
        eps=1e-6, rope_max_seq_len=1024, image_dim=image_dim,
        added_kv_proj_dim=128 if image_dim else None,
    ).eval()


def save_original_transformer(model, path: Path) -> Path:
    from diffusers.loaders.single_file_utils import convert_wan_transformer_to_diffusers
    from safetensors.torch import save_file

    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    original = to_original_transformer(state)
    _check_round_trip(original, set(state), convert_wan_transformer_to_diffusers)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(original, str(path))
    return path


def save_gguf_transformer(model, path: Path, qtype: str = "Q8_0") -> Path:
    """The transformer as city96 publishes it: original names, 2-D weights quantized."""
    import gguf
    import numpy as np

    kind = getattr(gguf.GGMLQuantizationType, qtype)
    state = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    writer = gguf.GGUFWriter(str(path), arch="wan")
    for name, array in to_original_transformer(state).items():
        name = name.removeprefix("model.diffusion_model.")
        if array.ndim == 2 and array.shape[-1] % 32 == 0:
            writer.add_tensor(name, gguf.quants.quantize(array, kind), raw_dtype=kind)
        else:
            writer.add_tensor(name, np.ascontiguousarray(array, dtype=np.float32))
    path.parent.mkdir(parents=True, exist_ok=True)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def save_umt5(path: Path) -> Path:
    """A UMT5 encoder file as ComfyUI keeps it (transformers names, no tied copy), and the
    tokenizer in ``tokenizer/`` beside it."""
    import torch
    from safetensors.torch import save_file
    from transformers import UMT5Config, UMT5EncoderModel

    torch.manual_seed(0)
    # the real model's position buckets (32, distance 128): a file does not record them
    model = UMT5EncoderModel(UMT5Config(vocab_size=64, d_model=32, d_kv=8, d_ff=32,
                                        num_layers=2, num_heads=4)).eval()
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()
             if k != "encoder.embed_tokens.weight"}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path))
    make_tokenizer().save_pretrained(path.parent / "tokenizer")
    return path


def tiny_wan_vae():
    """A tiny Wan 2.1 VAE with the real block layout (two residual blocks per level, the
    layout the original files have), He-initialised like the fixtures' VAE."""
    import torch
    from diffusers import AutoencoderKLWan

    torch.manual_seed(0)
    vae = AutoencoderKLWan(base_dim=4, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2,
                           temperal_downsample=[False, True, True]).eval()
    with torch.no_grad():
        for param in vae.parameters():
            if param.ndim >= 4:
                param.normal_(0.0, (2.0 / param[0].numel()) ** 0.5)
    return vae


def save_original_vae(path: Path) -> Path:
    from diffusers.loaders.single_file_utils import convert_wan_vae_to_diffusers
    from safetensors.torch import save_file

    state = {k: v.detach().clone().contiguous() for k, v in tiny_wan_vae().state_dict().items()}
    original = to_original_vae(state)
    _check_round_trip(original, set(state), convert_wan_vae_to_diffusers)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(original, str(path))
    return path


def tiny_wan22_vae():
    """A tiny 48-channel Wan 2.2 VAE (TI2V-5B's: residual, 2×2 patches, 16× spatial)."""
    from diffusers import AutoencoderKLWan

    return AutoencoderKLWan(
        base_dim=12, decoder_base_dim=12, z_dim=48, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
        temperal_downsample=[False, True, True], is_residual=True, in_channels=12,
        out_channels=12, patch_size=2, scale_factor_temporal=4, scale_factor_spatial=16,
        latents_mean=[0.0] * 48, latents_std=[1.0] * 48,
    ).eval()


def build_comfy_folder(root: Path) -> Path:
    """A ComfyUI models/ folder holding a tiny Wan 2.1 T2V."""
    save_original_transformer(tiny_wan_transformer(),
                              root / "diffusion_models" / "wan2.1_t2v_tiny_fp32.safetensors")
    save_umt5(root / "text_encoders" / "umt5_xxl_tiny.safetensors")
    save_original_vae(root / "vae" / "wan_2.1_vae_tiny.safetensors")
    (root / "clip_vision").mkdir(parents=True, exist_ok=True)
    return root


def build_wan22_ti2v_folder(target: Path) -> Path:
    """A tiny Wan 2.2 TI2V-5B diffusers folder (48-channel VAE, expanded timesteps)."""
    from diffusers import FlowMatchEulerDiscreteScheduler, WanPipeline

    pipe = WanPipeline(tokenizer=make_tokenizer(), text_encoder=_umt5(),
                       vae=tiny_wan22_vae(), scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
                       transformer=tiny_wan_transformer(48, 48), expand_timesteps=True)
    pipe.save_pretrained(target, safe_serialization=True)
    return target


def build_wan22_a14b_folder(target: Path) -> Path:
    """A tiny Wan 2.2 A14B T2V diffusers folder: two experts and a boundary ratio."""
    from diffusers import FlowMatchEulerDiscreteScheduler, WanPipeline

    pipe = WanPipeline(tokenizer=make_tokenizer(), text_encoder=_umt5(), vae=_wan_vae(),
                       scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
                       transformer=tiny_wan_transformer(seed=1),
                       transformer_2=tiny_wan_transformer(seed=2), boundary_ratio=0.875)
    pipe.save_pretrained(target, safe_serialization=True)
    return target
