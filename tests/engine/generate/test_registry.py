from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.cli import main
from engine.generate import registry


def _fake_folder(root: Path, pipeline: str = "WanVACEPipeline") -> Path:
    root.mkdir(parents=True)
    (root / "model_index.json").write_text(json.dumps({"_class_name": pipeline}))
    (root / "transformer").mkdir()
    (root / "transformer" / "config.json").write_text('{"num_layers": 3}')
    (root / "transformer" / "model.safetensors").write_bytes(b"\x08" + b"\0" * 64)
    return root


def test_add_and_list_through_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  _storyreel_home: Path) -> None:
    folder = _fake_folder(tmp_path / "Wan2.1-VACE-1.3B")
    assert main(["models", "add", str(folder)]) == 0
    assert "wan-vace" in capsys.readouterr().out
    assert main(["models", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [m["name"] for m in listed] == ["wan2.1-vace-1.3b"]
    assert listed[0]["family"] == "wan-vace"
    assert listed[0]["path"] == str(folder.resolve())
    assert len(listed[0]["content_hash"]) == 64
    # the registry lives in the per-user folder, shared by every project
    assert (_storyreel_home / "models.json").is_file()


def test_pickle_weights_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _fake_folder(tmp_path / "m")
    (folder / "transformer" / "diffusion_pytorch_model.bin").write_bytes(b"pickle")
    assert main(["models", "add", str(folder), "--name", "m"]) == 2
    err = capsys.readouterr().err
    assert "pickle" in err and "safetensors" in err and "Traceback" not in err
    assert registry.list_models() == []


@pytest.mark.parametrize("case, expected", [
    ("no-index", "model_index.json"),
    ("unsupported", "cannot use"),
    ("no-weights", ".safetensors"),
    ("reserved", "reserved"),
])
def test_bad_folders_get_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      case: str, expected: str) -> None:
    folder = _fake_folder(tmp_path / "m",
                          "FluxPipeline" if case == "unsupported" else "WanVACEPipeline")
    name = "m"
    if case == "no-index":
        (folder / "model_index.json").unlink()
    elif case == "no-weights":
        (folder / "transformer" / "model.safetensors").unlink()
    elif case == "reserved":
        name = "animatic"
    assert main(["models", "add", str(folder), "--name", name]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1


def test_hash_names_exact_content(tmp_path: Path) -> None:
    folder = _fake_folder(tmp_path / "m")
    entry = registry.add_model(folder, name="m")
    registry.verify(entry)  # unchanged: fine
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    assert registry.content_hash(copy) == entry.content_hash  # location does not matter
    (folder / "transformer" / "config.json").write_text('{"num_layers": 4}')
    assert registry.content_hash(folder) != entry.content_hash
    with pytest.raises(registry.ModelError, match="changed on disk"):
        registry.verify(entry)
    (folder / "transformer" / "model.safetensors").write_bytes(b"\x08" + b"\1" * 64)
    assert registry.content_hash(folder) != registry.content_hash(copy)


def test_unknown_model_lists_known_ones(tmp_path: Path) -> None:
    registry.add_model(_fake_folder(tmp_path / "m"), name="known-one")
    with pytest.raises(registry.ModelError, match="known-one"):
        registry.get_model("nope")


def test_registry_is_per_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry.add_model(_fake_folder(tmp_path / "m"), name="mine")
    monkeypatch.setenv("STORYREEL_HOME", str(tmp_path / "other-user"))
    assert registry.list_models() == []


def test_tiny_sdxl_registers_with_its_ip_adapter(tiny_models: dict[str, Path]) -> None:
    entry = registry.add_model(tiny_models["sdxl"], name="kf")
    assert entry.family == "sdxl"
    assert entry.ip_adapter.endswith("ip-adapter_sdxl.safetensors")
    assert registry.add_model(tiny_models["flf"], name="flf").family == "wan-i2v"
