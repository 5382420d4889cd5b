from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine import __version__
from engine.cli import main
from tests.media_factory import make_image, make_video

ROOT = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version_via_console_entry() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "engine.cli", "--version"], capture_output=True, text=True,
        cwd=ROOT, check=True,
    ).stdout
    assert out.strip() == f"storyreel {__version__}"


def test_new_info_character_import_pack_unpack(tmp_path: Path, capsys) -> None:
    proj = tmp_path / "drama.storyreel"
    code, out, _ = run(capsys, "new", str(proj), "--title", "重逢", "--aspect", "16:9",
                       "--fps", "24", "--lang", "en")
    assert code == 0 and "重逢" in out
    ref = make_image(tmp_path / "linyu.png")
    code, out, err = run(capsys, "character", "add", str(proj), "林雨", "--ref", str(ref),
                         "--description", "女主角")
    assert code == 0, err
    clip = make_video(tmp_path / "c.mp4", frames=12)
    code, out, err = run(capsys, "import-media", str(proj), str(clip))
    assert code == 0 and "video" in out
    code, out, _ = run(capsys, "info", str(proj), "--json")
    info = json.loads(out)
    assert info["title"] == "重逢" and info["aspect"] == "16:9" and info["fps"] == "24"
    assert info["resolution"] == [1920, 1080] and info["language"] == "en"
    assert info["counts"]["characters"] == 1 and info["counts"]["media"] == 2
    assert info["characters"][0]["description"] == "女主角"
    assert info["schema_version"] >= 2
    code, out, _ = run(capsys, "pack", str(proj), str(tmp_path / "p.zip"))
    assert code == 0
    code, out, err = run(capsys, "unpack", str(tmp_path / "p.zip"), str(tmp_path / "copy"))
    assert code == 0, err
    code, out, _ = run(capsys, "info", str(tmp_path / "copy"), "--json")
    assert json.loads(out)["counts"]["media"] == 2


@pytest.mark.parametrize("argv,needle", [
    (["info", "{tmp}/missing"], "does not exist"),
    (["info", "{tmp}"], "not a Storyreel project"),
    (["new", "{tmp}/x", "--fps", "abc"], "--fps"),
    (["new", "{tmp}/x", "--aspect", "4:3"], "invalid choice"),
    (["character", "add", "{tmp}/missing", "A"], "does not exist"),
])
def test_bad_input_exit_2_one_sentence(tmp_path: Path, capsys, argv, needle) -> None:
    code, out, err = run(capsys, *[a.format(tmp=tmp_path) for a in argv])
    assert code == 2
    assert needle in err and "Traceback" not in err
    assert err.count("\n") == 1


def test_corrupt_db_and_unreadable_media_via_cli(tmp_path: Path, capsys) -> None:
    proj = tmp_path / "p.storyreel"
    assert run(capsys, "new", str(proj))[0] == 0
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    code, _, err = run(capsys, "import-media", str(proj), str(bad))
    assert code == 2 and "bad.mp4" in err
    code, out, _ = run(capsys, "info", str(proj), "--json")
    assert json.loads(out)["counts"]["media"] == 0
    (proj / "project.db").write_bytes(b"garbage" * 1000)
    for extra in ("-wal", "-shm"):
        (proj / f"project.db{extra}").unlink(missing_ok=True)
    code, _, err = run(capsys, "info", str(proj))
    assert code == 2 and ("corrupt" in err or "not a Storyreel" in err)
    assert "Traceback" not in err


def test_duplicate_character_refused(tmp_path: Path, capsys) -> None:
    proj = tmp_path / "p.storyreel"
    run(capsys, "new", str(proj))
    assert run(capsys, "character", "add", str(proj), "A")[0] == 0
    code, _, err = run(capsys, "character", "add", str(proj), "A")
    assert code == 2 and "already exists" in err
