"""`storyreel generate / jobs / import-take / approve / takes` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main
from engine.model import JobStatus, ShotStatus, TakeKind
from engine.model import entities as E
from engine.store import ProjectStore
from tests.media_factory import make_video

ROOT = Path(__file__).resolve().parents[3]


def _reopen(film) -> ProjectStore:
    return ProjectStore.open(film.root)


def test_generate_prints_progress_and_makes_takes(film, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["generate", str(film.root), "--shots", "all", "--size", "64x96"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "Queued 2 job(s)" in err and "[1/2] shot 1-1" in err and "[2/2] shot 1-2" in err
    assert "ETA" in err and "Finished: 2 done." in out
    with _reopen(film) as store:
        assert all(len(store.takes(s)) == 1 for s in film.film["shots"])
    # again: nothing is stale
    assert main(["generate", str(film.root)]) == 0
    assert "Nothing to generate" in capsys.readouterr().out
    # the same shots explicitly: cache hits
    assert main(["generate", str(film.root), "--shots", "1-1", "--size", "64x96"]) == 0
    assert "1 from cache" in capsys.readouterr().out
    assert main(["jobs", str(film.root), "--json"]) == 0
    jobs = json.loads(capsys.readouterr().out)
    assert [j["status"] for j in jobs] == ["done"] * 3
    assert jobs[-1]["result"]["cache_hit"] is True
    assert main(["jobs", str(film.root), "--clear"]) == 0
    assert "Removed 3 finished job(s)." in capsys.readouterr().out
    with _reopen(film) as store:
        assert store.all(E.Job) == []


@pytest.mark.parametrize("argv, message", [
    (["--backend", "nope"], "No model named 'nope'"),
    (["--size", "64by96"], "WIDTHxHEIGHT"),
    (["--size", "63x96"], "multiple of 2"),
    (["--shots", "9-9"], "There is no shot 9-9"),
    (["--steps", "0"], "must be positive"),
])
def test_bad_generate_input_is_one_sentence_exit_2(film, capsys, argv, message) -> None:
    rc = main(["generate", str(film.root), *argv])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and "Traceback" not in err
    with _reopen(film) as store:
        assert store.all(E.Job) == []


def test_bad_frames_for_a_wan_model_exit_2(film, registered, capsys) -> None:
    rc = main(["generate", str(film.root), "--backend", registered["vace"], "--frames", "80"])
    assert rc == 2 and "4k+1" in capsys.readouterr().err


def test_cuda_asked_for_without_one_is_refused(film, registered, capsys) -> None:
    from engine.generate.memory import cuda_available

    if cuda_available():
        pytest.skip("this machine has CUDA")
    rc = main(["generate", str(film.root), "--backend", registered["vace"], "--device", "cuda"])
    assert rc == 2 and "no CUDA GPU" in capsys.readouterr().err


def test_failed_jobs_exit_1_and_show_in_jobs(film, registered, capsys) -> None:
    rc = main(["generate", str(film.root), "--shots", "1-1", "--backend", registered["i2v"],
               "--device", "cpu", "--size", "32x32", "--frames", "9", "--steps", "2"])
    out, err = capsys.readouterr()
    assert rc == 1 and "failed" in err and "no first keyframe" in err
    assert main(["jobs", str(film.root)]) == 0
    assert "failed" in capsys.readouterr().out
    with _reopen(film) as store:
        (job,) = store.all(E.Job)
        assert job.status is JobStatus.FAILED
    assert main(["jobs", str(film.root), "--retry", job.id[:8]]) == 0


def test_import_take_approve_and_takes(film, tmp_path: Path, capsys) -> None:
    clip = make_video(tmp_path / "jimeng.mp4", frames=10, size=(64, 48))
    shot_id = film.film["shots"][0]
    assert main(["import-take", str(film.root), shot_id[:8], str(clip)]) == 0
    assert main(["takes", str(film.root), "1-1", "--json"]) == 0
    (take,) = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert take["kind"] == str(TakeKind.IMPORTED)
    assert main(["approve", str(film.root), take["id"][:8]]) == 0
    with _reopen(film) as store:
        assert store.require(E.Shot, shot_id).status is ShotStatus.APPROVED
    assert main(["import-take", str(film.root), shot_id, str(tmp_path / "none.mp4")]) == 2


def test_animatic_generation_works_without_torch(film) -> None:
    """The base install has no torch/diffusers: the animatic path must not need them."""
    code = (
        "import sys\n"
        "for m in ('torch', 'diffusers', 'transformers'): sys.modules[m] = None\n"
        "from engine.cli import main\n"
        f"rc = main(['generate', {str(film.root)!r}, '--size', '64x96'])\n"
        "assert not [m for m in ('torch', 'diffusers') if sys.modules.get(m)]\n"
        "sys.exit(rc)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    with _reopen(film) as store:
        assert all(len(store.takes(s)) == 1 for s in film.film["shots"])


def test_keyframe_from_an_image_and_from_a_frame_of_an_animatic_take(tmp_path, capsys) -> None:
    from engine.cli import main
    from engine.generate.service import generate_now
    from engine.model import Project, Scene, Shot
    from engine.store import ProjectStore
    from tests.media_factory import make_image

    store = ProjectStore.create(tmp_path / "k.storyreel", Project(title="k"))
    scene = store.add(Scene(number=1))
    a = store.add(Shot(scene_id=scene.id, order=0, duration=1.0, action="她回头"))
    b = store.add(Shot(scene_id=scene.id, order=1, duration=1.0))
    (take,) = generate_now(store, [a.id], overrides={"width": 64, "height": 96})
    root = store.root
    store.close()
    image = make_image(tmp_path / "k.png", (64, 96), (10, 200, 30))
    assert main(["keyframe", str(root), "1-2", str(image)]) == 0
    assert main(["keyframe", str(root), "1-2", f"{take.id[:8]}@0.5", "--last"]) == 0
    out = capsys.readouterr().out
    assert "first keyframe is now k.png" in out and "frame at 0.5" in out
    with ProjectStore.open(root) as again:
        shot = again.require(Shot, b.id)
        assert shot.first_keyframe and shot.last_keyframe
        assert shot.first_keyframe != shot.last_keyframe
        assert again.media.path(shot.last_keyframe).suffix == ".png"
    assert main(["keyframe", str(root), "1-2", f"{take.id[:8]}@9"]) == 2
    assert "outside the take" in capsys.readouterr().err
    assert main(["keyframe", str(root), "1-2", "nothing-like-this"]) == 2
    err = capsys.readouterr().err
    assert "is neither an image file nor a take" in err and err.count("\n") == 1
