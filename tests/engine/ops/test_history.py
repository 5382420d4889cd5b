"""The operation log: field-level writes, per-author undo, stale writes, two processes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from engine.model import Character, Project, Scene, Shot, ShotSize
from engine.ops import characters, history, shots
from engine.store import ProjectStore
from engine.store.history import StaleWriteError, UndoRefused


def _dump(db: Path) -> list[tuple]:
    """Every row of every table but the log, to prove that nothing changed."""
    con = sqlite3.connect(db)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return [(t, *row) for t in tables if t not in ("op_log", "op_fields")
                for row in con.execute(f'SELECT * FROM "{t}" ORDER BY 1')]
    finally:
        con.close()


@pytest.fixture
def film(tmp_path: Path) -> tuple[ProjectStore, str, str]:
    store = ProjectStore.create(tmp_path / "film.storyreel", Project(title="雨夜"))
    scene = store.add(Scene(number=1, heading="INT. 客厅"))
    lin = store.add(Character(name="林雨", costume="白衬衫"))
    shot = store.add(Shot(scene_id=scene.id, characters=[lin.id], duration=2.0))
    yield store, shot.id, lin.id
    store.close()


def _run(code: str, root: Path, author: str) -> None:
    env = {"STORYREEL_USER": author, "PATH": "/usr/bin:/bin"}
    import os

    env = {**os.environ, **env}
    subprocess.run([sys.executable, "-c", code, str(root)], check=True, env=env,
                   timeout=120)


def test_lost_update_across_two_processes_is_gone(film) -> None:
    """The studio holds a character read before a CLI process changed its voice rate;
    its costume edit (a whole-entity update, as widgets used to write) keeps the rate."""
    store, _shot_id, lin_id = film
    studio_copy = store.require(Character, lin_id)
    _run("import sys\nfrom engine.store import ProjectStore\nfrom engine.ops import characters\n"
         "s = ProjectStore.open(sys.argv[1])\nc = s.character_by_name('林雨')\n"
         "characters.set_voice(s, c.id, rate=1.4)\n", store.root, "cli")
    studio_copy.costume = "红旗袍"
    store.update(studio_copy)
    saved = store.require(Character, lin_id)
    assert saved.costume == "红旗袍"
    assert saved.voice.rate == pytest.approx(1.4)
    # and through the operation, from a second process again
    _run("import sys\nfrom engine.store import ProjectStore\nfrom engine.ops import characters\n"
         "s = ProjectStore.open(sys.argv[1])\nc = s.character_by_name('林雨')\n"
         "characters.set_character_fields(s, c.id, appearance='长发')\n", store.root, "cli")
    characters.set_character_fields(store, lin_id, personality="倔强", author="studio")
    saved = store.require(Character, lin_id)
    assert (saved.appearance, saved.personality, saved.costume) == ("长发", "倔强", "红旗袍")
    assert saved.voice.rate == pytest.approx(1.4)


def test_stale_write_of_a_field_someone_changed_is_refused(film) -> None:
    store, shot_id, _ = film
    mine = store.require(Shot, shot_id)
    shots.set_shot_fields(store, shot_id, author="bob", duration=5.0)
    before = _dump(store.db_path)
    mine.duration = 3.0
    with pytest.raises(StaleWriteError, match="bob"):
        store.update(mine)
    assert _dump(store.db_path) == before
    with pytest.raises(StaleWriteError):
        shots.set_shot_fields(store, shot_id, author="me", expected_version=mine.version,
                              size="CU")
    assert _dump(store.db_path) == before


def test_undo_is_per_author_and_refused_over_a_later_change(film) -> None:
    store, shot_id, _ = film
    shots.set_shot_fields(store, shot_id, author="alice", prompt_override="雨夜，窗边",
                          size="CU")
    shots.set_shot_fields(store, shot_id, author="bob", duration=4.5)
    # alice's undo leaves bob's duration alone
    history.undo(store, "alice")
    shot = store.require(Shot, shot_id)
    assert (shot.prompt_override, shot.size, shot.duration) == ("", ShotSize.MEDIUM, 4.5)
    history.redo(store, "alice")
    assert store.require(Shot, shot_id).size is ShotSize.CLOSE_UP
    # bob changes the field alice set: her undo is refused, naming him; nothing changes
    shots.set_shot_fields(store, shot_id, author="bob", size="WS")
    before = _dump(store.db_path)
    with pytest.raises(UndoRefused, match=r"size .*bob"):
        history.undo(store, "alice")
    assert _dump(store.db_path) == before
    # bob's own undo works, then alice's
    history.undo(store, "bob")
    assert store.require(Shot, shot_id).size is ShotSize.CLOSE_UP
    history.undo(store, "alice")
    assert store.require(Shot, shot_id).prompt_override == ""
    kinds = [(e.author, e.kind) for e in store.history(limit=4)]
    assert kinds == [("alice", "undo"), ("bob", "undo"), ("bob", "op"), ("alice", "redo")]


def test_history_outlives_the_process_and_redo_is_undo_of_undo(film, tmp_path) -> None:
    store, shot_id, _ = film
    shots.set_shot_fields(store, shot_id, author="me", narration="那天夜里")
    root = store.root
    store.close()
    again = ProjectStore.open(root)
    assert again.stacks("me").done and again.undo_label.startswith("Edit") is not None
    history.undo(again, "me")
    assert again.require(Shot, shot_id).narration == ""
    assert again.require(Shot, shot_id).locked is False
    history.redo(again, "me")
    assert again.require(Shot, shot_id).narration == "那天夜里"
    entry = again.history(limit=1)[0]
    # the edit made the shot the user's (locked against re-planning): redone together
    assert entry.kind == "redo" and [c.field for c in entry.changes] == ["narration", "locked"]


def test_delete_and_undo_restore_the_shot_with_its_fields(film) -> None:
    store, shot_id, lin_id = film
    shots.set_shot_fields(store, shot_id, author="me", action="她推开门")
    shots.delete_shots(store, [shot_id], author="me")
    assert store.get(Shot, shot_id) is None
    history.undo(store, "me")
    back = store.require(Shot, shot_id)
    assert back.action == "她推开门" and back.characters == [lin_id]


_WORKER = """
import sys
from engine.ops import shots
from engine.store import ProjectStore

