"""The open studio follows the project's log: edits made by another process (the CLI, a
second window) appear within a second; Ctrl+Z over a teammate's later change is refused
with a dialog and changes nothing."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from engine.model import Project, Shot
from engine.ops import scenes, shots
from engine.store import ProjectStore

EDIT = """
import sys
from engine.store import ProjectStore
from engine.ops import shots
store = ProjectStore.open(sys.argv[1])
shots.set_shot_fields(store, sys.argv[2], author=sys.argv[3], duration=float(sys.argv[4]),
                      action=sys.argv[5])
store.close()
"""


def _project(tmp_path: Path) -> tuple[Path, str]:
    root = tmp_path / "雨夜.storyreel"
    store = ProjectStore.create(root, Project(title="雨夜"))
    scene = scenes.add_scene(store, heading="INT. 咖啡馆 - 夜").result
    shot = shots.add_shot(store, scene.id, duration=2.0, action="林雨推门").result
    shots.add_shot(store, scene.id, duration=3.0)
    store.close()
    return root, shot.id


def _other_process(root: Path, shot_id: str, author: str, duration: float, action: str) -> None:
    """What ``storyreel shot set`` does, in its own process."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    subprocess.run([sys.executable, "-c", EDIT, str(root), shot_id, author, str(duration),
                    action], check=True, env=env, timeout=120)


def _rows(db: Path) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return [("shots", *r) for r in con.execute("SELECT * FROM shots ORDER BY id")]
    finally:
        con.close()


def test_an_edit_from_another_process_appears_within_a_second(window: Any, qtbot: Any,
                                                              tmp_path: Path) -> None:
    root, shot_id = _project(tmp_path)
    assert window.open_project(str(root)), window.errors
    window.storyboard.select_shots([shot_id])
    assert window.inspector.shot_id == shot_id
    assert window.inspector.duration.value() == 2.0
    assert window.storyboard.card(shot_id).duration == 2.0

    _other_process(root, shot_id, "cli", 4.25, "林雨冲进雨里")

    def shown() -> bool:
        card = window.storyboard.card(shot_id)
        return (card is not None and card.duration == 4.25
                and window.inspector.duration.value() == 4.25
                and window.inspector.action.toPlainText() == "林雨冲进雨里")

    qtbot.waitUntil(shown, timeout=1000)
    assert window.errors == []


def test_undo_over_a_teammates_later_change_is_refused(window: Any, qtbot: Any,
                                                       tmp_path: Path) -> None:
    root, shot_id = _project(tmp_path)
    assert window.open_project(str(root)), window.errors
    store = window.store
    window.storyboard.select_shots([shot_id])
    window.inspector.duration.setValue(5.5)
    window.inspector.duration.editingFinished.emit()
    assert store.require(Shot, shot_id).duration == 5.5
    qtbot.waitUntil(lambda: window.undo.undo_action.text().startswith("Undo Edit shot"),
                    timeout=1000)

    _other_process(root, shot_id, "teammate", 6.0, "陈默追出门")
    qtbot.waitUntil(lambda: window.inspector.duration.value() == 6.0, timeout=1000)
    before = _rows(store.db_path)
    seq = store.history(limit=1)[0].seq

    window.undo.undo_action.trigger()  # Ctrl+Z
    assert len(window.dialogs.errors) == 1
    sentence = window.dialogs.errors[0]
    assert "Cannot undo" in sentence and "duration" in sentence and "teammate" in sentence
    assert _rows(store.db_path) == before  # nothing changed
    assert store.history(limit=1)[0].seq == seq  # and nothing was logged
    assert store.require(Shot, shot_id).duration == 6.0
