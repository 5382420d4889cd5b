"""The review panel: status, assignee, notes with timecode, soft locks, the filter."""

from __future__ import annotations

from typing import Any

import pytest

from engine.model import Project, Scene, Shot
from engine.ops import review
from engine.store import ProjectStore
from studio.review import ReviewPanel, shot_passes


@pytest.fixture
def film(tmp_path):
    store = ProjectStore.create(tmp_path / "f.storyreel", Project(title="f"))
    scene = store.add(Scene(number=1))
    a = store.add(Shot(scene_id=scene.id, order=0, duration=3.0))
    b = store.add(Shot(scene_id=scene.id, order=1, duration=2.0))
    yield store, a.id, b.id
    store.close()


def test_the_panel_sets_status_assignee_and_notes_through_operations(qtbot: Any,
                                                                     film) -> None:
    store, a, b = film
    panel = ReviewPanel()
    qtbot.addWidget(panel)
    panel.set_store(store)
    panel.show_shot(a)
    assert panel.isEnabled() and panel.status.currentData() == "todo"
    panel.status.setCurrentIndex(panel.status.findData("review"))
    panel.status.activated.emit(panel.status.currentIndex())
    assert review.review_of(store, a).status == "review"
    panel.assignee.setText("ed1")
    panel.assignee.editingFinished.emit()
    assert review.review_of(store, a).assignee == "ed1"
    panel.note.setPlainText("节奏太慢")
    panel.note_status.setCurrentIndex(panel.note_status.findData("retake"))
    panel.at.setValue(1.5)
    panel.add.click()
    status_note, note = review.notes(store, a)  # the status change is noted too
    assert (status_note.status, status_note.text) == ("review", "")
    assert (note.text, note.status, note.at) == ("节奏太慢", "retake", 1.5)
    assert panel.notes.count() == 2 and "节奏太慢" in panel.notes.item(1).text()
    assert "@1.5s" in panel.notes.item(1).text() and panel.note.toPlainText() == ""
    # each write is one undoable entry in the history
    assert [e.op for e in store.history(limit=3)][0].startswith("Review shot 1-1")
    assert shot_passes(store, a, status="retake") and not shot_passes(store, b, status="retake")
    assert shot_passes(store, a, assignee="ed1") and not shot_passes(store, b, assignee="ed1")
    assert shot_passes(store, b)


def test_a_refused_note_is_a_dialog_and_changes_nothing(qtbot: Any, film,
                                                        monkeypatch) -> None:
    from PySide6.QtWidgets import QMessageBox

    store, a, _ = film
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: shown.append(args[2]))
    panel = ReviewPanel()
    qtbot.addWidget(panel)
    panel.set_store(store)
    panel.show_shot(a)
    panel.at.setValue(9.0)  # outside the 3 s shot
    panel.note.setPlainText("太晚了")
    panel.add.click()
    assert shown and "outside shot" in shown[0]
    assert review.notes(store) == [] and panel.note.toPlainText() == "太晚了"


def test_the_panel_holds_a_soft_lock_and_shows_someone_elses(qtbot: Any, film) -> None:
    store, a, b = film
    panel = ReviewPanel()
    qtbot.addWidget(panel)
    panel.set_store(store)
    panel.show_shot(a)
    assert review.editing(store, a) == store.author and panel.heartbeat.isActive()
    review.hold(store, b, "bob")
    panel.show_shot(b)
    assert review.editing(store, a) is None  # released when the selection moved on
    assert panel.editing.text() == "bob 正在编辑这个镜头" or \
        panel.editing.text() == "bob has this shot open"