store = ProjectStore.open(sys.argv[1])
shot = store.shots()[int(sys.argv[2])]
for i in range(int(sys.argv[3])):
    shots.set_shot_fields(store, shot.id, duration=1.0 + i / 10, action=f"动作 {i}")
store.close()
"""


def test_parallel_processes_all_land_in_the_history(tmp_path: Path) -> None:
    import os

    store = ProjectStore.create(tmp_path / "busy.storyreel")
    scene = store.add(Scene(number=1))
    for i in range(8):
        store.add(Shot(scene_id=scene.id, order=i))
    start = store.history(limit=1)[0].seq
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, str(store.root), str(i), "25"],
                              env={**os.environ, "STORYREEL_USER": f"editor{i}"},
                              stderr=subprocess.PIPE, text=True)
             for i in range(8)]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, errors
    entries = [e for e in store.history() if e.seq > start and e.kind == "op"]
    assert len(entries) == 200
    by_author: dict[str, int] = {}
    for e in entries:
        by_author[e.author] = by_author.get(e.author, 0) + 1
    assert by_author == {f"editor{i}": 25 for i in range(8)}
    for i, shot in enumerate(store.shots()):
        assert (shot.duration, shot.action) == (pytest.approx(3.4), "动作 24"), i


def test_follow_delivers_other_processes_changes_once(film) -> None:
    store, shot_id, _ = film
    seen: list = []
    store.subscribe(seen.append)
    assert store.follow() == []
    _run("import sys\nfrom engine.store import ProjectStore\nfrom engine.ops import shots\n"
         "s = ProjectStore.open(sys.argv[1])\n"
         "shots.set_shot_fields(s, s.shots()[0].id, size='ECU')\n", store.root, "cli")
    entries = store.follow()
    assert [e.author for e in entries] == ["cli"]
    changed = [c for batch in seen for c in batch if c.kind is Shot and c.key == shot_id]
    assert changed and changed[0].after["size"] == "ECU"
    assert store.follow() == []  # once
    shots.set_shot_fields(store, shot_id, author="me", size="CU")
    assert store.follow() == []  # our own edits are not delivered twice
