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


# Wan 2.2 VAE, diffusers → original (``Wan2_2_VAE`` in Wan2.2's wan/modules/vae2_2.py):
# whole-name prefixes first, then the blocks of each level; residual-block parts last
VAE22_PREFIXES = (
    ("quant_conv.", "conv1."), ("post_quant_conv.", "conv2."),
    ("encoder.conv_in.", "encoder.conv1."), ("decoder.conv_in.", "decoder.conv1."),
    ("encoder.norm_out.", "encoder.head.0."), ("decoder.norm_out.", "decoder.head.0."),
    ("encoder.conv_out.", "encoder.head.2."), ("decoder.conv_out.", "decoder.head.2."),
    ("encoder.mid_block.resnets.0.", "encoder.middle.0."),
    ("encoder.mid_block.attentions.0.", "encoder.middle.1."),
    ("encoder.mid_block.resnets.1.", "encoder.middle.2."),
    ("decoder.mid_block.resnets.0.", "decoder.middle.0."),
    ("decoder.mid_block.attentions.0.", "decoder.middle.1."),
    ("decoder.mid_block.resnets.1.", "decoder.middle.2."),
)
VAE22_RESNET = (("norm1.", "residual.0."), ("conv1.", "residual.2."),
                ("norm2.", "residual.3."), ("conv2.", "residual.6."),
                ("conv_shortcut.", "shortcut."))


def to_original_vae22(state: dict, num_res_blocks: int) -> dict:
    """Diffusers AutoencoderKLWan (is_residual) names → the original Wan 2.2 VAE's: level
    i's resnets and resampler form one sequence, encoder.downsamples.i.downsamples.j (the
    resampler after the num_res_blocks resnets; the decoder has one resnet more)."""
    out = {}
    for name, value in state.items():
        new, rest = name, None
        for a, b in VAE22_PREFIXES:
            if name.startswith(a):
                new, rest = b, name[len(a):]
                break
        if m := re.match(r"(encoder|decoder)\.(down|up)_blocks\.(\d+)\.(.*)", name):
            part, kind, level, tail = m.groups()
            seq = f"{part}.{kind}samples.{level}.{kind}samples."
            if tail.startswith(f"{kind}sampler."):
                resampler = num_res_blocks + (1 if kind == "up" else 0)
                new = f"{seq}{resampler}.{tail[len(kind) + 8:]}"
            else:
                j, rest = re.match(r"resnets\.(\d+)\.(.*)", tail).groups()
                new = f"{seq}{j}."
        if rest is not None:
            if ".middle.1." in new or new.endswith(("conv1.", "conv2.", "head.0.", "head.2.")):
                new += rest
            else:
                for a, b in VAE22_RESNET:
                    if rest.startswith(a):
                        new += b + rest[len(a):]
                        break
        out[new] = value
    return out


def tiny_wan22_vae_original_layout(seed: int = 0):
    """A tiny Wan 2.2 VAE with the real block structure (four levels, two resnets per
    level, a decoder wider than the encoder, temporal down-sampling in levels 2 and 3)."""
    import torch
    from diffusers import AutoencoderKLWan

    from engine.generate.wan22_vae import LATENTS_MEAN_48, LATENTS_STD_48

    torch.manual_seed(seed)
    vae = AutoencoderKLWan(
        base_dim=8, decoder_base_dim=12, z_dim=48, dim_mult=[1, 2, 4, 4], num_res_blocks=2,
        temperal_downsample=[False, True, True], is_residual=True, in_channels=12,
        out_channels=12, patch_size=2, scale_factor_temporal=4, scale_factor_spatial=16,
        latents_mean=LATENTS_MEAN_48, latents_std=LATENTS_STD_48,
    ).eval()
    with torch.no_grad():  # every tensor distinct, so a swapped name changes the frames
        for name, param in vae.named_parameters():
            if name.endswith("gamma"):
                param.normal_(1.0, 0.1)
            elif param.ndim >= 4:
                param.normal_(0.0, (2.0 / param[0].numel()) ** 0.5)
            else:
                param.normal_(0.0, 0.05)
    return vae


def save_original_vae22(vae, path: Path) -> Path:
    from safetensors.torch import save_file

    state = {k: v.detach().clone().contiguous() for k, v in vae.state_dict().items()}
    original = to_original_vae22(state, vae.config.num_res_blocks)
    assert len(original) == len(state)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(original, str(path))
    return path


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


def tiny_clip_vision(seed: int = 0):
    """A tiny CLIP vision tower with a projection, as ComfyUI's clip_vision_h is stored
    (64 wide: one 64-wide head; 8×8 images in 4×4 patches; GELU, as ViT-H/14's)."""
    import torch
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(seed)
    return CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=64, intermediate_size=32, num_hidden_layers=2, num_attention_heads=1,
        image_size=8, patch_size=4, projection_dim=16, hidden_act="gelu",
    )).eval()


def save_clip_vision(model, path: Path) -> Path:
    """The transformers state dict itself: ComfyUI's clip_vision layout."""
    from safetensors.torch import save_file

    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    assert "visual_projection.weight" in state and "vision_model.pre_layrnorm.weight" in state
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path))
    return path


def build_comfy_i2v_folder(root: Path, clip_seed: int = 0) -> Path:
    """A ComfyUI models/ folder holding a tiny Wan 2.1 I2V: its transformer reads 64-wide
    CLIP features, and clip_vision/ holds the CLIP file."""
    save_original_transformer(tiny_wan_transformer(36, 16, seed=4, image_dim=64),
                              root / "diffusion_models" / "wan2.1_i2v_tiny.safetensors")
    save_umt5(root / "text_encoders" / "umt5_xxl_tiny.safetensors")
    save_original_vae(root / "vae" / "wan_2.1_vae_tiny.safetensors")
    save_clip_vision(tiny_clip_vision(clip_seed),
                     root / "clip_vision" / "clip_vision_h_tiny.safetensors")
    return root


def build_comfy_ti2v_folder(root: Path) -> Path:
    """A ComfyUI models/ folder holding a tiny Wan 2.2 TI2V-5B with its single-file
    48-channel VAE in the original Wan 2.2 layout."""
    save_original_transformer(tiny_wan_transformer(48, 48, seed=3),
                              root / "diffusion_models" / "wan2.2_ti2v_5B_tiny.safetensors")
    save_umt5(root / "text_encoders" / "umt5_xxl_tiny.safetensors")
    save_original_vae22(tiny_wan22_vae_original_layout(),
                        root / "vae" / "wan2.2_vae_tiny.safetensors")
    return root
