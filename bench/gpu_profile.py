"""Seconds per denoising step and peak VRAM of Wan2.1 1.3B- and 14B-shaped pipelines,
for each memory profile, at 480p / 81 frames — the figures behind the README's hardware
table. Needs CUDA; elsewhere it prints why it skipped and exits 0.

The transformers and the VAE are built from the published Wan2.1 configs
(Wan-AI/Wan2.1-T2V-{1.3B,14B}-Diffusers) with random bf16 weights — speed and memory do not
depend on the values. The UMT5-XXL text encoder runs once per prompt, before denoising; it
is replaced by precomputed random prompt embeddings (1×512×4096) so the figures are the
denoising loop and the VAE decode. Add ~11 GiB for UMT5-XXL in bf16 under profile ``none``
(model/group offload keep it on the CPU between uses).

Run: ``.venv/bin/python bench/gpu_profile.py [--models 1.3B 14B] [--steps 3]
[--profiles none model-offload group-offload] [--frames 81 --size 832x480]``
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# transformer/config.json of the published Diffusers checkpoints
WAN_CONFIGS = {
    "1.3B": {"num_attention_heads": 12, "attention_head_dim": 128, "ffn_dim": 8960,
             "num_layers": 30},
    "14B": {"num_attention_heads": 40, "attention_head_dim": 128, "ffn_dim": 13824,
            "num_layers": 40},
}
COMMON = {"patch_size": (1, 2, 2), "in_channels": 16, "out_channels": 16, "text_dim": 4096,
          "freq_dim": 256, "cross_attn_norm": True, "qk_norm": "rms_norm_across_heads",
          "eps": 1e-6, "rope_max_seq_len": 1024}
PROFILES = ("none", "model-offload", "group-offload")


def _random_module(cls, config: dict, dtype):
    """Parameters made on the meta device, then filled with random values on the CPU (fast,
    no init pass); buffers (RoPE tables) are built for real."""
    import torch
    from accelerate import init_empty_weights
    from accelerate.utils import set_module_tensor_to_device

    with init_empty_weights(include_buffers=False):
        module = cls(**config)
    gen = torch.Generator().manual_seed(0)
    for name, param in list(module.named_parameters()):
        value = torch.empty(param.shape, dtype=dtype).normal_(0.0, 0.02, generator=gen)
        set_module_tensor_to_device(module, name, "cpu", value=value)
    return module.eval()


def build_pipeline(size: str, dtype):
    import torch
    from diffusers import (
        AutoencoderKLWan,
        FlowMatchEulerDiscreteScheduler,
        WanPipeline,
        WanTransformer3DModel,
    )

    sys.path.insert(0, str(ROOT))
    from tests.engine.generate.tiny_models import _umt5, make_tokenizer

    transformer = _random_module(WanTransformer3DModel, {**COMMON, **WAN_CONFIGS[size]}, dtype)
    vae = AutoencoderKLWan().to(torch.float32).eval()  # the published VAE config (defaults)
    return WanPipeline(tokenizer=make_tokenizer(), text_encoder=_umt5(), vae=vae,
                       scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
                       transformer=transformer)


def profile_once(size: str, profile: str, args: argparse.Namespace) -> dict:
    import torch

    from engine.generate.memory import Placement, apply

    dtype = torch.bfloat16
    pipe = build_pipeline(size, dtype)
    pipe.set_progress_bar_config(disable=True)
    params = sum(p.numel() for p in pipe.transformer.parameters())
    placement = Placement("cuda", "bfloat16", profile, profile != "none")
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    apply(pipe, placement)
    width, height = (int(v) for v in args.size.split("x"))
    gen = torch.Generator("cpu").manual_seed(0)
    embeds = torch.randn(1, 512, 4096, generator=gen).to(dtype)
    stamps: list[float] = []

    def on_step(p, i, t, kw):
        torch.cuda.synchronize()
        stamps.append(time.perf_counter())
        return {}

    torch.cuda.synchronize()
    start = time.perf_counter()
    with torch.inference_mode():
        pipe(prompt_embeds=embeds.cuda(), negative_prompt_embeds=embeds.cuda(),
             height=height, width=width, num_frames=args.frames,
             num_inference_steps=args.steps, guidance_scale=5.0, generator=gen,
             output_type="latent" if args.no_decode else "np",
             callback_on_step_end=on_step)
    torch.cuda.synchronize()
    total = time.perf_counter() - start
    steps = [b - a for a, b in zip([start] + stamps[:-1], stamps, strict=True)]
    per_step = statistics.median(steps[1:]) if len(steps) > 1 else steps[0]
    peak = torch.cuda.max_memory_allocated() / 2**30
    decode = total - (stamps[-1] - start) if stamps else 0.0
    del pipe
    gc.collect()
    torch.cuda.empty_cache()
    return {"model": f"Wan2.1-{size}", "params_b": round(params / 1e9, 2), "profile": profile,
            "s_per_step": round(per_step, 3), "first_step_s": round(steps[0], 3),
            "decode_s": round(decode, 2), "peak_vram_gib": round(peak, 2),
            "size": args.size, "frames": args.frames, "cfg": True}


def main() -> int:
    parser = argparse.ArgumentParser(description="Wan2.1 step time and peak VRAM per profile")
    parser.add_argument("--models", nargs="+", default=["1.3B", "14B"], choices=list(WAN_CONFIGS))
    parser.add_argument("--profiles", nargs="+", default=list(PROFILES), choices=PROFILES)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--frames", type=int, default=81)
    parser.add_argument("--size", default="832x480")
    parser.add_argument("--no-decode", action="store_true", help="skip the VAE decode")
    parser.add_argument("--json", metavar="OUT", help="also write the rows as JSON")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print("skipped: torch is not installed.")
        return 0
    if not torch.cuda.is_available():
        print("skipped: no CUDA GPU here; run this on a machine with one.")
        return 0
    gpu = torch.cuda.get_device_name(0)
    total = torch.cuda.get_device_properties(0).total_memory / 2**30
    print(f"{gpu}, {total:.0f} GiB; {args.size}, {args.frames} frames, CFG 5.0, bf16, "
          f"{args.steps} steps (median of steps 2..n)")
    rows = []
    print(f"{'model':<12} {'profile':<14} {'s/step':>8} {'peak GiB':>9} {'decode s':>9}")
    for size in args.models:
        for profile in args.profiles:
            try:
                row = profile_once(size, profile, args)
            except torch.cuda.OutOfMemoryError:
                row = {"model": f"Wan2.1-{size}", "profile": profile, "s_per_step": None,
                       "peak_vram_gib": None, "decode_s": None, "error": "out of memory"}
                gc.collect()
                torch.cuda.empty_cache()
            rows.append(row)
            step = f"{row['s_per_step']:.2f}" if row["s_per_step"] else "OOM"
            peak = f"{row['peak_vram_gib']:.1f}" if row["peak_vram_gib"] else "-"
            dec = f"{row['decode_s']:.1f}" if row.get("decode_s") is not None else "-"
            print(f"{row['model']:<12} {profile:<14} {step:>8} {peak:>9} {dec:>9}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"gpu": gpu, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
