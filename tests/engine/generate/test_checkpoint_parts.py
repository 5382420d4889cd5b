"""The two single files ComfyUI users keep beside a Wan transformer that diffusers 0.42
cannot read from a single file: the 48-channel Wan 2.2 VAE (``wan2.2_vae.safetensors`` in
the original Wan2.2 layout) and the CLIP image encoder of Wan 2.1 I2V
(``clip_vision/clip_vision_h.safetensors``). Each is written from a tiny model built in the
session, registered with `storyreel models add` and run through the worker."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from engine.generate.registry import get_model, list_models
from tests.engine.generate.test_checkpoints import _add, _frames, _generate, _refused

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="session")
def comfy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pytest.importorskip("diffusers")
    from tests.engine.generate import tiny_checkpoints as tc

    root = tmp_path_factory.mktemp("comfy-parts")
    return {"ti2v": tc.build_comfy_ti2v_folder(root / "ti2v" / "models"),
            "i2v": tc.build_comfy_i2v_folder(root / "i2v" / "models"),
            "other_clip": tc.save_clip_vision(tc.tiny_clip_vision(seed=7),
                                              root / "clip_vision_other.safetensors")}


# --------------------------------------------------------------------------- Wan 2.2 VAE
def test_wan22_vae_single_file_decodes_like_its_source(film, comfy) -> None:
    import torch

    from engine.generate import assemble
    from engine.generate.wan22_vae import LATENTS_MEAN_48
    from tests.engine.generate import tiny_checkpoints as tc

    assert _add(comfy["ti2v"], "--name", "ti2v-comfy") == 0
    entry = get_model("ti2v-comfy")
    vae_file = Path(entry.options["parts"]["vae"])
    assert vae_file.name == "wan2.2_vae_tiny.safetensors"
    config = entry.options["configs"]["vae"]
    source = tc.tiny_wan22_vae_original_layout()
    # every config value the source model was built with, inferred from the shapes alone
    for name in ("base_dim", "decoder_base_dim", "z_dim", "dim_mult", "num_res_blocks",
                 "temperal_downsample", "is_residual", "in_channels", "out_channels",
                 "patch_size", "scale_factor_temporal", "scale_factor_spatial"):
        assert config[name] == source.config[name], name
    assert config["latents_mean"] == LATENTS_MEAN_48 and len(config["latents_std"]) == 48

    loaded = assemble._load_vae(vae_file, config)
    torch.manual_seed(1)
    latents = torch.randn(1, 48, 2, 2, 2)
    video = torch.rand(1, 3, 5, 32, 32) * 2 - 1
    with torch.no_grad():
        frames, expected = loaded.decode(latents).sample, source.decode(latents).sample
        assert frames.shape == (1, 3, 5, 32, 32) and expected.std() > 0.05
        torch.testing.assert_close(frames, expected, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(loaded.encode(video).latent_dist.mean,
                                   source.encode(video).latent_dist.mean, rtol=1e-5, atol=1e-5)
    # and the assembled TI2V-5B makes a take with it
    assert _frames(film, _generate(film, "ti2v-comfy")).std() > 1.0
    # the same files given one by one make the same model
    folder = comfy["ti2v"]
    assert _add(folder / "diffusion_models" / "wan2.2_ti2v_5B_tiny.safetensors",
                "--text-encoder", folder / "text_encoders" / "umt5_xxl_tiny.safetensors",
                "--vae", vae_file, "--name", "ti2v-files") == 0
    assert get_model("ti2v-files").content_hash == entry.content_hash


def test_wan22_vae_file_with_unknown_or_misshapen_tensors_is_refused(comfy, tmp_path: Path,
                                                                      capsys) -> None:
    from safetensors.torch import load_file, save_file

    folder = tmp_path / "models"
    shutil.copytree(comfy["ti2v"], folder)
    vae = folder / "vae" / "wan2.2_vae_tiny.safetensors"
    state = load_file(str(vae))
    extra = dict(state)
    lora = "encoder.downsamples.0.downsamples.0.lora_up.weight"
    extra[lora] = state["encoder.conv1.bias"].clone()
    save_file(extra, str(vae))
    err = _refused(capsys, folder)
    assert "does not match a Wan VAE" in err and "lora_up" in err
    wrong = dict(state)
    name = "decoder.upsamples.1.upsamples.0.residual.2.weight"
    wrong[name] = wrong[name][:, :-1].contiguous()
    save_file(wrong, str(vae))
    assert "do not have the shape" in _refused(capsys, folder)
    # the 2.2 VAE with a Wan 2.1 (16-channel) transformer: parts of two models
    t2v = folder / "diffusion_models" / "wan2.1_t2v_tiny.safetensors"
    from tests.engine.generate import tiny_checkpoints as tc

    tc.save_original_transformer(tc.tiny_wan_transformer(), t2v)
    save_file(state, str(vae))
    assert "parts of two different models" in _refused(capsys, folder, "--transformer",
                                                       t2v.name)


# --------------------------------------------------------------------------- CLIP vision
def test_clip_vision_file_is_the_i2v_image_encoder(film, comfy) -> None:
    import torch

    from engine.generate.clip_vision import CLIP_MEAN, CLIP_STD
    from engine.generate.service import BackendPool
    from tests.engine.generate import tiny_checkpoints as tc

    assert _add(comfy["i2v"], "--name", "i2v-comfy") == 0
    entry = get_model("i2v-comfy")
    assert entry.family == "wan-i2v"
    assert Path(entry.options["parts"]["image_encoder"]).name == "clip_vision_h_tiny.safetensors"
    assert entry.options["configs"]["image_encoder"] == {
        "hidden_size": 64, "intermediate_size": 32, "num_hidden_layers": 2,
        "num_attention_heads": 1, "num_channels": 3, "patch_size": 4, "image_size": 8,
        "hidden_act": "gelu", "layer_norm_eps": 1e-5, "projection_dim": 16}
    pool = BackendPool()
    take = _generate(film, "i2v-comfy", pool=pool, shot=1)
    assert take.record["first_frame_used"] is True
    first = _frames(film, take)
    assert first.std() > 1.0
    pipe = pool.backend.pipe
    processor = pipe.image_processor
    assert processor.crop_size == {"height": 8, "width": 8}
    assert list(processor.image_mean) == CLIP_MEAN and list(processor.image_std) == CLIP_STD
    # the features the pipeline reads (penultimate hidden states) are the source model's
    source = tc.tiny_clip_vision()
    pixels = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        got = pipe.image_encoder(pixel_values=pixels, output_hidden_states=True)
        want = source(pixel_values=pixels, output_hidden_states=True)
    torch.testing.assert_close(got.hidden_states[-2], want.hidden_states[-2])
    # the image encoder is in the path: another CLIP file gives another take
    assert _add(comfy["i2v"], "--image-encoder", comfy["other_clip"], "--name",
                "i2v-other-clip") == 0
    other = _frames(film, _generate(film, "i2v-other-clip", pool=pool, shot=1))
    assert other.shape == first.shape and np.abs(other - first).mean() > 0.5


def test_bad_clip_vision_files_are_refused_in_one_sentence(comfy, tmp_path: Path,
                                                           capsys) -> None:
    from safetensors.torch import load_file, save_file

    clip = tmp_path / "clip.safetensors"
    state = load_file(str(comfy["other_clip"]))
    save_file({**state, "text_model.embeddings.token_embedding.weight":
               state["visual_projection.weight"].clone()}, str(clip))
    err = _refused(capsys, comfy["i2v"], "--image-encoder", clip)
    assert "a CLIP image encoder does not have" in err and "text_model" in err
    # 128-wide features for a transformer that reads 64-wide ones
    wide = tmp_path / "wide.safetensors"
    import torch
    from transformers import CLIPVisionConfig, CLIPVisionModel

    torch.manual_seed(0)
    model = CLIPVisionModel(CLIPVisionConfig(hidden_size=128, intermediate_size=32,
                                             num_hidden_layers=1, num_attention_heads=2,
                                             image_size=8, patch_size=4))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(wide))
    assert "parts of two different models" in _refused(capsys, comfy["i2v"],
                                                       "--image-encoder", wide)
    # open_clip's layout, and an I2V folder whose clip_vision/ is empty
    open_clip = tmp_path / "open_clip.safetensors"
    save_file({"visual.conv1.weight": state["visual_projection.weight"]}, str(open_clip))
    assert "open_clip layout" in _refused(capsys, comfy["i2v"], "--image-encoder", open_clip)
    folder = tmp_path / "models"
    shutil.copytree(comfy["i2v"], folder)
    shutil.rmtree(folder / "clip_vision")
    assert "needs its CLIP image encoder" in _refused(capsys, folder)
    assert list_models() == []


def test_comfy_clip_vision_folder_with_several_files(comfy, tmp_path: Path, capsys) -> None:
    """An I2V transformer takes clip_vision_h among other CLIP files; a T2V transformer is
    not held up by them (it reads no image features)."""
    from tests.engine.generate import tiny_checkpoints as tc

    folder = tmp_path / "models"
    shutil.copytree(comfy["i2v"], folder)
    shutil.copy(comfy["other_clip"], folder / "clip_vision" / "clip_vision_g.safetensors")
    assert _add(folder, "--name", "i2v-h") == 0
    parts = get_model("i2v-h").options["parts"]
    assert Path(parts["image_encoder"]).name == "clip_vision_h_tiny.safetensors"
    shutil.copy(comfy["other_clip"], folder / "clip_vision" / "clip_vision_h_other.safetensors")
    err = _refused(capsys, folder)
    assert "several image encoders" in err and "--image-encoder" in err
    (folder / "diffusion_models" / "wan2.1_i2v_tiny.safetensors").unlink()
    tc.save_original_transformer(tc.tiny_wan_transformer(),
                                 folder / "diffusion_models" / "wan2.1_t2v_tiny.safetensors")
    assert _add(folder, "--name", "t2v") == 0
    assert "image_encoder" not in get_model("t2v").options["parts"]


# --------------------------------------------------------------------------- real sizes
def test_published_sizes_are_inferred_from_headers() -> None:
    """Headers shaped like the real files (models built on the meta device, no memory):
    Wan2.2's VAE (TI2V-5B) and ViT-H/14 (clip_vision_h) give their published configs."""
    import torch
    from diffusers import AutoencoderKLWan
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    from engine.generate import clip_vision, wan22_vae
    from tests.engine.generate import tiny_checkpoints as tc

    published_vae = {  # diffusers' Wan2.2-TI2V-5B-Diffusers vae/config.json
        "base_dim": 160, "decoder_base_dim": 256, "z_dim": 48, "dim_mult": [1, 2, 4, 4],
        "num_res_blocks": 2, "temperal_downsample": [False, True, True], "is_residual": True,
        "in_channels": 12, "out_channels": 12, "patch_size": 2, "scale_factor_temporal": 4,
        "scale_factor_spatial": 16}
    with torch.device("meta"):
        vae = AutoencoderKLWan(**published_vae)
        clip = CLIPVisionModelWithProjection(CLIPVisionConfig(
            hidden_size=1280, intermediate_size=5120, num_hidden_layers=32,
            num_attention_heads=16, patch_size=14, image_size=224, projection_dim=1024,
            hidden_act="gelu"))
    shapes = {k: tuple(v.shape) for k, v in tc.to_original_vae22(vae.state_dict(), 2).items()}
    inferred = wan22_vae.config(shapes, "wan2.2_vae.safetensors")
    assert {k: inferred[k] for k in published_vae} == published_vae
    from engine.generate import checkpoints as ck

    ck.check_vae_keys(ck.FileInfo(Path("wan2.2_vae.safetensors"), shapes, "safetensors"),
                      inferred)  # every name and shape in place
    clip_shapes = {k: tuple(v.shape) for k, v in clip.state_dict().items()}
    inferred_clip = clip_vision.config(clip_shapes, "clip_vision_h.safetensors")
    assert inferred_clip == {
        "hidden_size": 1280, "intermediate_size": 5120, "num_hidden_layers": 32,
        "num_attention_heads": 16, "num_channels": 3, "patch_size": 14, "image_size": 224,
        "hidden_act": "gelu", "layer_norm_eps": 1e-5, "projection_dim": 1024}
    clip_vision.check(clip_shapes, inferred_clip, "clip_vision_h.safetensors")
