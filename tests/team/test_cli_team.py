"""The team commands, run as users run them, against the real server."""

from __future__ import annotations

import json

from engine.cli import main
from engine.model import Project, Scene, Shot
from engine.store import ProjectStore


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_share_join_review_notes_assign_and_a_refused_viewer(tmp_path, server_url,
                                                            capsys) -> None:
    store = ProjectStore.create(tmp_path / "a.storyreel", Project(title="追光"))
    scene = store.add(Scene(number=1))
    store.add(Shot(scene_id=scene.id, duration=3.0))
    store.add(Shot(scene_id=scene.id, order=1, duration=2.0))
    store.close()
    nas = tmp_path / "nas"
    nas.mkdir()
    a = str(tmp_path / "a.storyreel")
    code, out, err = _run(capsys, "share", a, "--server", server_url, "--media", str(nas))
    assert code == 0, err
    assert "linked working copy" in out
    for user, role in (("rita", "reviewer"), ("vic", "viewer")):
        assert _run(capsys, "team", "grant", a, user, "--role", role)[0] == 0
    code, out, _ = _run(capsys, "team", "list", a, "--json")
    assert [(m["user"], m["role"]) for m in json.loads(out)] == [
        ("postgres", "owner"), ("rita", "reviewer"), ("vic", "viewer")]
    r, v = str(tmp_path / "r.storyreel"), str(tmp_path / "v.storyreel")
    assert _run(capsys, "join", server_url.replace("postgres@", "rita@"), r,
                "--media", str(nas))[0] == 0
    assert _run(capsys, "join", server_url.replace("postgres@", "vic@"), v,
                "--media", str(nas))[0] == 0
    code, out, err = _run(capsys, "review", r, "1-2", "--status", "retake", "--note",
                          "节奏太慢", "--at", "1.5")
    assert code == 0, err
    assert "1-2: retake" in out
    assert _run(capsys, "assign", r, "1-2", "bob")[0] == 0
    code, out, _ = _run(capsys, "notes", a, "--json")
    notes = json.loads(out)
    assert [(n["shot"], n["author"], n["status"], n["timecode"], n["text"]) for n in notes] \
        == [("1-2", "rita", "retake", 1.5, "节奏太慢")]
    code, out, err = _run(capsys, "review", v, "1-1", "--note", "好")
    assert code == 2 and "refused this change for vic (viewer)" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    code, out, _ = _run(capsys, "notes", v, "1-1")
    assert out.strip() == "No notes yet."
    code, _, err = _run(capsys, "review", r, "1-2", "--status", "great")
    assert code == 2 and "not one of" in err
