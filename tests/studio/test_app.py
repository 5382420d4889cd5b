"""storyreel gui --screenshot, preferences, translations, thread-pool tasks, autosave."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTranslator


def test_gui_screenshot_through_cli(tmp_path: Path, qapp: Any) -> None:
    from PIL import Image, ImageStat

    from engine.cli import main
    from engine.model import Project, Scene, Shot
    from engine.store import ProjectStore

    path = tmp_path / "demo.storyreel"
    with ProjectStore.create(path, Project(title="雨夜来电")) as store:
        scene = store.add(Scene(number=1, heading="第1场 夜 内 咖啡馆"))
        for i in range(3):
            store.add(Shot(scene_id=scene.id, order=i))
    out = tmp_path / "shots" / "window.png"
    assert main(["gui", str(path), "--screenshot", str(out)]) == 0
    with Image.open(out) as img:
        assert img.size == (1600, 1000)
        stat = ImageStat.Stat(img.convert("L"))
        assert stat.stddev[0] > 10  # not a blank image
        # dark theme: the window background is dark
        assert stat.mean[0] < 110
    assert not (path / "cache" / "studio.lock").exists()


def test_gui_screenshot_of_a_missing_project_is_one_sentence(tmp_path: Path, capsys: Any,
                                                             qapp: Any) -> None:
    from engine.cli import main

    code = main(["gui", str(tmp_path / "nope"), "--screenshot", str(tmp_path / "x.png")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("does not exist.") and "Traceback" not in err
    assert not (tmp_path / "x.png").exists()


def test_preferences_persist_in_storyreel_home(qapp: Any) -> None:
    from studio import preferences

    assert preferences.language() == "system" and preferences.llm().mode == "auto"
    preferences.set_language("zh")
    preferences.set_llm(preferences.LlmSettings("openai", "http://127.0.0.1:11434/v1", "qwen", ""))
    assert preferences.language() == "zh"
    assert preferences.llm().planner_kwargs() == {
        "llm": "openai", "base_url": "http://127.0.0.1:11434/v1", "model": "qwen",
        "model_path": None}
    assert preferences.settings().fileName().endswith("studio.ini")
    dialog = preferences.PreferencesDialog()
    assert dialog.language.currentData() == "zh"
    dialog.mode.setCurrentIndex(dialog.mode.findData("none"))
    dialog.accept()
    assert preferences.llm().mode == "none"


def test_translations_ts_compiles_and_translates(tmp_path: Path, qapp: Any) -> None:
    from studio import i18n

    ts = i18n.write_ts(tmp_path / "storyreel_zh_CN.ts")
    text = ts.read_text(encoding="utf-8")
    assert "<source>Storyboard</source>" in text and "分镜板" in text
    if i18n.lrelease_tool() is None:
        pytest.skip("pyside6-lrelease is not installed")
    qm = tmp_path / "storyreel_zh_CN.qm"
    assert i18n.compile_qm(ts, qm)
    translator = QTranslator()
    assert translator.load(str(qm))
    assert translator.translate(i18n.CONTEXT, "Storyboard") == "分镜板"


def test_language_install_and_dict_translator(qapp: Any) -> None:
    from studio import i18n

    try:
        assert i18n.install_language("zh") == "zh"
        assert i18n.tr("Import script…") == "导入剧本…"
        assert i18n.tr("a string nobody translated") == "a string nobody translated"
    finally:
        i18n.install_language("en")
    assert i18n.tr("Import script…") == "Import script…"
    assert i18n.DictTranslator({"a": "b"}).translate("Any", "a") == "b"


def test_engine_progress_messages_follow_the_ui_language(qapp: Any) -> None:
    import re

    from studio import i18n
    from studio.i18n_zh import ENGINE_ZH

    assert i18n.tr_engine("step 3/20") == "step 3/20"  # English UI: as the engine wrote it
    try:
        i18n.install_language("zh")
        assert i18n.tr_engine("step 3/20") == "第 3/20 步"
        assert i18n.tr_engine("Frame 12/96") == "第 12/96 帧"
        assert i18n.tr_engine("Mix at -14.0 LUFS") == "混音响度 -14.0 LUFS"
        assert i18n.tr_engine("4 line(s) voiced, 2 reused") == "已配音 4 句，复用 2 句"
        assert i18n.tr_engine("Planned 19 shots in 3 scenes") == "已规划 3 场共 19 个镜头"
        # a sentence nobody translated (an engine error) is shown as written
        assert i18n.tr_engine("The shot has no take.") == "The shot has no take."
    finally:
        i18n.install_language("en")
    # every message pattern matches what the engine really writes
    engine = Path(__file__).resolve().parents[2] / "engine"
    written = set()
    for f in engine.rglob("*.py"):
        for m in re.finditer(r'progress\([^,]+, f?"([^"]+)"\)', f.read_text(encoding="utf-8")):
            written.add(re.sub(r"\{[^}]+\}", "7", m.group(1)))
    untranslated = [w for w in written
                    if not any(re.fullmatch(p, w) for p, _ in ENGINE_ZH)]
    assert len(written) > 15
    assert untranslated == []


def test_every_ui_string_has_a_chinese_translation() -> None:
    import re

    from studio.i18n_zh import ZH

    studio = Path(__file__).resolve().parents[2] / "studio"
    mine = ["app", "main_window", "start_page", "script_editor", "storyboard", "inspector",
            "cast", "preferences", "undo", "workflows", "dialogs", "episodes", "review"]
    missing = []
    for name in mine:
        source = (studio / f"{name}.py").read_text(encoding="utf-8")
        for match in re.finditer(r'\btr\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+)\)', source):
            text = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', match.group(1)))
            if text not in ZH:
                missing.append(f"{name}: {text}")
    assert missing == []


def test_store_bridge_delivers_worker_thread_changes_on_ui_thread(qtbot: Any,
                                                                  project: Any) -> None:
    from engine.model import Character
    from studio.store_bridge import StoreBridge, kinds_of

    bridge = StoreBridge(project)
    received: list[tuple[set[str], int]] = []
    bridge.changed.connect(lambda changes: received.append(
        (kinds_of(changes), threading.get_ident())))
    worker = threading.Thread(target=lambda: project.add(Character(name="林雨")))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: len(received) == 1, timeout=3000)
    assert received[0] == ({"Character"}, threading.get_ident())
    bridge.detach()
    # a bridge attached after the detach is the witness: once the change reaches it, a
    # still-subscribed first bridge (called before it, queued before it) would have too
    witness = StoreBridge(project)
    seen: list[set[str]] = []
    witness.changed.connect(lambda changes: seen.append(kinds_of(changes)))
    worker = threading.Thread(target=lambda: project.add(Character(name="陈默")))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: seen == [{"Character"}], timeout=3000)
    witness.detach()
    assert len(received) == 1


def test_autosave_snapshot_and_restore(project: Any, qapp: Any, qtbot: Any) -> None:
    import dataclasses

    from studio import autosave

    saver = autosave.Autosave(project, interval_ms=10_000)
    root = project.root
    assert autosave.crashed_before(root) and not autosave.has_snapshot(root)
    ui_thread = threading.get_ident()
    writers: list[int] = []
    real_write = autosave.write_snapshot

    def write(db: Path, at: Path) -> Path:
        writers.append(threading.get_ident())
        return real_write(db, at)

    autosave.write_snapshot = write  # type: ignore[assignment]
    try:
        saver.tick()
        qtbot.waitUntil(lambda: saver.pending == 0, timeout=5000)
        assert autosave.has_snapshot(root) and saver.snapshots == 1
        saver.tick()
        qtbot.waitUntil(lambda: saver.pending == 0, timeout=5000)
        assert saver.snapshots == 1  # nothing changed, no new snapshot
        project.update(dataclasses.replace(project.project, title="changed"))
        saver.tick()
        qtbot.waitUntil(lambda: saver.pending == 0, timeout=5000)
        assert saver.snapshots == 2
    finally:
        autosave.write_snapshot = real_write  # type: ignore[assignment]
    assert writers and ui_thread not in writers  # copied off the UI thread
    project.update(dataclasses.replace(project.project, title="after snapshot"))
    saver.close()
    assert not autosave.crashed_before(root)
    project.close()
    assert autosave.restore_snapshot(root)
    from engine.store import ProjectStore

    with ProjectStore.open(root) as reopened:
        assert reopened.project.title == "changed"


def test_shipped_qm_matches_the_table(qapp: Any) -> None:
    from studio import i18n
    from studio.i18n_zh import ZH

    if not i18n.QM_PATH.is_file():
        pytest.skip("no compiled translation shipped")
    translator = QTranslator()
    assert translator.load(str(i18n.QM_PATH))
    stale = [k for k, v in ZH.items() if translator.translate(i18n.CONTEXT, k) != v]
    assert stale == [], "run `python -m studio.i18n` to recompile the .qm"


def test_other_widgets_strings_translate_in_their_own_context(qapp: Any) -> None:
    from PySide6.QtCore import QCoreApplication

    from studio import i18n

    try:
        i18n.install_language("zh")
        assert QCoreApplication.translate("JobsDock", "Start worker") == "启动后台进程"
        assert QCoreApplication.translate("Storyreel", "Storyboard") == "分镜板"
    finally:
        i18n.install_language("en")
    assert QCoreApplication.translate("JobsDock", "Start worker") == "Start worker"


def test_gui_without_a_display_is_one_sentence() -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run([sys.executable, "-m", "engine.cli", "gui"], env=env,
                          capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    if sys.platform.startswith("linux"):
        assert done.returncode == 2
        assert done.stderr.strip().startswith("storyreel: No display to open the studio on")
        assert "Traceback" not in done.stderr
