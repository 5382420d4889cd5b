"""Tiny random diffusers pipelines built offline, saved with ``save_pretrained``.

Each builder writes a folder laid out exactly like a real model users download (a
``model_index.json`` plus one subfolder per component, safetensors weights), so tests and
the overhead bench load them through Storyreel's own loading code. Nothing is downloaded:
tokenizers are made in code (a WordLevel vocabulary) and weights are random with a fixed
seed.
"""

from __future__ import annotations

from pathlib import Path

WORDS = (
    "a girl boy man woman city night rain street room walks looks smiles cries runs "
    "close up wide shot medium camera slow push in the of and with red blue"
).split()


def make_tokenizer(max_length: int = 64):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2, "<s>": 3}
    for w in WORDS:
        vocab.setdefault(w, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>", eos_token="</s>",
        bos_token="<s>", model_max_length=max_length,
    )


def _umt5():
    from transformers import UMT5Config, UMT5EncoderModel

    config = UMT5Config(
        vocab_size=64, d_model=32, d_kv=8, d_ff=32, num_layers=2, num_heads=4,
        relative_attention_num_buckets=8, relative_attention_max_distance=16,
    )
    return UMT5EncoderModel(config).eval()


def _wan_vae():
    """A tiny Wan VAE whose convolutions keep the signal's scale (He init): with the
    default init its decoder maps any latent to nearly the same grey clip, which would hide
    whether conditioning reaches the picture."""
    import torch
    from diffusers import AutoencoderKLWan

    vae = AutoencoderKLWan(
        base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
        temperal_downsample=[False, True, True],
    ).eval()
    with torch.no_grad():
        for param in vae.parameters():
            if param.ndim >= 4:
                param.normal_(0.0, (2.0 / param[0].numel()) ** 0.5)
    return vae


def _flow_scheduler():
    from diffusers import FlowMatchEulerDiscreteScheduler

    return FlowMatchEulerDiscreteScheduler(shift=7.0)


def _strengthen_vace(transformer) -> None:
    """Trained VACE blocks inject strong hints; random ones whisper. Scale the hint
    projections up so the reference path visibly reaches the picture in a 2-step run."""
    import torch

    with torch.no_grad():
        for name, param in transformer.named_parameters():
            if name.startswith("vace_blocks") and "proj_out" in name:
                param.mul_(10.0)


def build_wan_vace(target: Path) -> Path:
    """A tiny Wan 2.1 VACE pipeline (reference images → video)."""
    import torch
    from diffusers import WanVACEPipeline, WanVACETransformer3DModel

    torch.manual_seed(0)
    transformer = WanVACETransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16,
        out_channels=16, text_dim=32, freq_dim=256, ffn_dim=32, num_layers=3,
        cross_attn_norm=True, qk_norm="rms_norm_across_heads", rope_max_seq_len=32,
        vace_layers=[0, 2], vace_in_channels=96,
    ).eval()
    _strengthen_vace(transformer)
    pipe = WanVACEPipeline(
        tokenizer=make_tokenizer(), text_encoder=_umt5(), vae=_wan_vae(),
        scheduler=_flow_scheduler(), transformer=transformer,
    )
    pipe.save_pretrained(target, safe_serialization=True)
    return target


def build_wan_t2v(target: Path) -> Path:
    """A tiny Wan 2.1 text-to-video pipeline."""
    import torch
    from diffusers import WanPipeline, WanTransformer3DModel

    torch.manual_seed(0)
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16,
        out_channels=16, text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2,
        cross_attn_norm=True, qk_norm="rms_norm_across_heads", rope_max_seq_len=32,
    ).eval()
    pipe = WanPipeline(tokenizer=make_tokenizer(), text_encoder=_umt5(), vae=_wan_vae(),
                       scheduler=_flow_scheduler(), transformer=transformer)
    pipe.save_pretrained(target, safe_serialization=True)
    return target


def build_wan_i2v(target: Path, first_last: bool = False) -> Path:
    """A tiny Wan 2.1 image-to-video pipeline with a CLIP image encoder.

    ``first_last`` builds the FLF2V variant (image embeddings of a first and a last frame,
    ``pos_embed_seq_len`` set), which conditions on both keyframes.
    """
    import torch
    from diffusers import WanImageToVideoPipeline, WanTransformer3DModel
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    torch.manual_seed(0)
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=36,
        out_channels=16, text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2,
        cross_attn_norm=True, qk_norm="rms_norm_across_heads", rope_max_seq_len=32,
        image_dim=4, pos_embed_seq_len=2 * (4 * 4 + 1) if first_last else None,
    ).eval()
    image_encoder = CLIPVisionModel(CLIPVisionConfig(
        hidden_size=4, projection_dim=4, num_hidden_layers=2, num_attention_heads=2,
        image_size=4, intermediate_size=16, patch_size=1,
    )).eval()
    pipe = WanImageToVideoPipeline(
        tokenizer=make_tokenizer(), text_encoder=_umt5(), vae=_wan_vae(),
        scheduler=_flow_scheduler(), transformer=transformer,
        image_encoder=image_encoder,
        image_processor=CLIPImageProcessor(crop_size=4, size=4),
    )
    pipe.save_pretrained(target, safe_serialization=True)
    return target


