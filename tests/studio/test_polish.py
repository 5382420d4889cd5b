"""What a creator sees: live language switch, line kinds, shortcuts, error dialogs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDockWidget, QToolBar

from engine.generate.animatic_text import ANGLE_NAMES_ZH, MOVE_NAMES_ZH, SIZE_NAMES_ZH
from engine.model import (
    CameraAngle,
    CameraMove,
    DialogueLine,
    Job,
    LineKind,
    Project,
    Scene,
    Shot,
    ShotSize,
)
from engine.store import ProjectStore


def make_project(tmp_path: Path) -> tuple[Path, str, str]:
    """A project with one scene, two shots (one with two dialogue lines) and a queued job."""
    path = tmp_path / "p.storyreel"
    store = ProjectStore.create(path, Project(title="雨夜"))
    scene = store.add(Scene(number=1, heading="第1场 夜 内 咖啡馆"))
    a = store.add(Shot(scene_id=scene.id, order=0, size=ShotSize.MEDIUM,
                       camera_move=CameraMove.PUSH_IN,
                       dialogue=[DialogueLine(text="你终于肯来了。"),
                                 DialogueLine(text="对不起。")]))
    b = store.add(Shot(scene_id=scene.id, order=1, size=ShotSize.CLOSE_UP,
                       angle=CameraAngle.OVER_THE_SHOULDER))
    store.add(Job(kind="generate", shot_id=a.id))
    store.close()
    return path, a.id, b.id


@pytest.fixture
def opened(window: Any, tmp_path: Path) -> tuple[Any, str, str]:
    path, a, b = make_project(tmp_path)
    assert window.open_project(str(path)), window.errors
    assert window.jobs_dock is not None
    window.jobs_dock.poll(force_rebuild=True)
    return window, a, b


def the_job(window: Any) -> str:
    return window.store.all(Job)[0].id


def test_language_switch_updates_every_visible_string_live(opened: Any) -> None:
    from studio.storyboard import badge_texts

    window, a, b = opened
    dock = window.jobs_dock
    assert dock.row_values(the_job(window))["kind"] == "generate"
    assert badge_texts(window.storyboard.card(a)) == ["MS", "push-in"]
    window.apply_language("zh")
    try:
        assert window.jobs_dock is dock  # kept alive (it owns the worker), re-translated
        assert dock.windowTitle() == "任务"
        assert dock.hide_finished.text() == "隐藏已完成"
        assert dock.table.horizontalHeaderItem(2).text() == "状态"
        values = dock.row_values(the_job(window))
        assert (values["kind"], values["status"]) == ("生成", "排队中")
        assert dock.worker_label.text() == "后台进程：已停止"
        assert window.inspector_dock.windowTitle() == "镜头检查器"
        assert window.preview_dock.windowTitle() == "预览"
        assert dock.toggleViewAction() in window.view_menu.actions()
        # the old docks and toolbar are gone at once, not left for a later restoreState
        docks = sorted(d.objectName() for d in window.findChildren(QDockWidget))
        assert docks == ["episodesDock", "inspectorDock", "jobsDock", "previewDock", "reviewDock"]
        assert len(window.findChildren(QToolBar)) == 1
        # the storyboard badges use the engine's Chinese names (as the animatic draws them)
        assert badge_texts(window.storyboard.card(a)) == [
            SIZE_NAMES_ZH[ShotSize.MEDIUM], MOVE_NAMES_ZH[CameraMove.PUSH_IN]]
        assert badge_texts(window.storyboard.card(b)) == [
            SIZE_NAMES_ZH[ShotSize.CLOSE_UP], ANGLE_NAMES_ZH[CameraAngle.OVER_THE_SHOULDER]]
        assert badge_texts(window.storyboard.card(a)) == ["中景", "推"]
        window.act_export.trigger()
        dialog = window.dialogs.shown[-1]
        assert dialog.windowTitle() == "导出影片"
        assert (dialog.export_button.text(), dialog.status_label.text()) == ("导出", "就绪。")
        dialog.close()
    finally:
        window.apply_language("en")
    values = dock.row_values(the_job(window))
    assert (values["kind"], values["status"]) == ("generate", "queued")
    assert dock.windowTitle() == "Jobs" and dock.worker_label.text() == "Worker: stopped"
    assert window.inspector_dock.windowTitle() == "Shot inspector"
    assert badge_texts(window.storyboard.card(a)) == ["MS", "push-in"]


def test_line_kind_combo_is_one_undoable_edit(opened: Any, qtbot: Any) -> None:
    window, a, _b = opened
    store = window.store
    insp = window.inspector
    insp.show_shot(a)
    combo = insp.kind_combo(1)
    assert combo is not None and combo.currentData() == "dialogue"
    assert [combo.itemData(i) for i in range(combo.count())] == [str(k) for k in LineKind]
    combo.setCurrentIndex(combo.findData("off-screen"))
    lines = store.require(Shot, a).dialogue
    assert [line.kind for line in lines] == [LineKind.DIALOGUE, LineKind.OFF_SCREEN]
    assert [line.text for line in lines] == ["你终于肯来了。", "对不起。"]  # nothing else moved
    qtbot.waitUntil(lambda: window.undo.undo_action.text().startswith("Undo Edit shot"),
                    timeout=1000)  # one operation: ops.shots.set_shot_fields
    QApplication.processEvents()
    insp.refresh()
    assert insp.kind_combo(1).currentData() == "off-screen"
    window.undo.undo_action.trigger()  # one step back
    assert [line.kind for line in store.require(Shot, a).dialogue] == [LineKind.DIALOGUE] * 2
    window.undo.redo_action.trigger()
    assert store.require(Shot, a).dialogue[1].kind == LineKind.OFF_SCREEN


def test_line_kind_names_in_chinese(opened: Any) -> None:
    window, a, _b = opened
    window.apply_language("zh")
    try:
        window.inspector.show_shot(a)
        combo = window.inspector.kind_combo(0)
        names = [combo.itemText(i) for i in range(combo.count())]
        assert names == ["对白", "画外音", "画外", "旁白"]
        header = window.inspector.dialogue.horizontalHeaderItem(3).text()
        assert header == "类型"
    finally:
        window.apply_language("en")


def test_shortcuts_dialog_lists_the_bound_keys(window: Any) -> None:
    assert [k.toString() for k in window.act_shortcuts.shortcuts()] == ["F1", "Ctrl+/"]
    assert window.act_close.shortcut().toString() == "Ctrl+W"
    assert window.act_cancel.shortcut().toString() == "Ctrl+."
    # every command of the File, Edit and Story menus has keys, as in a desktop video tool
    for top in window.menuBar().actions()[:3]:
        for action in top.menu().actions():
            if not action.isSeparator():
                assert not action.shortcut().isEmpty(), action.text()
    window.act_shortcuts.trigger()
    dialog = window.dialogs.shown[-1]
    rows = dict(dialog.rows())
    assert rows["File › Open project"] == "Ctrl+O"
    assert rows["Edit › Redo"] == "Ctrl+Shift+Z, Ctrl+Y"
    assert rows["Help › Keyboard shortcuts"] == "F1, Ctrl+/"
    assert rows["Play / pause the preview"] == "Space"
    assert rows["Back one second / pause / play (preview)"] == "J / K / L"
    dialog.close()
    window.apply_language("zh")
    try:
        window.act_shortcuts.trigger()
        rows = dict(window.dialogs.shown[-1].rows())
        assert rows["文件 › 打开项目"] == "Ctrl+O"  # no "(&F)" left in the names
        window.dialogs.shown[-1].close()
    finally:
        window.apply_language("en")


def test_space_plays_and_pauses_the_preview(window: Any, qtbot: Any, tmp_path: Path) -> None:
    from PySide6.QtTest import QTest

    from tests.media_factory import make_video

    path, _a, _b = make_project(tmp_path)
    window.open_project(str(path))
    clip = make_video(tmp_path / "clip.mp4", frames=24, size=(32, 32))
    window.show()
    window.activateWindow()
    qtbot.waitActive(window)
    window.player.load(str(clip))
    window.preview_dock.show()
    window.preview_dock.raise_()
    window.player.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None
                    and window.preview_dock.isAncestorOf(QApplication.focusWidget()),
                    timeout=2000)
    states: list[bool] = []
    window.player.stateChanged.connect(states.append)
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
    assert states[-1:] == [True]
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
    assert states[-1:] == [False]
    # J / K / L: back one second, pause, play
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_L)
    assert states[-1:] == [True] and window.player.playing
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_K)
    assert states[-1:] == [False] and not window.player.playing
    window.player.seek(0.75)
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_J)
    assert window.player.position == 0.0 and not window.player.playing


def test_opening_a_folder_that_is_not_a_project_says_so(window: Any, tmp_path: Path) -> None:
    folder = tmp_path / "holiday photos"
    folder.mkdir()
    window.dialogs.dir_path = str(folder)
    window.act_open.trigger()
    assert window.store is None
    assert window.dialogs.errors == [f"{folder} is not a Storyreel project (no project.db "
                                     "inside)."]


def test_importing_a_broken_script_shows_the_engines_sentence(opened: Any, qtbot: Any,
                                                              tmp_path: Path) -> None:
    window, _a, _b = opened
    broken = tmp_path / "剧本.docx"
    broken.write_bytes(b"\x00\x01\xff\xfe not a document")
    shots_before = [s.id for s in window.store.shots()]
    window.dialogs.open_path = str(broken)
    window.act_import.trigger()
    qtbot.waitUntil(lambda: bool(window.dialogs.errors), timeout=20_000)
    message = window.dialogs.errors[-1]
    assert "剧本.docx" in message and "Traceback" not in message
    assert message.count("\n") == 0 and message.endswith(".")
    assert [s.id for s in window.store.shots()] == shots_before  # nothing changed


def test_export_to_an_unwritable_folder_is_refused_with_a_dialog(opened: Any, tmp_path: Path,
                                                                 monkeypatch: Any) -> None:
    from studio import export_dialog

    window, _a, _b = opened
    locked = tmp_path / "locked"
    locked.mkdir()
    window.act_export.trigger()
    dialog = window.dialogs.shown[-1]
    # a folder no file can be created in (the tests may run as root, so chmod is not enough)
    real = export_dialog.tempfile.NamedTemporaryFile

    def refuse(*args: Any, **kwargs: Any) -> Any:
        if Path(kwargs.get("dir", "")) == locked:
            raise PermissionError(13, "Permission denied")
        return real(*args, **kwargs)

    monkeypatch.setattr(export_dialog.tempfile, "NamedTemporaryFile", refuse)
    assert not dialog.start_export(locked / "film.mp4")
    monkeypatch.undo()
    assert window.dialogs.errors == [f"Storyreel cannot write to the folder {locked}; choose "
                                     "another place for the film."]
    assert not dialog.running and dialog.export_button.isEnabled()
    assert not (locked / "film.mp4").exists()
    dialog.close()


def test_unwritable_folder_probe_on_a_real_filesystem(tmp_path: Path) -> None:
    from studio.export_dialog import unwritable_folder

    assert unwritable_folder(tmp_path / "film.mp4") is None
    assert list(tmp_path.iterdir()) == []  # the probe leaves nothing behind
    assert unwritable_folder(tmp_path / "missing" / "film.mp4") is None  # engine's sentence
    proc = Path("/proc")
    if proc.is_dir():  # not even root can create a file there
        assert unwritable_folder(proc / "film.mp4") == proc


def test_language_switch_keeps_tab_selection_and_unapplied_text(opened: Any) -> None:
    window, _a, b = opened
    window.tabs.setCurrentWidget(window.storyboard)
    window.storyboard.select_shots([b])
    assert window.inspector.shot_id == b
    editor = window.script_editor
    editor.editor.setPlainText("第1场 夜 内 咖啡馆\n林雨：还没应用的台词。")
    editor.editor.document().setModified(True)
    editor.idea.setText("外卖员成了豪门继承人")
    window.apply_language("zh")
    try:
        assert window.tabs.currentWidget() is window.storyboard
        assert window.storyboard.selected_shot_ids() == [b]
        assert window.inspector.shot_id == b
        assert window.script_editor is not editor  # rebuilt in Chinese …
        assert window.script_editor.text() == "第1场 夜 内 咖啡馆\n林雨：还没应用的台词。"
        assert window.script_editor.modified  # … and the edit is still waiting to be applied
        assert window.script_editor.idea.text() == "外卖员成了豪门继承人"
        assert window.store.project.script_text == ""  # nothing applied behind the user
    finally:
        window.apply_language("en")
    assert window.script_editor.modified and window.storyboard.selected_shot_ids() == [b]


def test_a_widget_keeps_its_own_meaning_of_a_shared_word(qapp: Any) -> None:
    """"Size" of a take (frame size, 尺寸) is not the shared "Size" of a shot (景别)."""
    from PySide6.QtCore import QCoreApplication

    from studio import i18n

    i18n.install_language("zh")
    try:
        assert QCoreApplication.translate("_TakeSide", "Size") == "尺寸"
        assert QCoreApplication.translate(i18n.CONTEXT, "Size") == "景别"
        assert QCoreApplication.translate("JobsDock", "done") == "完成"
        assert QCoreApplication.translate("TimelineView", "Music") == "音乐"
        # the curated widget words still win (a take is 版本 everywhere)
        assert QCoreApplication.translate("TakeCompareDialog", "Take A") == "版本 A"
    finally:
        i18n.install_language("en")
    assert QCoreApplication.translate("_TakeSide", "Size") == "Size"


def test_scrolling_past_a_combo_does_not_edit_the_shot(opened: Any, qtbot: Any) -> None:
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent

    window, a, _b = opened
    window.inspector.show_shot(a)
    combo = window.inspector.kind_combo(0)
    size_before = window.store.require(Shot, a).size

    def wheel(widget: Any) -> None:
        centre = QPointF(widget.rect().center())
        event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(),
                            QPoint(0, -120), Qt.MouseButton.NoButton,
                            Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(widget, event)

    wheel(combo)
    assert combo.currentData() == "dialogue"
    assert window.store.require(Shot, a).dialogue[0].kind == LineKind.DIALOGUE
    assert window.store.require(Shot, a).size == size_before
    window.show()
    window.activateWindow()
    qtbot.waitActive(window)
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus, timeout=2000)
    wheel(combo)  # once the user has picked the combo, the wheel is theirs
    assert window.store.require(Shot, a).dialogue[0].kind == LineKind.VOICE_OVER
