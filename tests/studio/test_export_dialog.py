"""ExportDialog runs the real export as a job: a valid file, or none on cancel."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.export_dialog import ExportDialog, default_preset
from tests.studio.test_timeline_view import make_tiny_project


@pytest.fixture
def dialog(qtbot, project, tmp_path: Path):
    make_tiny_project(project, tmp_path, durations=(1.0, 0.5))
    dlg = ExportDialog(project)
    qtbot.addWidget(dlg)
    errors: list[str] = []
    dlg.show_error = errors.append
    dlg.set_preset("draft")
    return dlg, errors


def test_draft_export_emits_finished_with_a_valid_file(dialog, qtbot, tmp_path: Path) -> None:
    import av

    dlg, errors = dialog
    dlg.srt_check.setChecked(True)
    out = tmp_path / "out" / "film.mp4"
    out.parent.mkdir()
    progress: list[int] = []
    dlg.progress_bar.valueChanged.connect(progress.append)
    with qtbot.waitSignal(dlg.finished, timeout=60_000) as sig:
        assert dlg.start_export(out)
        assert dlg.running and not dlg.export_button.isEnabled()
        assert dlg.cancel_button.isEnabled()
    assert errors == []
    assert sig.args == [str(out)]
    assert not dlg.running and dlg.export_button.isEnabled()
    assert dlg.progress_bar.value() == 1000 and len(progress) >= 2
    with av.open(str(out)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (48, 80)
        assert container.duration / 1e6 == pytest.approx(1.5, abs=0.1)
    assert out.with_suffix(".srt").exists() or dlg.report.srt is None
    assert str(out) in dlg.result_label.text()
    assert sorted(p.name for p in out.parent.iterdir() if ".part" in p.name) == []
    # the export was a job row of the dialog's runner, done with its report
    from engine.jobs.queue import JobQueue
    from engine.model import JobStatus

    row = JobQueue(dlg.store).get(dlg.job_id)
    assert row.kind == "export" and row.status is JobStatus.DONE and row.params["isolated"]
    assert row.result["report"]["path"] == str(out) and row.progress == 1.0
    dlg.grab().save("/tmp/export_dialog.png")


def test_cancel_leaves_no_file(dialog, qtbot, tmp_path: Path) -> None:
    dlg, errors = dialog
    out = tmp_path / "cancelled.mp4"
    with qtbot.waitSignal(dlg.cancelled, timeout=60_000):
        dlg.start_export(out)
        dlg.cancel_export()
    assert errors == []
    assert not out.exists()
    assert [p for p in tmp_path.iterdir() if p.name.startswith("cancelled.mp4")] == []
    assert dlg.status_label.text() == "Export cancelled; no file was written."
    assert dlg.export_button.isEnabled()


def test_engine_error_is_shown_with_its_sentence(dialog, qtbot, tmp_path: Path) -> None:
    dlg, errors = dialog
    (tmp_path / "a-file").write_text("not a folder")  # (missing folders are made)
    with qtbot.waitSignal(dlg.failed, timeout=10_000) as sig:
        dlg.start_export(tmp_path / "a-file" / "film.mp4")
    assert errors == sig.args
    assert "is a file, not a folder" in errors[0]
    assert dlg.export_button.isEnabled()


def test_options_follow_the_controls(dialog, project) -> None:
    dlg, _ = dialog
    assert default_preset(project.project) == "douyin"
    dlg.burn_check.setChecked(False)
    dlg.otio_check.setChecked(True)
    dlg.label_combo.setCurrentIndex(dlg.label_combo.findData("metadata"))
    assert dlg.options() == {"preset": "draft", "srt": False, "otio": True,
                             "burn_subtitles": False, "aigc_label": "metadata"}
    assert [dlg.preset_combo.itemData(i) for i in range(dlg.preset_combo.count())] == [
        "douyin", "kuaishou", "bilibili", "youtube", "square", "draft"]


def test_in_process_export_on_the_runners_thread(dialog, qtbot, tmp_path: Path) -> None:
    import av

    dlg, errors = dialog
    dlg.in_process = True
    out = tmp_path / "inproc.mp4"
    with qtbot.waitSignal(dlg.finished, timeout=60_000) as sig:
        dlg.start_export(out)
    assert sig.args == [str(out)] and errors == []
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.height == 80


def test_cancel_during_the_export_leaves_no_file(qtbot, project, tmp_path: Path) -> None:
    make_tiny_project(project, tmp_path, durations=(2.0, 2.0, 2.0))
    dlg = ExportDialog(project)
    qtbot.addWidget(dlg)
    errors: list[str] = []
    dlg.show_error = errors.append
    dlg.set_preset("draft")
    out = tmp_path / "mid.mp4"
    dlg.progress_bar.valueChanged.connect(lambda v: v > 0 and dlg.cancel_export())
    with qtbot.waitSignal(dlg.cancelled, timeout=60_000):
        dlg.start_export(out)
    assert errors == []
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("mid.mp4")] == []
    from engine.jobs.queue import JobQueue
    from engine.model import JobStatus

    assert JobQueue(project).get(dlg.job_id).status is JobStatus.CANCELLED


def test_a_series_exports_one_episode(qtbot, project, tmp_path: Path) -> None:
    import av

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
    dlg = ExportDialog(project)
    qtbot.addWidget(dlg)
    errors: list[str] = []
    dlg.show_error = errors.append
    dlg.set_preset("draft")
    assert dlg.episode_combo.isVisibleTo(dlg) and dlg.episode_combo.count() == 3
    assert "episode" not in dlg.options()
    dlg.episode_combo.setCurrentIndex(dlg.episode_combo.findData(2))
    assert dlg.options()["episode"] == 2
    assert Path(dlg.path_edit.text()).name == "E02_重逢.mp4"  # as --all-episodes names it
    out = tmp_path / "E02.mp4"
    with qtbot.waitSignal(dlg.finished, timeout=60_000):
        assert dlg.start_export(out)
    assert errors == []
    with av.open(str(out)) as container:  # episode 2 holds its one 0.5 s shot only
        assert container.duration / 1e6 == pytest.approx(0.5, abs=0.1)
    dlg.episode_combo.setCurrentIndex(0)
    assert "episode" not in dlg.options()


def test_a_single_film_has_no_episode_choice(dialog) -> None:
    dlg, _errors = dialog
    assert not dlg.episode_combo.isVisibleTo(dlg) and "episode" not in dlg.options()
