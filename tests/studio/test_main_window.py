"""The real main window, offscreen: project, script, storyboard edits, cast, undo/redo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog

from engine.model import Character, Language, Project, Shot, Take, TakeKind
from tests.media_factory import make_image, make_video


def create_via_start_page(window: Any, qtbot: Any, tmp_path: Path, monkeypatch: Any,
                          title: str = "雨夜来电") -> Any:
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: str(tmp_path)))
    page = window.start_page
    page.title_edit.setText(title)
    page.browse_location()
    page.aspect.setCurrentIndex(page.aspect.findData("9:16"))
    page.language.setCurrentIndex(page.language.findData("zh"))
    qtbot.mouseClick(page.create_button, Qt.MouseButton.LeftButton)
    assert window.store is not None, window.errors
    return window.store


def import_sample(window: Any, qtbot: Any, script: Path) -> None:
    window.dialogs.open_path = str(script)
    window.act_import.trigger()
    qtbot.waitUntil(lambda: len(window.store.shots()) > 0, timeout=20_000)
    qtbot.waitUntil(lambda: window.workflows.task is None or window.workflows.task.done,
                    timeout=20_000)
    QApplication.processEvents()
    window.storyboard.refresh()


def test_create_project_through_start_page(window: Any, qtbot: Any, tmp_path: Path,
                                           monkeypatch: Any) -> None:
    assert window.windowTitle() == "Storyreel"
    store = create_via_start_page(window, qtbot, tmp_path, monkeypatch)
    assert store.root == tmp_path / "雨夜来电.storyreel"
    project = store.project
    assert (project.title, project.language, str(project.aspect)) == ("雨夜来电", Language.CHINESE,
                                                                      "9:16")
    assert (project.width, project.height) == (1080, 1920)
    assert window.windowTitle() == "雨夜来电 — Storyreel"
    assert window.stack.currentWidget() is window.tabs
    from studio import preferences
    assert str(store.root.resolve()) in preferences.recent_projects()
    assert (store.root / "cache" / "studio.lock").is_file()
    window.close_project()
    assert not (tmp_path / "雨夜来电.storyreel" / "cache" / "studio.lock").exists()
    assert window.stack.currentWidget() is window.start_page
    assert window.start_page.recent.count() == 1


def test_import_script_fills_storyboard(window: Any, qtbot: Any, tmp_path: Path,
                                        monkeypatch: Any, sample_script: Path) -> None:
    store = create_via_start_page(window, qtbot, tmp_path, monkeypatch)
    import_sample(window, qtbot, sample_script)
    shots = store.shots()
    scenes = store.scenes()
    assert len(scenes) >= 2
    assert set(window.storyboard.strips) == {s.id for s in scenes}
    cards = sum(strip.count() for strip in window.storyboard.strips.values())
    assert cards == len(shots)
    first = window.storyboard.card(shots[0].id)
    assert first is not None and first.label == f"{scenes[0].number}-1"
    qtbot.waitUntil(lambda: "林雨" in window.script_editor.text(), timeout=5000)
    assert {c.name for c in store.characters()} >= {"林雨", "陈默"}
    assert window.errors == []


def test_edit_reorder_undo_redo(window: Any, qtbot: Any, tmp_path: Path, monkeypatch: Any,
                                sample_script: Path) -> None:
    store = create_via_start_page(window, qtbot, tmp_path, monkeypatch)
    import_sample(window, qtbot, sample_script)
    window.save()
    assert not window.windowTitle().startswith("雨夜来电*")
    scene = store.scenes()[0]
    ids = [s.id for s in store.shots(scene.id)]
    assert len(ids) >= 2

    # edit a field in the inspector: duration
    window.storyboard.select_shots([ids[0]])
    assert window.inspector.shot_id == ids[0]
    window.inspector.duration.setValue(7.5)
    window.inspector.duration.editingFinished.emit()
    assert store.require(Shot, ids[0]).duration == 7.5
    qtbot.waitUntil(lambda: window.windowTitle().startswith("雨夜来电*"), timeout=2000)

    # reorder: the first shot goes last (what a drop in the strip does)
    window.storyboard.move_shot(ids[0], len(ids) - 1)
    after = [s.id for s in store.shots(scene.id)]
    assert after == ids[1:] + ids[:1]
    assert [s.order for s in store.shots(scene.id)] == list(range(len(ids)))
    qtbot.waitUntil(lambda: window.storyboard.strips.get(scene.id) is not None
                    and window.storyboard.strips[scene.id].shot_ids() == after, timeout=2000)
    qtbot.waitUntil(lambda: window.undo.undo_action.text() == "Undo Move shot 1-1",
                    timeout=1000)  # the operation's name

    # Ctrl+Z twice: order, then duration back
    window.activateWindow()
    window.undo.undo_action.trigger()
    assert [s.id for s in store.shots(scene.id)] == ids
    window.undo.undo_action.trigger()
    assert store.require(Shot, ids[0]).duration != 7.5
    qtbot.waitUntil(lambda: not window.windowTitle().startswith("雨夜来电*"), timeout=2000)
    # Ctrl+Shift+Z redoes both
    assert window.undo.redo_action.isEnabled()
    window.undo.redo_action.trigger()
    window.undo.redo_action.trigger()
    assert store.require(Shot, ids[0]).duration == 7.5
    assert [s.id for s in store.shots(scene.id)] == after
    assert not window.undo.redo_action.isEnabled()
    shortcuts = [k.toString() for k in window.undo.redo_action.shortcuts()]
    assert "Ctrl+Shift+Z" in shortcuts
    assert window.undo.undo_action.shortcut().toString() == "Ctrl+Z"


def test_inspector_edits_each_one_undo_step(window: Any, qtbot: Any, tmp_path: Path,
                                            monkeypatch: Any) -> None:
    store = create_via_start_page(window, qtbot, tmp_path, monkeypatch)
    shot_id = window.storyboard.add_shot()
    assert shot_id is not None and len(store.shots()) == 1 and len(store.scenes()) == 1
    window.cast.add_character("林雨")
    lin = store.character_by_name("林雨")
    window.storyboard.select_shots([shot_id])
    insp = window.inspector
    insp.refresh()
    insp.size.setCurrentIndex(insp.size.findData("CU"))
    insp.camera_move.setCurrentIndex(insp.camera_move.findData("push-in"))
    insp.seed.setValue(1234)
    insp.seed.editingFinished.emit()
    insp.seed_lock.setChecked(True)
    insp.characters.item(0).setCheckState(Qt.CheckState.Checked)
    insp.prompt_override.setFocus()
    insp.prompt_override.setPlainText("rain at night, close-up of 林雨")
    insp.prompt_override.document().setModified(True)
    insp.prompt_override.clearFocus()
    insp.commit("Edit prompt override", prompt_override=insp.prompt_override.toPlainText())
    shot = store.require(Shot, shot_id)
    assert (str(shot.size), str(shot.camera_move), shot.seed, shot.seed_locked) == \
        ("CU", "push-in", 1234, True)
    assert shot.characters == [lin.id]
    assert shot.effective_prompt == "rain at night, close-up of 林雨"
    insp.add_dialogue_line()
    insp.dialogue.item(0, 0).setText("林雨")
    insp.dialogue.item(0, 1).setText("你终于肯来了。")
    line = store.require(Shot, shot_id).dialogue[0]
    assert (line.text, line.character_id) == ("你终于肯来了。", lin.id)
    steps = 0
    while store.require(Shot, shot_id).seed is not None or \
            store.require(Shot, shot_id).size != shot.size.__class__("MS"):
        assert window.undo.undo_action.isEnabled()
        window.undo.undo_action.trigger()
        steps += 1
        assert steps < 20
    # size, move, seed, lock, characters, override, add line, speaker, text: one step each
    assert steps >= 8


def test_add_duplicate_delete_multiselect(window: Any, qtbot: Any, tmp_path: Path,
                                          monkeypatch: Any) -> None:
    store = create_via_start_page(window, qtbot, tmp_path, monkeypatch)
    a = window.storyboard.add_shot()
    window.storyboard.select_shots([])
    b = window.storyboard.add_shot(store.scenes()[0].id)
    store.update(store.require(Shot, a).__class__(**{**store.require(Shot, a).__dict__,
                                                     "action": "推门"}))
    window.storyboard.refresh()
    window.storyboard.select_shots([a])
    window.act_duplicate.trigger()
    shots = store.shots()
    assert len(shots) == 3
    assert shots[1].action == "推门" and shots[1].id not in (a, b)
    assert [s.id for s in shots][0] == a and shots[2].id == b
    window.storyboard.select_shots([a, b])
    assert window.storyboard.selected_shot_ids() == [a, b]
    window.act_delete.trigger()
    left = store.shots()
    assert [s.action for s in left] == ["推门"] and left[0].order == 0
    window.undo.undo_action.trigger()
    assert {s.id for s in store.shots()} >= {a, b}


def test_drag_drop_reorders_inside_a_scene(window: Any, qtbot: Any, tmp_path: Path,
                                           monkeypatch: Any) -> None:
    store = create_via_start_page(window, qtbot, tmp_path, monkeypatch)
    ids = [window.storyboard.add_shot(None if i == 0 else store.scenes()[0].id)
           for i in range(3)]
    window.storyboard.select_shots([])
    window.tabs.setCurrentWidget(window.storyboard)
    window.show()
    window.storyboard.refresh()
    strip = next(iter(window.storyboard.strips.values()))
    strip.resize(800, strip.height())
    qtbot.waitExposed(window)
    # drop the first card onto the right edge of the last one
    window.storyboard.select_shots([ids[0]])
    assert [strip.row(i) for i in strip.selectedItems()] == [0]
    mime = strip.model().mimeData([strip.indexFromItem(strip.item(0))])
    target = strip.visualItemRect(strip.item(2))
    pos = QPointF(target.right() - 5, target.center().y())
    event = QDropEvent(pos, Qt.DropAction.MoveAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    strip.dropEvent(event)
    qtbot.waitUntil(lambda: [s.id for s in store.shots()] != ids, timeout=3000)
    assert sorted(s.id for s in store.shots()) == sorted(ids)
    assert [s.id for s in store.shots()][-1] == ids[0]


def test_cast_character_with_dropped_reference_image(window: Any, qtbot: Any, tmp_path: Path,
                                                     monkeypatch: Any) -> None:
    store = create_via_start_page(window, qtbot, tmp_path, monkeypatch)
    window.tabs.setCurrentWidget(window.cast)
    monkeypatch.setattr("studio.cast.QInputDialog.getText",
                        staticmethod(lambda *a, **k: ("林雨", True)))
    window.cast.add_button.click()
    ch = store.character_by_name("林雨")
    assert ch is not None and ch.locked
    image = make_image(tmp_path / "lin.png", size=(48, 64))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(image)), QUrl.fromLocalFile(str(tmp_path / "x.txt"))])
    grid = window.cast.references
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    grid.dropEvent(event)
    ch = store.require(Character, ch.id)
    assert len(ch.reference_images) == 1
    assert store.media_path(ch.reference_images[0]).read_bytes() == image.read_bytes()
    assert grid.count() == 1 and not grid.item(0).icon().isNull()
    # sheet fields
    window.cast.fields["appearance"].setPlainText("齐肩黑色长发")
    window.cast.fields["appearance"].document().setModified(True)
    window.cast.fields["appearance"].committed.emit("齐肩黑色长发")
    assert store.require(Character, ch.id).appearance == "齐肩黑色长发"
    # duplicate names are refused with one sentence
    assert window.cast.add_character("林雨") is None
    assert window.errors and "林雨" in window.errors[-1]
    # a bad image is refused by the engine and shown, nothing added
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    window.cast.add_references([str(bad)])
    assert len(store.require(Character, ch.id).reference_images) == 1
    assert "bad.png" in window.errors[-1]


def test_approve_take_from_inspector(window: Any, qtbot: Any, tmp_path: Path,
                                     monkeypatch: Any) -> None:
    store = create_via_start_page(window, qtbot, tmp_path, monkeypatch)
    shot_id = window.storyboard.add_shot()
    thumb = store.media.import_file(make_image(tmp_path / "t.png", size=(64, 36)))
    takes = []
    for n in (1, 2):
        media = store.media.import_file(make_video(tmp_path / f"take{n}.mp4", frames=6 * n,
                                                   size=(32, 48)))
        takes.append(store.add(Take(shot_id=shot_id, kind=TakeKind.IMPORTED,
                                    media=media.sha256, thumbnail=thumb.sha256)))
    window.storyboard.select_shots([shot_id])
    window.inspector.refresh()
    assert window.inspector.takes.count() == 2
    window.inspector.takes.item(1).setSelected(True)
    window.inspector.approve_button.click()
    shot = store.require(Shot, shot_id)
    assert shot.approved_take_id == takes[1].id and str(shot.status) == "approved"
    assert [t.approved for t in store.takes(shot_id)] == [False, True]
    window.storyboard.refresh()
    card = window.storyboard.card(shot_id)
    assert card is not None and card.thumbnail == str(store.media_path(thumb.sha256))
    # Approve needs exactly one take; Compare needs two
    window.inspector.takes.selectAll()
    window.inspector.approve_button.click()
    assert window.errors[-1] == "Select one take to approve."
    window.inspector.compare_button.click()
    from studio.take_compare import TakeCompareDialog

    dialog = window.compare_dialog
    assert isinstance(dialog, TakeCompareDialog) and dialog.isVisible()
    dialog.close()
    window.inspector.takes.clearSelection()
    window.inspector.takes.item(0).setSelected(True)
    window.inspector.compare_button.click()
    assert window.errors[-1] == "Select two takes to compare."


def test_open_errors_are_one_sentence(window: Any, tmp_path: Path) -> None:
    assert not window.open_project(str(tmp_path / "missing.storyreel"))
    assert window.dialogs.errors and window.dialogs.errors[-1].endswith("does not exist.")
    assert window.store is None and window.windowTitle() == "Storyreel"


def test_crash_recovery_offers_the_snapshot(window: Any, qtbot: Any, tmp_path: Path) -> None:
    from engine.store import ProjectStore

    path = tmp_path / "p.storyreel"
    ProjectStore.create(path, Project(title="before")).close()
    assert window.open_project(str(path))
    window.save()  # snapshot with title "before" (written on the background thread)
    qtbot.waitUntil(lambda: window.autosave.pending == 0 and window.autosave.snapshots >= 1,
                    timeout=5000)
    store = window.store
    store.update(store.project.__class__(**{**store.project.__dict__, "title": "after"}))
    # simulate a crash: the lock stays behind
    window.autosave.timer.stop()
    window.autosave = None
    window.close_project()
    assert (path / "cache" / "studio.lock").is_file()
    window.dialogs.answer = False  # keep current
    assert window.open_project(str(path))
    assert window.store.project.title == "after"
    window.autosave.timer.stop()
    window.autosave = None
    window.close_project()
    window.dialogs.answer = True  # restore the snapshot
    assert window.open_project(str(path))
    assert window.store.project.title == "before"
    assert (path / "cache" / "autosave" / "project.before-restore.db").is_file()


def test_keyboard_shortcuts(window: Any) -> None:
    want = {"act_new": "Ctrl+N", "act_open": "Ctrl+O", "act_save": "Ctrl+S",
            "act_import": "Ctrl+I", "act_generate": "Ctrl+G", "act_export": "Ctrl+E",
            "act_duplicate": "Ctrl+D", "act_delete": "Del"}
    for name, keys in want.items():
        assert getattr(window, name).shortcut().toString() == keys, name


def test_switch_language_rebuilds_in_chinese(window: Any, tmp_path: Path) -> None:
    from engine.store import ProjectStore

    path = tmp_path / "p.storyreel"
    ProjectStore.create(path, Project(title="t")).close()
    window.open_project(str(path))
    window.apply_language("zh")
    try:
        assert [window.tabs.tabText(i) for i in range(3)] == ["剧本", "分镜板", "角色"]
        assert window.act_import.text() == "导入剧本…"
        assert window.store is not None and window.storyboard.store is window.store
        window.storyboard.add_shot()
        assert len(window.store.shots()) == 1
        assert window.undo.undo_action.text().startswith("撤销")
    finally:
        window.apply_language("en")
    assert window.tabs.tabText(0) == "Script"


@pytest.mark.parametrize("line,kind", [
    ("第1场 夜 内 咖啡馆", "heading"), ("INT. CAFE - NIGHT", "heading"),
    ("EXT. STREET - DAY", "heading"), ("林雨（冷笑）：你终于肯来了。", "cue"),
    ("陈默：对不起。", "cue"), ("△ 雨水顺着落地玻璃窗流下。", "action"),
    ("CUT TO:", "transition"), ("MAYA", "fountain-cue"), ("她慢慢地走过来", "text"),
])
def test_script_highlighter_line_kinds(qtbot: Any, line: str, kind: str) -> None:
    from studio.script_editor import ScriptEditor

    editor = ScriptEditor()
    qtbot.addWidget(editor)
    assert editor.highlighter.line_kind(line) == kind


def test_plan_shots_with_llm_none(window: Any, qtbot: Any, tmp_path: Path, monkeypatch: Any,
                                  sample_script: Path) -> None:
    from studio import preferences

    preferences.set_llm(preferences.LlmSettings(mode="none"))
    store = create_via_start_page(window, qtbot, tmp_path, monkeypatch)
    import_sample(window, qtbot, sample_script)
    window.script_editor.plan_button.click()
    task = window.workflows.task
    assert task is not None and task.label == "Plan shots"
    qtbot.waitUntil(lambda: task.done, timeout=30_000)
    QApplication.processEvents()
    assert window.errors == [], window.errors
    assert task.result is not None
    shots = store.shots()
    assert shots and all(s.prompt for s in shots)
    # the status bar progress went away and the storyboard shows every shot
    qtbot.waitUntil(lambda: not window.task_progress.isVisible(), timeout=3000)
    window.storyboard.refresh()
    assert sum(s.count() for s in window.storyboard.strips.values()) == len(shots)


def test_real_key_presses_reach_the_actions(window: Any, qtbot: Any, tmp_path: Path,
                                            monkeypatch: Any) -> None:
    from PySide6.QtTest import QTest

    store = create_via_start_page(window, qtbot, tmp_path, monkeypatch)
    window.show()
    window.activateWindow()
    qtbot.waitActive(window)
    a = window.storyboard.add_shot()
    window.tabs.setCurrentWidget(window.storyboard)
    window.storyboard.refresh()
    window.storyboard.select_shots([a])
    strip = next(iter(window.storyboard.strips.values()))
    strip.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is strip, timeout=2000)
    QTest.keyClick(strip, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert len(store.shots()) == 2
    window.storyboard.refresh()
    window.storyboard.select_shots([store.shots()[1].id])
    strip = next(iter(window.storyboard.strips.values()))
    strip.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is strip, timeout=2000)
    QTest.keyClick(strip, Qt.Key.Key_Delete)
    assert [s.id for s in store.shots()] == [a]
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(store.shots()) == 2
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert len(store.shots()) == 1
    # Delete typed in a text box edits the text, not the storyboard
    window.inspector.show_shot(a)
    window.inspector.narration.setFocus()
    window.inspector.narration.setText("雨")
    QTest.keyClick(window.inspector.narration, Qt.Key.Key_Home)
    QTest.keyClick(window.inspector.narration, Qt.Key.Key_Delete)
    assert len(store.shots()) == 1 and window.inspector.narration.text() == ""


def test_recompose_rewrites_the_composed_prompt(window: Any, qtbot: Any, tmp_path: Path,
                                                monkeypatch: Any, sample_script: Path) -> None:
    import dataclasses

    store = create_via_start_page(window, qtbot, tmp_path, monkeypatch)
    import_sample(window, qtbot, sample_script)
    shot = store.shots()[0]
    store.update(dataclasses.replace(shot, prompt="", size=shot.size.__class__("ECU")))
    window.storyboard.select_shots([shot.id])
    window.inspector.recompose_button.click()
    composed = store.require(Shot, shot.id).prompt
    assert composed and window.inspector.prompt.toPlainText() == composed
    assert window.errors == []


def test_engine_error_from_a_task_is_shown_as_its_sentence(window: Any, qtbot: Any,
                                                           tmp_path: Path,
                                                           monkeypatch: Any) -> None:
    from studio import preferences

    preferences.set_llm(preferences.LlmSettings(mode="none"))
    store = create_via_start_page(window, qtbot, tmp_path, monkeypatch)
    window.script_editor.idea.setText("一个外卖员意外成为豪门继承人")
    assert window.script_editor.idea_text() == "一个外卖员意外成为豪门继承人"
    window.act_plan.trigger()
    task = window.workflows.task
    assert task is not None
    qtbot.waitUntil(lambda: task.done, timeout=20_000)
    qtbot.waitUntil(lambda: bool(window.dialogs.errors), timeout=5_000)
    message = window.dialogs.errors[-1]
    assert message.startswith("Turning an idea into a script needs a language model")
    assert "Traceback" not in message and store.shots() == []


def test_play_sample_synthesizes_the_characters_voice(window: Any, qtbot: Any,
                                                      tmp_path: Path, monkeypatch: Any) -> None:
    from engine.audio import tts

    if "espeak" not in tts.available_backends():
        pytest.skip("espeak-ng is not installed")
    import av

    create_via_start_page(window, qtbot, tmp_path, monkeypatch)
    window.cast.add_character("林雨")
    assert window.cast.voice_name.currentText()  # a default voice was picked
    with qtbot.waitSignal(window.cast.sample_ready, timeout=30_000) as blocker:
        window.cast.play_button.click()
    wav = Path(blocker.args[0])
    with av.open(str(wav)) as container:
        assert container.streams.audio and float(container.duration or 0) / 1e6 > 0.3
    assert str(wav) in window.cast.sample_status.text()
    assert window.errors == []


def test_narrator_and_sherpa_voice_folder_in_the_cast(window: Any, qtbot: Any,
                                                      tmp_path: Path, monkeypatch: Any) -> None:
    from tests.engine.audio import sherpa_folders

    create_via_start_page(window, qtbot, tmp_path, monkeypatch)
    store = window.store
    cast = window.cast
    cast.add_character("Mia")
    rows = [cast.list.item(i).text() for i in range(cast.list.count())]
    assert rows[0] == "Mia" and len(rows) == 2  # the narrator row comes last
    # the narrator: voice only, saved on the project, one undo step
    cast.list.setCurrentRow(1)
    assert cast.narrator_selected() and not cast.sheet_widgets[0].isEnabled()
    assert cast.voice_group.isEnabled()
    before = store.project.narrator_voice
    cast.voice_backend.setCurrentIndex(cast.voice_backend.findData("piper"))
    assert store.project.narrator_voice.backend == "piper"
    assert store.project.narrator_voice.voice == "joe" and not cast.voice_browse.isHidden()
    window.undo.undo_action.trigger()
    assert store.project.narrator_voice == before
    # a character gets a sherpa-onnx folder through Browse…
    folder = sherpa_folders.make_folder(tmp_path / "vits-piper-en_US-joe")
    cast.list.setCurrentRow(0)
    cast.voice_backend.setCurrentIndex(cast.voice_backend.findData("sherpa"))
    monkeypatch.setattr("studio.cast.QFileDialog.getExistingDirectory",
                        lambda *a, **k: str(folder))
    cast.voice_browse.click()
    mia = store.character_by_name("Mia")
    assert mia.voice.backend == "sherpa" and mia.voice.voice == str(folder), window.errors
    with qtbot.waitSignal(cast.sample_ready, timeout=60_000) as blocker:
        cast.play_button.click()
    assert Path(blocker.args[0]).stat().st_size > 22050  # over half a second of 16-bit audio
    assert window.errors == []
    window.tabs.setCurrentWidget(cast)
    window.grab().save(str(tmp_path / "cast.png"))


def test_lock_of_a_live_process_is_not_a_crash(window: Any, tmp_path: Path) -> None:
    import subprocess
    import sys

    from engine.store import ProjectStore
    from studio import autosave

    path = tmp_path / "p.storyreel"
    ProjectStore.create(path, Project(title="t")).close()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        autosave.lock_path(path).write_text(str(other.pid), encoding="utf-8")
        assert autosave.open_elsewhere(path) == other.pid
        assert not autosave.crashed_before(path)
        window.dialogs.answer = True  # would restore, if asked
        assert window.open_project(str(path))
        assert window.statusBar().currentMessage().endswith(f"(process {other.pid}).")
    finally:
        other.kill()
        other.wait()
    window.close_project()
    autosave.lock_path(path).write_text(str(other.pid), encoding="utf-8")  # now dead
    assert autosave.open_elsewhere(path) is None and autosave.crashed_before(path)


def test_keyframes_and_keep_flag(window: Any, qtbot: Any, tmp_path: Path,
                                 monkeypatch: Any) -> None:
    store = create_via_start_page(window, qtbot, tmp_path, monkeypatch)
    shot_id = window.storyboard.add_shot()
    window.storyboard.select_shots([shot_id])
    insp = window.inspector
    assert not store.require(Shot, shot_id).locked
    insp.duration.setValue(4.0)
    insp.duration.editingFinished.emit()
    assert store.require(Shot, shot_id).locked  # the user's edit is kept on re-plan
    qtbot.waitUntil(insp.keep.isChecked, timeout=2000)
    image = make_image(tmp_path / "first.png", size=(36, 64))
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(image), "")))
    insp.keyframe_buttons["first_keyframe"].click()
    sha = store.require(Shot, shot_id).first_keyframe
    assert sha and store.media_path(sha).read_bytes() == image.read_bytes()
    assert insp.keyframe_buttons["first_keyframe"].text().endswith("✓")
    window.storyboard.refresh()  # no take yet: the card shows the keyframe
    assert window.storyboard.card(shot_id).thumbnail == str(store.media_path(sha))
    insp.set_keyframe("first_keyframe", None)
    assert store.require(Shot, shot_id).first_keyframe is None
    window.undo.undo_action.trigger()
    assert store.require(Shot, shot_id).first_keyframe == sha


def test_drag_a_shot_into_another_scene(window: Any, qtbot: Any, tmp_path: Path,
                                        monkeypatch: Any) -> None:
    from engine.model import Scene

    store = create_via_start_page(window, qtbot, tmp_path, monkeypatch)
    first = store.add(Scene(number=1, heading="第1场"))
    second = store.add(Scene(number=2, heading="第2场", order=1))
    a1, a2 = (store.add(Shot(scene_id=first.id, order=i)).id for i in range(2))
    b1 = store.add(Shot(scene_id=second.id, order=0)).id
    window.show()
    window.tabs.setCurrentWidget(window.storyboard)
    window.storyboard.refresh()
    qtbot.waitExposed(window)
    source = window.storyboard.strips[first.id]
    target = window.storyboard.strips[second.id]
    window.storyboard.select_shots([a1])
    mime = source.model().mimeData([source.indexFromItem(source.item(0))])
    rect = target.visualItemRect(target.item(0))
    event = QDropEvent(QPointF(rect.left() + 5, rect.center().y()), Qt.DropAction.MoveAction,
                       mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    monkeypatch.setattr(event, "source", lambda: source)
    target.dropEvent(event)
    assert [s.id for s in store.shots(second.id)] == [a1, b1]
    assert [(s.id, s.order) for s in store.shots(first.id)] == [(a2, 0)]
    window.undo.undo_action.trigger()  # one step
    assert [s.id for s in store.shots(first.id)] == [a1, a2], window.errors
    assert [s.id for s in store.shots(second.id)] == [b1]


def test_preferences_dialog_switches_the_language(window: Any, tmp_path: Path) -> None:
    from studio import preferences

    def run(dialog: Any) -> int:
        dialog.language.setCurrentIndex(dialog.language.findData("zh"))
        dialog.accept()
        return 1

    window.dialogs.run = run
    try:
        window.act_prefs.trigger()
        assert preferences.language() == "zh"
        assert window.act_prefs.text() == "偏好设置…"
        assert window.start_page.create_button.text() == "创建项目"
    finally:
        window.apply_language("en")