def build_sdxl(target: Path) -> Path:
    """A tiny SDXL pipeline plus IP-Adapter weights in the h94/IP-Adapter layout.

    ``target/ip_adapter/ip-adapter_sdxl.safetensors`` and ``target/ip_adapter/image_encoder``.
    """
    import torch
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionXLPipeline,
        UNet2DConditionModel,
    )
    from safetensors.torch import save_file
    from transformers import (
        CLIPTextConfig,
        CLIPTextModel,
        CLIPTextModelWithProjection,
        CLIPVisionConfig,
        CLIPVisionModelWithProjection,
    )

    torch.manual_seed(0)
    cross_dim = 64
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=32, in_channels=4,
        out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), attention_head_dim=(2, 4),
        use_linear_projection=True, addition_embed_type="text_time",
        addition_time_embed_dim=8, transformer_layers_per_block=(1, 1),
        projection_class_embeddings_input_dim=80, cross_attention_dim=cross_dim,
        norm_num_groups=8,
    ).eval()
    vae = AutoencoderKL(
        block_out_channels=[16, 32], in_channels=3, out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"], latent_channels=4,
        sample_size=64, norm_num_groups=8,
    ).eval()
    text_config = CLIPTextConfig(
        bos_token_id=3, eos_token_id=1, hidden_size=32, intermediate_size=37,
        layer_norm_eps=1e-05, num_attention_heads=4, num_hidden_layers=2, pad_token_id=0,
        vocab_size=64, hidden_act="gelu", projection_dim=32, max_position_embeddings=77,
    )
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, steps_offset=1, beta_schedule="scaled_linear",
        timestep_spacing="leading",
    )
    pipe = StableDiffusionXLPipeline(
        vae=vae, text_encoder=CLIPTextModel(text_config).eval(),
        text_encoder_2=CLIPTextModelWithProjection(text_config).eval(),
        tokenizer=make_tokenizer(77), tokenizer_2=make_tokenizer(77), unet=unet,
        scheduler=scheduler,
    )
    pipe.save_pretrained(target, safe_serialization=True)

    # IP-Adapter (plain, 4 image tokens) in the layout users download
    adapter_dir = target / "ip_adapter"
    image_embed_dim = 16
    encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=16, projection_dim=image_embed_dim, num_hidden_layers=2,
        num_attention_heads=2, image_size=32, intermediate_size=32, patch_size=8,
    )).eval()
    encoder.save_pretrained(adapter_dir / "image_encoder", safe_serialization=True)
    weights: dict[str, torch.Tensor] = {
        "image_proj.proj.weight": torch.randn(cross_dim * 4, image_embed_dim) * 0.5,
        "image_proj.proj.bias": torch.randn(cross_dim * 4) * 0.1,
        "image_proj.norm.weight": torch.ones(cross_dim),
        "image_proj.norm.bias": torch.zeros(cross_dim),
    }
    key_id = 1
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue  # the checkpoints number cross-attention layers 1, 3, 5, ...
        if name.startswith("mid_block"):
            hidden = unet.config.block_out_channels[-1]
        elif name.startswith("up_blocks"):
            hidden = list(reversed(unet.config.block_out_channels))[int(name[len("up_blocks.")])]
        else:
            hidden = unet.config.block_out_channels[int(name[len("down_blocks.")])]
        weights[f"ip_adapter.{key_id}.to_k_ip.weight"] = torch.randn(hidden, cross_dim) * 0.5
        weights[f"ip_adapter.{key_id}.to_v_ip.weight"] = torch.randn(hidden, cross_dim) * 0.5
        key_id += 2
    save_file(weights, str(adapter_dir / "ip-adapter_sdxl.safetensors"))
    return target


def build_ltx_condition(target: Path) -> Path:
    """A tiny LTX-Video condition pipeline (first/last keyframes at any frame index)."""
    import torch
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXConditionPipeline,
        LTXVideoTransformer3DModel,
    )
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(0)
    transformer = LTXVideoTransformer3DModel(
        in_channels=8, out_channels=8, patch_size=1, patch_size_t=1, num_attention_heads=4,
        attention_head_dim=8, cross_attention_dim=32, num_layers=1, caption_channels=32,
    ).eval()
    vae = AutoencoderKLLTXVideo(
        in_channels=3, out_channels=3, latent_channels=8, block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8), layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False),
        decoder_inject_noise=(False, False, False, False, False),
        upsample_residual=(False, False, False, False), upsample_factor=(1, 1, 1, 1),
        timestep_conditioning=False, patch_size=1, patch_size_t=1, encoder_causal=True,
        decoder_causal=False,
    ).eval()
    text_encoder = T5EncoderModel(T5Config(
        vocab_size=64, d_model=32, d_kv=8, d_ff=32, num_layers=2, num_heads=4,
        relative_attention_num_buckets=8, relative_attention_max_distance=16,
    )).eval()
    pipe = LTXConditionPipeline(
        transformer=transformer, vae=vae, scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=text_encoder, tokenizer=make_tokenizer(128),
    )
    pipe.save_pretrained(target, safe_serialization=True)
    return target
