"""Roles enforced by the server, review across linked copies, many writers at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.errors import ProjectError
from engine.model import Project, Scene, Shot
from engine.model.review import ReviewNote
from engine.ops import history, review, shots
from engine.ops.team import grant, join, members, share
from engine.store import ProjectStore


def _shared(tmp_path: Path, server_url: str, n_shots: int = 3) -> tuple[ProjectStore, str]:
    store = ProjectStore.create(tmp_path / "剧.storyreel", Project(title="剧"))
    scene = store.add(Scene(number=1))
    for i in range(n_shots):
        store.add(Shot(scene_id=scene.id, order=i, duration=2.0))
    root = store.root
    store.close()
    (tmp_path / "nas").mkdir()
    share(root, server_url, str(tmp_path / "nas"))
    return ProjectStore.open(root), str(tmp_path / "nas")


def _as(url: str, user: str) -> str:
    return url.replace("postgres@", f"{user}@")


def _dump(store: ProjectStore) -> list:
    return [(s.id, s.duration, s.action, s.size) for s in store.shots()] + [
        (n.id, n.text) for n in review.notes(store)]


def test_the_server_enforces_each_role(tmp_path, server_url) -> None:
    owner, media = _shared(tmp_path, server_url)
    for user, role in (("bob", "editor"), ("rita", "reviewer"), ("vic", "viewer")):
        grant(owner, user, role)
    assert [(m.user, m.role) for m in members(owner)] == [
        ("postgres", "owner"), ("bob", "editor"), ("rita", "reviewer"), ("vic", "viewer")]
    shot_id = owner.shots()[0].id
    copies = {u: join(_as(server_url, u), tmp_path / u / "剧.storyreel", media)
              for u in ("bob", "rita", "vic")}
    try:
        bob, rita, vic = copies["bob"], copies["rita"], copies["vic"]
        assert bob.author == "bob"
        shots.set_shot_fields(bob, shot_id, action="推门")
        before = _dump(owner)
        with pytest.raises(ProjectError, match=r"refused this change for vic \(viewer\).*"
                                               "nothing was changed"):
            shots.set_shot_fields(vic, shot_id, duration=9.0)
        with pytest.raises(ProjectError, match=r"refused this change for vic"):
            review.review(vic, shot_id, note="我觉得")
        with pytest.raises(ProjectError, match=r"refused this change for rita \(reviewer\)"):
            shots.set_shot_fields(rita, shot_id, duration=9.0)
        assert _dump(owner) == before
        # a reviewer comments, sets a status (a retake marks the shot stale) and assigns
        note = review.review(rita, shot_id, status="retake", note="再来一条", at=0.5).result
        review.assign(rita, shot_id, "bob")
        assert owner.require(ReviewNote, note.id).author == "rita"
        assert review.review_of(bob, shot_id).status == "retake"
        assert review.review_of(bob, shot_id).assignee == "bob"
        # nobody may change or remove another person's note, not even an editor
        with pytest.raises(ProjectError, match="refused|nothing was changed"):
            with bob.transaction("tamper"):
                bob.set_fields(ReviewNote, note.id, text="改掉")
        # nor write history in another person's name (row security on op_log)
        with pytest.raises(Exception, match="row-level security"):
            with bob.engine.begin() as conn:
                conn.execute(text("INSERT INTO op_log (op, author, at, kind) "
                                  "VALUES ('x', 'rita', 'now', 'op')"))
        assert owner.require(ReviewNote, note.id).text == "再来一条"
        # undo stays per author: rita undoes her assignment, not bob's edit
        history.undo(rita, "rita")
        assert review.review_of(owner, shot_id).assignee == ""
        assert owner.require(Shot, shot_id).action == "推门"
    finally:
        for c in copies.values():
            c.close()
        owner.close()


_WRITER = """
import sys
from engine.ops import shots
from engine.store import ProjectStore

store = ProjectStore.open(sys.argv[1])
shot = store.shots()[int(sys.argv[2])]
for i in range(int(sys.argv[3])):
    shots.set_shot_fields(store, shot.id, duration=1.0 + i / 10, action=f"动作 {i}")
store.close()
"""


def test_eight_writers_on_the_server_lose_nothing(tmp_path, server_url) -> None:
    owner, media = _shared(tmp_path, server_url, n_shots=8)
    start = owner.history(limit=1)[0].seq
    roots = []
    for i in range(8):
        grant(owner, f"ed{i}", "editor")
        copy = join(_as(server_url, f"ed{i}"), tmp_path / f"ed{i}" / "剧.storyreel", media)
        roots.append(copy.root)
        copy.close()
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(r), str(i), "50"],
                              env=dict(os.environ), stderr=subprocess.PIPE, text=True)
             for i, r in enumerate(roots)]
    errors = [p.communicate(timeout=600)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, errors
    entries = [e for e in owner.history() if e.seq > start and e.kind == "op"]
    assert len(entries) == 400
    assert sorted(e.seq for e in entries) == [e.seq for e in reversed(entries)]
    counts: dict[str, int] = {}
    for e in entries:
        counts[e.author] = counts.get(e.author, 0) + 1
    assert counts == {f"ed{i}": 50 for i in range(8)}
    for shot in owner.shots():
        assert (shot.duration, shot.action) == (pytest.approx(5.9), "动作 49")
    owner.close()
