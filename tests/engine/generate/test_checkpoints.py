"""The checkpoints people have: single files in the original Wan layout, a ComfyUI models/
folder, GGUF Q8_0 transformers, Wan 2.2 (TI2V-5B, A14B's two experts), registered with
`storyreel models add` and run through the worker on CPU; shared parts loaded once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from engine.cli import main
from engine.generate.components import CACHE
from engine.generate.registry import list_models
from engine.generate.video_io import read_frames
from engine.jobs.queue import JobQueue
from engine.jobs.worker import run_worker
from engine.model import JobStatus
from engine.model import entities as E
from tests.engine.generate.conftest import TINY

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="session")
def parts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pytest.importorskip("diffusers")
    from tests.engine.generate import tiny_checkpoints as tc

    root = tmp_path_factory.mktemp("checkpoints")
    comfy = tc.build_comfy_folder(root / "ComfyUI" / "models")
    files = root / "files"
    t2v = tc.tiny_wan_transformer()
    out = {
        "comfy": comfy,
        "t2v": comfy / "diffusion_models" / "wan2.1_t2v_tiny_fp32.safetensors",
        "umt5": comfy / "text_encoders" / "umt5_xxl_tiny.safetensors",
        "vae": comfy / "vae" / "wan_2.1_vae_tiny.safetensors",
        "gguf": tc.save_gguf_transformer(t2v, files / "wan2.1-t2v-tiny-Q8_0.gguf"),
        "high": tc.save_original_transformer(tc.tiny_wan_transformer(36, 16, seed=1),
                                             files / "wan2.2_i2v_high_noise_tiny.safetensors"),
        "low": tc.save_original_transformer(tc.tiny_wan_transformer(36, 16, seed=2),
                                            files / "wan2.2_i2v_low_noise_tiny.safetensors"),
        "ti2v": tc.save_original_transformer(
            tc.tiny_wan_transformer(48, 48, seed=3), files / "wan2.2_ti2v_5B_tiny.safetensors"),
        "ti2v_folder": tc.build_wan22_ti2v_folder(root / "Wan2.2-TI2V-tiny-Diffusers"),
        "a14b_folder": tc.build_wan22_a14b_folder(root / "Wan2.2-T2V-A14B-tiny-Diffusers"),
    }
    return out


def _add(*argv: str) -> int:
    return main(["models", "add", *map(str, argv)])


def _generate(store, backend: str, pool=None, shot: int = 0, **overrides) -> E.Take:
    queue = JobQueue(store)
    (job,) = queue.enqueue_generation([store.film["shots"][shot]], backend=backend,
                                      device="cpu", overrides={**TINY, **overrides})
    run_worker(store.root, once=True, pool=pool)
    job = store.require(E.Job, job.id)
    assert job.status is JobStatus.DONE, job.error
    return store.require(E.Take, job.result["take_id"])


def _frames(store, take: E.Take) -> np.ndarray:
    return read_frames(store.media_path(take.media)).astype(np.float32)


def test_single_files_in_the_original_layout_make_a_take(film, parts, capsys) -> None:
    assert _add(parts["t2v"], "--text-encoder", parts["umt5"], "--vae", parts["vae"],
                "--name", "wan-files") == 0
    out = capsys.readouterr().out
    assert "WanPipeline (wan-t2v" in out and "transformer safetensors" in out
    (entry,) = list_models()
    assert entry.options["configs"]["transformer"]["num_layers"] == 2
    assert entry.options["parts"]["tokenizer"].endswith("tokenizer")  # found beside the encoder
    take = _generate(film, "wan-files")
    frames = _frames(film, take)
    assert frames.shape[1:] == (32, 32, 3) and frames.std() > 1.0
    assert take.record["model_hash"] == entry.content_hash
    assert take.record["pipeline"] == "WanPipeline"


def test_the_original_file_loads_the_same_weights_as_diffusers(parts) -> None:
    """The single-file transformer is the tiny model itself, tensor for tensor."""
    import torch

    from engine.generate import assemble
    from engine.generate.registry import add_model
    from tests.engine.generate import tiny_checkpoints as tc

    entry = add_model(parts["t2v"], name="same", parts={"text_encoder": str(parts["umt5"]),
                                                        "vae": str(parts["vae"])})
    loaded = assemble._load_transformer(entry, parts["t2v"], torch.float32)
    reference = tc.tiny_wan_transformer().state_dict()
    assert set(loaded.state_dict()) == set(reference)
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in reference.items())


def test_comfyui_models_folder_is_assembled(film, parts, capsys) -> None:
    assert _add(parts["comfy"], "--name", "comfy") == 0
    (entry,) = list_models()
    assert entry.family == "wan-t2v"
    assert Path(entry.options["parts"]["vae"]).name == "wan_2.1_vae_tiny.safetensors"
    take = _generate(film, "comfy")
    assert _frames(film, take).std() > 1.0


def test_gguf_q8_transformer_loads_and_the_planner_counts_its_quantized_size(
        film, parts, capsys) -> None:
    from engine.generate.memory import model_weights
    from engine.generate.registry import get_model

    assert _add(parts["gguf"], "--text-encoder", parts["umt5"], "--vae", parts["vae"],
                "--name", "wan-q8") == 0
    assert "transformer Q8_0" in capsys.readouterr().out
    entry = get_model("wan-q8")
    total, largest = model_weights(entry)
    gguf_size = parts["gguf"].stat().st_size
    fp32_size = parts["t2v"].stat().st_size
    assert gguf_size < fp32_size / 2.5  # Q8_0 of fp32 weights: about a quarter
    # the quantized transformer counts at its file size; fp32 files count halved (bf16)
    half = (parts["umt5"].stat().st_size + parts["vae"].stat().st_size) // 2
    assert abs(total - (gguf_size + half)) <= 2
    take = _generate(film, "wan-q8", seed=7)
    q8 = _frames(film, take)
    assert q8.std() > 1.0
    # Q8_0 is close to the full-precision weights: the same take, nearly (much nearer
    # than the same weights with another seed)
    assert _add(parts["t2v"], "--text-encoder", parts["umt5"], "--vae", parts["vae"],
                "--name", "wan-fp") == 0
    full = _frames(film, _generate(film, "wan-fp", seed=7))
    other_seed = _frames(film, _generate(film, "wan-fp", seed=8))
    assert q8.shape == full.shape
    assert np.abs(q8 - full).mean() < 0.5 * np.abs(other_seed - full).mean()
    assert total < model_weights(get_model("wan-fp"))[0]


def test_wan22_a14b_two_experts_image_to_video_from_single_files(film, parts, capsys) -> None:
    assert _add(parts["high"], "--transformer-2", parts["low"], "--text-encoder",
                parts["umt5"], "--vae", parts["vae"], "--name", "a14b-i2v") == 0
    assert "two experts" in capsys.readouterr().out
    (entry,) = list_models()
    assert entry.family == "wan-i2v"
    assert entry.options["pipeline_config"] == {"boundary_ratio": 0.9}
    # the second shot has a first keyframe (the red sheet)
    take = _generate(film, "a14b-i2v", shot=1)
    frames = _frames(film, take)
    assert take.record["first_frame_used"] is True and frames.std() > 1.0


def test_wan22_ti2v_5b_single_file_with_the_48_channel_vae_folder(film, parts) -> None:
    vae = parts["ti2v_folder"] / "vae"
    assert _add(parts["ti2v"], "--text-encoder", parts["umt5"], "--vae", vae,
                "--name", "ti2v") == 0
    assert _add(parts["ti2v"], "--text-encoder", parts["umt5"], "--vae", vae, "--task", "i2v",
                "--name", "ti2v-i2v") == 0
    models = {m.name: m for m in list_models()}
    assert models["ti2v"].family == "wan-t2v" and models["ti2v-i2v"].family == "wan-i2v"
    assert models["ti2v"].options["pipeline_config"] == {"expand_timesteps": True}
    assert _frames(film, _generate(film, "ti2v")).std() > 1.0
    take = _generate(film, "ti2v-i2v", shot=1)
    assert take.record["first_frame_used"] is True


@pytest.mark.parametrize("folder", ["ti2v_folder", "a14b_folder"])
def test_wan22_diffusers_folders(film, parts, folder: str) -> None:
    assert _add(parts[folder], "--name", "w22") == 0
    take = _generate(film, "w22")
    assert _frames(film, take).std() > 1.0
    index = json.loads((parts[folder] / "model_index.json").read_text())
    assert take.record["pipeline"] == index["_class_name"] == "WanPipeline"


def test_shared_parts_load_once_across_models_and_families(film, parts, registered) -> None:
    """A T2V and an I2V model made of the same UMT5 and VAE files share one encoder and one
    VAE; alternating SDXL keyframe jobs with I2V jobs reloads nothing either uses."""
    from engine.generate.service import BackendPool

    CACHE.clear()
    CACHE.loads.clear()
    assert _add(parts["t2v"], "--text-encoder", parts["umt5"], "--vae", parts["vae"],
                "--name", "t2v-files") == 0
    assert _add(parts["high"], "--transformer-2", parts["low"], "--text-encoder",
                parts["umt5"], "--vae", parts["vae"], "--name", "i2v-files") == 0
    pool = BackendPool()
    _generate(film, "t2v-files", pool=pool)
    t2v_pipe_encoder = pool.backend.pipe.text_encoder
    _generate(film, "i2v-files", pool=pool, shot=1)
    assert pool.backend.pipe.text_encoder is t2v_pipe_encoder
    by_role: dict[str, int] = {}
    for key, count in CACHE.loads.items():
        by_role[key.split(":")[0]] = by_role.get(key.split(":")[0], 0) + count
    assert by_role == {"transformer": 2, "transformer_2": 1, "text_encoder": 1, "vae": 1}
    # SDXL keyframe → I2V → SDXL → I2V: each component read from disk once
    CACHE.loads.clear()
    for round_ in range(2):  # new seeds: every job makes a new take
        _generate(film, registered["sdxl"], pool=pool, seed=100 + round_)
        _generate(film, "i2v-files", pool=pool, shot=1, seed=200 + round_)
    assert CACHE.loads and all(count == 1 for count in CACHE.loads.values()), CACHE.loads
    roles = {key.split(":")[0] for key in CACHE.loads}
    assert {"unet", "vae", "text_encoder", "text_encoder_2", "ip_image_encoder"} <= roles
    assert pool.loads == 6  # the pool switched backends every job; the parts stayed warm


# --------------------------------------------------------------------------- bad input
def _refused(capsys, *argv) -> str:
    before = list_models()
    assert _add(*argv, "--name", "bad") == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and err.count("\n") == 0, err
    assert list_models() == before  # nothing registered
    return err


def test_bad_checkpoints_are_refused_in_one_sentence(parts, tmp_path: Path, capsys) -> None:
    from safetensors.torch import load_file, save_file

    common = ("--text-encoder", parts["umt5"], "--vae", parts["vae"])
    # a transformer file with keys of another architecture mixed in (an SDXL UNet's)
    state = load_file(str(parts["t2v"]))
    state["model.diffusion_model.input_blocks.0.0.weight"] = state[
        "model.diffusion_model.patch_embedding.weight"].clone()
    mixed = tmp_path / "mixed.safetensors"
    save_file(state, str(mixed))
    assert "tensor(s) a Wan transformer does not have" in _refused(capsys, mixed, *common)
    # a truncated GGUF and a truncated safetensors file
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(parts["gguf"].read_bytes()[: parts["gguf"].stat().st_size // 2])
    assert "truncated" in _refused(capsys, cut, *common)
    cut_st = tmp_path / "cut.safetensors"
    cut_st.write_bytes(parts["t2v"].read_bytes()[:-1000])
    assert "truncated" in _refused(capsys, cut_st, *common)
    # parts of two models: a 48-channel TI2V transformer with the 16-channel 2.1 VAE
    assert "parts of two different models" in _refused(capsys, parts["ti2v"], *common)
    # two "experts" of different shapes
    assert "not the two experts" in _refused(capsys, parts["high"], "--transformer-2",
                                             parts["t2v"], *common)
    # the text encoder given as the VAE; a pickle checkpoint
    assert "not a Wan VAE" in _refused(capsys, parts["t2v"], "--text-encoder", parts["umt5"],
                                       "--vae", parts["umt5"])
    pickle = tmp_path / "wan.ckpt"
    pickle.write_bytes(b"\x80\x04")
    assert "pickle" in _refused(capsys, pickle, *common)
    assert "needs its UMT5 text encoder" in _refused(capsys, parts["t2v"], "--vae",
                                                     parts["vae"])


def test_comfy_folder_with_two_transformers_asks_which(parts, tmp_path: Path, capsys) -> None:
    comfy = tmp_path / "models"
    shutil.copytree(parts["comfy"], comfy)
    shutil.copy(parts["ti2v"], comfy / "diffusion_models")
    err = _refused(capsys, comfy)
    assert "several Wan transformers" in err and "--transformer" in err
    assert _add(comfy, "--transformer", "wan2.1_t2v_tiny_fp32.safetensors", "--name",
                "picked") == 0
