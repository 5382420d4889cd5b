"""`storyreel consistency` and `generate --takes N --pick identity` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.cli import main
from engine.generate.base import GenerationResult
from engine.model import Scene, Shot
from engine.model import entities as E
from engine.ops.characters import add_character
from engine.ops.takes import approve_take, import_take
from engine.store import ProjectStore
from tests.engine.generate import face_media as fm


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli-faces")
    a, h = fm.astronaut(), fm.grace_hopper()
    return {"ref_a": fm.save_photo(a, root / "eileen.png"),
            "a_move": fm.make_take(a, "move", root / "a-move.mp4"),
            "h_still": fm.make_take(h, "still", root / "h-still.mp4"),
            "blank": fm.blank_take(root / "blank.mp4")}


@pytest.fixture
def cast(tmp_path: Path, photos: dict[str, Path]) -> Any:
    store = ProjectStore.create(tmp_path / "faces.storyreel", E.Project(title="Faces"))
    eileen = add_character(store, "Eileen", references=[photos["ref_a"]]).result
    scene = Scene(number=1)
    store.add(scene)
    shot = Shot(scene_id=scene.id, characters=[eileen.id], duration=1.0)
    store.add(shot)
    store.shot = shot
    yield store
    store.close()


def test_consistency_lists_scores_flags_and_faces(cast: Any, photos: dict[str, Path],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    good = import_take(cast, cast.shot.id, photos["a_move"]).result
    bad = import_take(cast, cast.shot.id, photos["h_still"]).result
    empty = import_take(cast, cast.shot.id, photos["blank"]).result
    approve_take(cast, bad.id)
    root = str(cast.root)
    assert main(["consistency", root]) == 0
    out, err = capsys.readouterr()
    assert "Scoring 3 take(s)" in err
    lines = {line.split()[1].lstrip("*")[:8]: line for line in out.splitlines()[2:]
             if len(line.split()) > 1}
    assert lines[good.id[:8]].endswith("ok") and "Eileen" in lines[good.id[:8]]
    assert lines[bad.id[:8]].endswith("DRIFT") and "*" in lines[bad.id[:8]]
    assert "no-face" in lines[empty.id[:8]]
    assert "1 take/character pair(s) drifted below 0.50." in out
    # --json: one row per take and character; a stricter --threshold flags the good one
    assert main(["consistency", root, "--json", "--threshold", "0.95", "--no-score"]) == 0
    rows = {r["take"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[good.id]["drifted"] and rows[good.id]["threshold"] == 0.95
    assert rows[good.id]["character"] == "Eileen" and rows[good.id]["score"] > 0.6
    assert rows[good.id]["faces_found"] == 6 and rows[good.id]["no_face_frames"] == 0
    assert rows[empty.id]["status"] == "no-face" and rows[empty.id]["faces_found"] == 0
    # the project keeps a threshold of its own
    assert main(["consistency", root, "--threshold", "0.3", "--save-threshold"]) == 0
    assert "Identity threshold 0.30" in capsys.readouterr().out
    with ProjectStore.open(cast.root) as store:
        assert store.project.settings["identity_threshold"] == 0.3


@pytest.mark.parametrize("argv, message", [
    (["--threshold", "high"], "--threshold 'high' is not a number"),
    (["--threshold", "2"], "--threshold 2 is outside 0–1."),
    (["--save-threshold"], "--save-threshold needs --threshold X."),
    (["--shots", "9-9"], "There is no shot 9-9 in this project"),
])
def test_bad_consistency_input_is_one_sentence_exit_2(cast: Any, capsys: Any, argv: list[str],
                                                      message: str) -> None:
    assert main(["consistency", str(cast.root), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_export_warns_when_an_approved_take_drifted(cast: Any, photos: dict[str, Path]) -> None:
    from engine.generate.identity import drift_warnings
    from engine.ops.takes import score_takes

    bad = import_take(cast, cast.shot.id, photos["h_still"]).result
    score_takes(cast, [bad.id])
    assert drift_warnings(cast) == []  # not approved: nothing to warn about
    approve_take(cast, bad.id)
    (warning,) = drift_warnings(cast)
    assert "approved take of shot 1-1 drifted" in warning and "Eileen 0.3" in warning
    assert drift_warnings(cast, threshold=0.2) == []


class PhotoBackend:
    """A stand-in video model whose takes are the test photos: seed + 0 shows the wrong
    person, + 1 the right one heavily recompressed, + 2 the right one clean."""

    name = "photo"
    plan = (("h", "still"), ("a", "recompress"), ("a", "still"))

    def __init__(self, base_seed: int) -> None:
        self.base_seed = base_seed
        self.photos = {"a": fm.astronaut(), "h": fm.grace_hopper()}

    def generate(self, request: Any, out_path: Path, progress: Any, cancel: Any) -> Any:
        who, effect = self.plan[(request.seed - self.base_seed) % 3]
        progress(0.5, "step 1/2")
        fm.make_take(self.photos[who], effect, out_path)
        return GenerationResult(video=out_path, record={"frames": 6, "fps": 6})


def test_generate_takes_n_pick_identity_approves_the_best(
        cast: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from engine.generate import service
    from engine.generate.requests import shot_seed

    backend = PhotoBackend(shot_seed(cast.shot))
    monkeypatch.setattr(service, "family_of", lambda name: ("wan-t2v", "photo-model-1"))
    monkeypatch.setattr(service, "make_backend", lambda *a, **k: backend)
    rc = main(["generate", str(cast.root), "--shots", "1-1", "--backend", "photo",
               "--device", "cpu", "--takes", "3", "--pick", "identity"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "Queued 3 job(s)" in err and "Picked take" in out
    with ProjectStore.open(cast.root) as store:
        takes = store.takes(cast.shot.id)
        assert len(takes) == 3 and len({t.record["seed"] for t in takes}) == 3
        by_seed = {t.record["seed"] - backend.base_seed: t for t in takes}
        assert store.require(Shot, cast.shot.id).approved_take_id == by_seed[2].id
        assert [t.approved for t in (by_seed[0], by_seed[1], by_seed[2])] == [0, 0, 1]
        group = by_seed[0].identity["group"]
        assert group["picked"] == by_seed[2].id and len(group["takes"]) == 3
        # the worker scored every take in its own score job
        score_jobs = [j for j in store.all(E.Job) if j.kind == "score"]
        assert len(score_jobs) == 3 and all(j.status is E.JobStatus.DONE for j in score_jobs)
    assert f"Picked take {by_seed[2].id[:8]}" in out


@pytest.mark.parametrize("argv, message", [
    (["--takes", "3"], "The animatic draws the same storyboard whatever the seed"),
    (["--pick", "identity"], "--pick needs several takes"),
    (["--takes", "0"], "--takes 0 must be between 1 and 64."),
])
def test_bad_best_of_n_input_is_one_sentence_exit_2(cast: Any, capsys: Any, argv: list[str],
                                                    message: str) -> None:
    assert main(["generate", str(cast.root), "--shots", "all", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    with ProjectStore.open(cast.root) as store:
        assert store.all(E.Job) == []  # nothing queued


def test_damaged_stored_scores_are_read_as_not_scored(cast: Any, photos: dict[str, Path],
                                                      capsys: Any) -> None:
    """A shared project file is untrusted: a mangled score record is neither trusted nor a
    traceback; the next scoring replaces it."""
    import sqlite3

    take = import_take(cast, cast.shot.id, photos["a_move"]).result
    for bad in ('{"status": "scored", "characters": [1, 2]}', '{"status": "scored", '
                '"characters": {"x": {"score": "high"}}}', '[1, 2]'):
        with sqlite3.connect(cast.root / "project.db") as db:
            db.execute("UPDATE takes SET identity = ? WHERE id = ?", (bad, take.id))
        rc = main(["consistency", str(cast.root), "--no-score", "--json"])
        out, err = capsys.readouterr()
        if bad.startswith("["):  # not even a mapping: the store refuses the file's row
            assert rc == 2 and "damaged" in err and "Traceback" not in err
            continue
        assert rc == 0, err
        (row,) = json.loads(out)
        assert row["status"] == "not scored" and row["score"] is None
    with sqlite3.connect(cast.root / "project.db") as db:
        db.execute("UPDATE takes SET identity = ? WHERE id = ?",
                   ('{"status": "scored", "key": "x", "characters": {"a": {"score": "hi"}}}',
                    take.id))
    assert main(["consistency", str(cast.root), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["status"] == "scored" and row["score"] > 0.6


@pytest.mark.slow
def test_identity_bench_prints_a_ratio() -> None:
    import re
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[3]
    proc = subprocess.run([sys.executable, "bench/identity.py", "--frames", "4", "--repeats",
                           "1", "--size", "320x320"], capture_output=True, text=True, cwd=root,
                          env={**__import__("os").environ, "PYTHONPATH": str(root)},
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^  ratio score / bare\s*:\s*\d+\.\d{3}   \(target ≤ 1\.20\)$",
                     proc.stdout, re.M), proc.stdout
    assert re.search(r"^  score_take per frame\s*:\s*\d+\.\d{3} s", proc.stdout, re.M)


def _tiny_arcface(folder: Path, dims: int = 16) -> Path:
    """An ArcFace-shaped ONNX model with random weights, built in the test session: one
    (1, 3, 112, 112) image in, one embedding out (a real model has the same interface)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(7)
    weights = rng.standard_normal((3 * 112 * 112, dims)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["input"], ["flat"], axis=1),
         helper.make_node("MatMul", ["flat", "w"], ["embedding"])],
        "tiny-arcface",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 112, 112])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, dims])],
        [numpy_helper.from_array(weights, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(folder / "arcface.onnx"))
    return folder


def test_an_onnx_face_model_folder_scores_through_the_same_path(
        cast: Any, photos: dict[str, Path], tmp_path: Path, capsys: Any) -> None:
    take = import_take(cast, cast.shot.id, photos["h_still"]).result
    root = str(cast.root)
    assert main(["consistency", root, "--json"]) == 0
    (dlib_row,) = json.loads(capsys.readouterr().out)
    folder = _tiny_arcface(tmp_path / "arcface")
    assert main(["consistency", root, "--face-model", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "Identity threshold 0.30 (metric arcface-onnx-" in out
    with ProjectStore.open(cast.root) as store:
        scores = store.require(E.Take, take.id).identity
    assert scores["metric"].startswith("arcface-onnx-") and scores["status"] == "scored"
    (eileen,) = scores["characters"].values()
    assert 0.0 <= eileen["score"] <= 1.0 and eileen["frames"] == 6
    assert eileen["temporal"]["mean"] > 0.98  # a still photo: the same chip every frame
    assert scores["score"] != dlib_row["score"]  # another metric, another cache key
    # back to dlib: its own cached scores again
    assert main(["consistency", root, "--face-model", "dlib", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["score"] == dlib_row["score"] and row["threshold"] == 0.5


@pytest.mark.parametrize("content, message", [
    (None, "must be a folder holding one .onnx face embedding model (found 0)"),
    (b"not a graph", "cannot be loaded as an ONNX model"),
])
def test_a_bad_face_model_folder_is_one_sentence(cast: Any, tmp_path: Path, capsys: Any,
                                                 content: bytes | None, message: str) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    if content is not None:
        (folder / "face.onnx").write_bytes(content)
    assert main(["consistency", str(cast.root), "--face-model", str(folder)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    with ProjectStore.open(cast.root) as store:
        assert "identity_face_model" not in store.project.settings  # nothing saved
