"""Opening a damaged project in the studio offers the newest good backup (as
`storyreel repair` does), keeps the damaged file, and changes nothing when declined."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

from engine.model import Project


def _damaged_with_snapshot(tmp_path: Path) -> Path:
    from engine.store import ProjectStore

    path = tmp_path / "p.storyreel"
    ProjectStore.create(path, Project(title="good")).close()
    snapshot = path / "cache" / "autosave" / "project.db"
    snapshot.parent.mkdir(parents=True)
    shutil.copy2(path / "project.db", snapshot)
    con = sqlite3.connect(path / "project.db")
    con.execute("update project set settings = CAST(X'7B22FF' AS TEXT)")
    con.commit()
    con.close()
    return path


def test_declining_the_repair_shows_the_sentence_and_changes_nothing(
        window: Any, tmp_path: Path) -> None:
    path = _damaged_with_snapshot(tmp_path)
    before = (path / "project.db").read_bytes()
    window.dialogs.answer = False
    assert not window.open_project(str(path))
    assert window.dialogs.errors and "is damaged" in window.dialogs.errors[-1]
    assert "\n" not in window.dialogs.errors[-1]
    assert (path / "project.db").read_bytes() == before
    assert not list(path.glob("project.damaged.*.db"))


def test_accepting_the_repair_restores_the_backup_and_keeps_the_damaged_file(
        window: Any, tmp_path: Path) -> None:
    path = _damaged_with_snapshot(tmp_path)
    damaged = (path / "project.db").read_bytes()
    window.dialogs.answer = True
    assert window.open_project(str(path))
    assert window.store.project.title == "good"
    kept = list(path.glob("project.damaged.*.db"))
    assert len(kept) == 1 and kept[0].read_bytes() == damaged
