"""HandoffDialog: the edit written on the pool for another editor, the edit back as one
undoable step, errors as one sentence."""

from __future__ import annotations

import json
import re
from pathlib import Path

import opentimelineio as otio

from studio.export_dialog import ExportDialog
from studio.handoff_dialog import TARGETS, ZH, HandoffDialog
from tests.studio.test_timeline_view import make_tiny_project


def test_handoff_from_the_export_dialog_and_edit_back(qtbot, project, tmp_path: Path) -> None:
    from engine.ops import history
    from engine.render.timeline_builder import build_timeline

    make_tiny_project(project, tmp_path, durations=(1.0, 0.5))
    export = ExportDialog(project)
    qtbot.addWidget(export)
    dlg = export.open_handoff()
    assert isinstance(dlg, HandoffDialog) and dlg.isVisible()
    errors: list[str] = []
    dlg.show_error = errors.append
    dlg.set_format("otio")
    assert dlg.path_edit.text().endswith("-otio")
    out = tmp_path / "for-resolve"
    with qtbot.waitSignal(dlg.finished, timeout=30_000) as sig:
        assert dlg.start_handoff(out)
    assert errors == [] and sig.args == [str(out)]
    edit = next(out.glob("*.otio"))
    assert str(edit) in dlg.status_label.text()
    before = build_timeline(project)
    # the editor swaps the two shots
    tl = otio.adapters.read_from_file(str(edit))
    video = tl.video_tracks()[0]
    first = list(video.find_clips())[0]
    video.remove(first)
    video.append(first)
    edited = tmp_path / "edited.otio"
    otio.adapters.write_to_file(tl, str(edited))
    with qtbot.waitSignal(dlg.imported, timeout=5_000):
        plan = dlg.import_edit(edited)
    assert len(plan.moved) == 2 and "Undo takes it back" in dlg.status_label.text()
    after = build_timeline(project)
    assert [c.shot_id for c in after.video] == [c.shot_id for c in reversed(before.video)]
    history.undo(project)
    assert [c.shot_id for c in build_timeline(project).video] == \
        [c.shot_id for c in before.video]
    dlg.grab().save(str(tmp_path / "handoff_dialog.png"))


def test_errors_are_one_sentence_and_change_nothing(qtbot, project, tmp_path: Path) -> None:
    make_tiny_project(project, tmp_path, durations=(1.0,))
    dlg = HandoffDialog(project)
    qtbot.addWidget(dlg)
    errors: list[str] = []
    dlg.show_error = errors.append
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "x").write_text("x")
    with qtbot.waitSignal(dlg.failed, timeout=10_000):
        dlg.set_format("jianying")
        dlg.start_handoff(taken)
    assert "not an empty folder" in errors[-1]
    bad = tmp_path / "bad.otio"
    bad.write_text(json.dumps({"OTIO_SCHEMA": "Nope.1"}))
    assert dlg.import_edit(bad) is None
    assert "bad.otio" in errors[-1] and "\n" not in errors[-1]
    assert dlg.handoff_button.isEnabled()


def test_a_series_hands_off_one_episode(qtbot, project, tmp_path: Path) -> None:
    from engine.model import Episode

    shots = make_tiny_project(project, tmp_path, durations=(1.0, 0.5, 0.5), music=False)
    first = project.episode_by_number(1)
    second = project.add(Episode(number=2, title="重逢"))
    (scene,) = project.scenes()
    scene.episode_id = first.id
    project.update(scene)
    later = project.add(type(scene)(number=1, episode_id=second.id, order=1))
    moved = project.require(type(shots[2]), shots[2].id)
    moved.scene_id, moved.order = later.id, 0
    project.update(moved)
    dlg = HandoffDialog(project)
    qtbot.addWidget(dlg)
    errors: list[str] = []
    dlg.show_error = errors.append
    assert dlg.episode_combo.isVisibleTo(dlg) and dlg.episode_combo.count() == 3
    dlg.set_format("otio")
    dlg.set_episode(2)
    assert dlg.path_edit.text().endswith("-E02-otio")
    out = tmp_path / "episode-2"
    with qtbot.waitSignal(dlg.finished, timeout=30_000):
        assert dlg.start_handoff(out)
    assert errors == []
    tl = otio.adapters.read_from_file(str(next(out.glob("*.otio"))))
    ids = [c.metadata["storyreel"]["shot_id"] for c in tl.video_tracks()[0].find_clips()]
    assert ids == [shots[2].id]


def test_every_dialog_string_is_translated() -> None:
    source = Path(__file__).resolve().parents[2] / "studio" / "handoff_dialog.py"
    text = source.read_text(encoding="utf-8")
    found = ["".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1)))
             for m in re.finditer(r'\btr\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+)\)', text)]
    found += [label for _, label in TARGETS]
    assert len(found) > 15
    assert [s for s in found if s not in ZH] == []


def test_export_dialog_signs_with_c2pa(qtbot, project, tmp_path: Path, monkeypatch) -> None:
    from engine.interchange.c2pa_sign import verify_file

    monkeypatch.setenv("STORYREEL_HOME", str(tmp_path / "config"))
    make_tiny_project(project, tmp_path, durations=(1.0,))
    dlg = ExportDialog(project)
    qtbot.addWidget(dlg)
    errors: list[str] = []
    dlg.show_error = errors.append
    dlg.set_preset("draft")
    dlg.in_process = True
    dlg.c2pa_check.setChecked(True)
    assert dlg.options()["c2pa"] is True
    out = tmp_path / "signed.mp4"
    with qtbot.waitSignal(dlg.finished, timeout=60_000):
        dlg.start_export(out)
    assert errors == []
    assert verify_file(out).valid


def test_a_cancelled_handoff_leaves_no_folder(qtbot, project, tmp_path: Path) -> None:
    """Cancelled between media copies (the job's cancel token): nothing at the folder."""
    import pytest

    from engine.errors import Cancelled
    from engine.interchange.handoff import handoff
    from engine.jobs.progress import CancelToken
    from engine.render.timeline_builder import build_timeline

    make_tiny_project(project, tmp_path, durations=(1.0, 0.5))
    token = CancelToken()
    copies: list[float] = []

    def progress(fraction: float, message: str = "") -> None:
        copies.append(fraction)
        if len(copies) == 2:
            token.cancel()  # the user cancels after the first file was copied

    out = tmp_path / "bundle"
    with pytest.raises(Cancelled):
        handoff(build_timeline(project), out, "otio", bundle=True, progress=progress,
                cancel=token)
    assert len(copies) == 2 and not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".bundle")] == []
    # and from the dialog: a handoff job cancelled at once writes nothing either
    dlg = HandoffDialog(project)
    qtbot.addWidget(dlg)
    errors: list[str] = []
    dlg.show_error = errors.append
    dlg.set_format("otio")
    dlg.bundle_check.setChecked(True)
    assert dlg.start_handoff(out) and dlg.cancel_button.isEnabled()
    dlg.cancel_handoff()
    qtbot.waitUntil(lambda: not dlg.running, timeout=30_000)
    assert errors == [] and not out.exists()
    assert dlg.status_label.text() == "Hand-off cancelled; nothing was written."
