"""An open studio on a project shared on a real PostgreSQL server: a teammate's edit and
review note appear within a second; a viewer's edit is refused in a dialog."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from engine.model import Project, Shot
from engine.ops import scenes, shots
from engine.ops.team import grant, join, share
from engine.store import ProjectStore

TEAMMATE = """
import sys
from engine.ops import review, shots
from engine.store import ProjectStore
store = ProjectStore.open(sys.argv[1])
shot = store.shots()[0]
shots.set_shot_fields(store, shot.id, duration=4.5, action="陈默追出门")
review.review(store, shot.id, status="retake", note="眼神再坚定些", at=1.0)
store.close()
"""


def _shared(tmp_path: Path, url: str) -> tuple[Path, Path]:
    store = ProjectStore.create(tmp_path / "雨夜.storyreel", Project(title="雨夜"))
    scene = scenes.add_scene(store, heading="INT. 咖啡馆 - 夜").result
    shots.add_shot(store, scene.id, duration=2.0, action="林雨推门")
    root = store.root
    store.close()
    nas = tmp_path / "nas"
    nas.mkdir()
    share(root, url, str(nas))
    with ProjectStore.open(root) as owner:
        grant(owner, "bob", "editor")
        grant(owner, "vic", "viewer")
    join(url.replace("postgres@", "bob@"), tmp_path / "bob" / "雨夜.storyreel", str(nas)).close()
    viewer = join(url.replace("postgres@", "vic@"), tmp_path / "vic" / "雨夜.storyreel",
                  str(nas))
    viewer.close()
    return root, viewer.root


def test_a_teammates_edit_and_note_reach_the_open_studio(window: Any, qtbot: Any,
                                                         tmp_path: Path, server_url: str) -> None:
    root, _ = _shared(tmp_path, server_url)
    assert window.open_project(str(root)), window.errors
    shot_id = window.store.shots()[0].id
    window.storyboard.select_shots([shot_id])
    assert window.inspector.duration.value() == 2.0
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    subprocess.run([sys.executable, "-c", TEAMMATE, str(tmp_path / "bob" / "雨夜.storyreel")],
                   check=True, env=env, timeout=120)

    def shown() -> bool:
        card = window.storyboard.card(shot_id)
        panel = window.review_dock.panel
        return (card is not None and card.duration == 4.5 and card.review == "retake"
                and window.inspector.duration.value() == 4.5 and panel.notes.count() == 1
                and "眼神再坚定些" in panel.notes.item(0).text())

    qtbot.waitUntil(shown, timeout=1000)
    assert "bob" in window.review_dock.panel.notes.item(0).text()
    # the board filters by status
    window.storyboard.set_filter("approved", "")
    assert window.storyboard.card(shot_id) is None
    window.storyboard.set_filter("retake", "")
    assert window.storyboard.card(shot_id) is not None
    assert window.errors == []


def test_a_viewers_edit_is_refused_in_a_dialog(window: Any, qtbot: Any, tmp_path: Path,
                                                server_url: str) -> None:
    _, viewer_root = _shared(tmp_path, server_url)
    assert window.open_project(str(viewer_root)), window.errors
    store = window.store
    shot_id = store.shots()[0].id
    window.storyboard.select_shots([shot_id])
    window.inspector.duration.setValue(7.0)
    window.inspector.duration.editingFinished.emit()
    qtbot.waitUntil(lambda: len(window.dialogs.errors) + len(window.errors) >= 1,
                    timeout=3000)
    said = " ".join(window.dialogs.errors + window.errors)
    assert "refused this change for vic (viewer)" in said
    assert store.require(Shot, shot_id).duration == 2.0


def test_a_refused_stale_write_offers_to_reload(window: Any, qtbot: Any,
                                                tmp_path: Path) -> None:
    import sqlite3

    from engine.ops import scenes as scene_ops
    from engine.ops import shots as shot_ops

    store = ProjectStore.create(tmp_path / "s.storyreel", Project(title="s"))
    scene = scene_ops.add_scene(store, heading="INT. 家").result
    shot = shot_ops.add_shot(store, scene.id, duration=2.0).result
    root = store.root
    store.close()
    assert window.open_project(str(root)), window.errors
    # behind the window's back (no log entry to follow): the card still shows 2.0 s
    con = sqlite3.connect(root / "project.db")
    con.execute("UPDATE shots SET duration = 3.5, version = version + 1 WHERE id = ?",
                (shot.id,))
    con.commit()
    con.close()
    assert window.storyboard.card(shot.id).duration == 2.0
    window.dialogs.answer = True
    window.show_error("The duration of this shot was changed by bob since it was read; "
                      "reload and try again (nothing was changed).")
    assert window.dialogs.errors == []  # asked, not just told
    assert window.storyboard.card(shot.id).duration == 3.5
