"""PreviewPlayer: real PyAV decoding on its background thread, shown in a real widget."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.player import PreviewPlayer, Segment
from tests.media_factory import make_video


def _blue(player: PreviewPlayer) -> int:
    """Blue channel at the centre of the frame on screen; make_video sets it to 7*i."""
    img = player.current_image
    assert img is not None
    return img.pixelColor(img.width() // 2, img.height() // 2).blue()


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return make_video(tmp_path / "clip.mp4", frames=24, size=(64, 48), fps=24)


def test_load_shows_first_frame_and_duration(qtbot, clip: Path) -> None:
    player = PreviewPlayer()
    qtbot.addWidget(player)
    player.resize(320, 300)
    player.show()
    player.load(clip)
    assert player.duration == pytest.approx(1.0, abs=0.05)
    qtbot.waitUntil(lambda: player.current_image is not None, timeout=10000)
    assert player.current_time == pytest.approx(0.0, abs=1e-3)
    assert abs(_blue(player) - 0) <= 6
    assert player.current_image.width() == 64
    assert player.time_label.text() == "00:00.00 / 00:01.00"


def test_seek_shows_the_frame_at_that_time(qtbot, clip: Path) -> None:
    player = PreviewPlayer()
    qtbot.addWidget(player)
    player.load(clip)
    qtbot.waitUntil(lambda: player.current_image is not None, timeout=10000)
    player.seek(0.5)  # frame 12: blue 84
    qtbot.waitUntil(lambda: player.current_time is not None
                    and abs(player.current_time - 0.5) < 0.03, timeout=10000)
    assert abs(_blue(player) - 84) <= 8
    assert player.slider.value() == 500
    player.seek(0.25)  # backwards: frame 6, blue 42
    qtbot.waitUntil(lambda: abs(player.current_time - 0.25) < 0.03, timeout=10000)
    assert abs(_blue(player) - 42) <= 8


def test_play_advances_and_stops_at_the_end(qtbot, clip: Path) -> None:
    player = PreviewPlayer()
    qtbot.addWidget(player)
    player.load(clip)
    qtbot.waitUntil(lambda: player.current_image is not None, timeout=10000)
    shown: list[float] = []
    player.frameShown.connect(shown.append)
    player.play()
    assert player.playing
    qtbot.waitUntil(lambda: not player.playing, timeout=10000)
    assert player.position == pytest.approx(1.0, abs=0.05)
    assert player.current_time == pytest.approx(23 / 24, abs=0.03)
    assert shown == sorted(shown) and len(shown) >= 6  # frames went forward in time
    assert abs(_blue(player) - 161) <= 8
    player.play()  # from the end: starts again at 0
    assert player.playing
    player.pause()
    assert player.position < 0.5


def test_segments_play_a_sequence_of_clips(qtbot, tmp_path: Path) -> None:
    a = make_video(tmp_path / "a.mp4", frames=12, size=(32, 32), fps=24)
    b = make_video(tmp_path / "b.mp4", frames=24, size=(48, 32), fps=24)
    player = PreviewPlayer()
    qtbot.addWidget(player)
    # a: 0.5 s; then b from its 0.5 s mark for 0.25 s
    player.load_segments([Segment(a, 0.0, 0.0, None, "A"), Segment(b, 0.5, 0.5, 0.25, "B")], 24)
    assert player.duration == pytest.approx(0.75, abs=0.02)
    player.seek(0.6)  # inside b at source time 0.6 → frame 14, blue 98
    qtbot.waitUntil(lambda: player.current_label == "B"
                    and abs(player.current_time - 0.6) < 0.03, timeout=10000)
    assert player.current_image.width() == 48
    assert abs(_blue(player) - 98) <= 8


def test_unreadable_file_does_not_crash(qtbot, tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    player = PreviewPlayer()
    qtbot.addWidget(player)
    player.load(bad)
    assert player.duration == 0.0
    assert not player.play_button.isEnabled()
    player.play()
    assert not player.playing
    assert player.screen.placeholder == "No picture to show in bad.mp4"


def test_audio_only_file_shows_a_message(qtbot, tmp_path: Path) -> None:
    from tests.media_factory import make_wav

    player = PreviewPlayer()
    qtbot.addWidget(player)
    player.load(make_wav(tmp_path / "voice.wav", seconds=0.5))
    assert player.duration == 0.0 and player.current_image is None
    assert "voice.wav" in player.screen.placeholder


def test_compare_dialog_plays_both_and_approves_a_take(qtbot, project, tmp_path: Path) -> None:
    from engine.model import Scene, Shot, ShotStatus, Take, TakeKind
    from studio.take_compare import TakeCompareDialog

    scene = project.add(Scene(number=1))
    shot = project.add(Shot(scene_id=scene.id, status=ShotStatus.GENERATED))
    takes = []
    for i, frames in enumerate((24, 12)):
        media = project.media.import_file(make_video(tmp_path / f"t{i}.mp4", frames=frames))
        takes.append(project.add(Take(
            shot_id=shot.id, kind=TakeKind.GENERATED, media=media.sha256,
            record={"backend": "wan-vace", "model": "wan2.1-vace-1.3b", "seed": 100 + i,
                    "steps": 4, "width": 64, "height": 48, "frames": frames,
                    "prompt": f"雨夜街头，女主回头 {i}"})))
    dialog = TakeCompareDialog(project, takes[0].id, takes[1].id)
    qtbot.addWidget(dialog)
    dialog.show()
    a, b = dialog.players
    assert (a.duration, b.duration) == (pytest.approx(1.0, abs=0.05), pytest.approx(0.5, abs=0.05))
    assert dialog.side_a.fields["seed"] == "100" and dialog.side_b.fields["seed"] == "101"
    assert dialog.side_b.fields["size"] == "64×48 · 12f"
    assert dialog.side_a.prompt.toPlainText() == "雨夜街头，女主回头 0"
    dialog.play_both()
    assert a.playing and b.playing
    qtbot.waitUntil(lambda: not b.playing, timeout=10000)  # the shorter take ends first
    qtbot.waitUntil(lambda: a.current_image is not None and b.current_image is not None)
    dialog.grab().save("/tmp/take_compare.png")

    approved: list[str] = []
    dialog.approved.connect(approved.append)
    dialog.side_b.approve_button.click()
    assert approved == [takes[1].id]
    saved = project.get(Shot, shot.id)
    assert saved.approved_take_id == takes[1].id and saved.status == ShotStatus.APPROVED
    assert [t.approved for t in project.takes(shot.id)] == [False, True]
    assert not dialog.side_b.approve_button.isEnabled() and dialog.side_a.approve_button.isEnabled()
    dialog.side_a.approve_button.click()  # change of mind: A replaces B
    assert [t.approved for t in project.takes(shot.id)] == [True, False]
    assert project.undo_label.startswith("Approve take of shot")  # ops.takes.approve_take
    project.undo()
    assert project.get(Shot, shot.id).approved_take_id == takes[1].id
    assert [t.approved for t in project.takes(shot.id)] == [False, True]


def test_compare_dialog_refuses_takes_of_different_shots(qtbot, project, tmp_path) -> None:
    from engine.errors import StoryreelError
    from engine.model import Scene, Shot, Take, TakeKind
    from studio.take_compare import TakeCompareDialog

    scene = project.add(Scene(number=1))
    media = project.media.import_file(make_video(tmp_path / "t.mp4", frames=4))
    ids = []
    for order in range(2):
        shot = project.add(Shot(scene_id=scene.id, order=order))
        ids.append(project.add(Take(shot_id=shot.id, kind=TakeKind.IMPORTED,
                                    media=media.sha256)).id)
    with pytest.raises(StoryreelError, match="same shot"):
        TakeCompareDialog(project, ids[0], ids[1])


def test_every_literal_ui_string_has_a_chinese_translation() -> None:
    """Each self.tr("...") literal in these widgets has an entry in the modules' ZH dicts."""
    import ast
    import importlib

    names = ["studio.player", "studio.timeline_view", "studio.timeline_edits",
             "studio.timeline_items",
             "studio.jobs_dock", "studio.export_dialog", "studio.take_compare"]
    modules = [importlib.import_module(n) for n in names]
    zh: dict[str, str] = {}
    for module in modules:
        zh.update(getattr(module, "ZH", {}))
    missing = []
    for module in modules:
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "tr"
                    and node.args and isinstance(node.args[0], ast.Constant)
                    and node.args[0].value not in zh):
                missing.append((module.__name__, node.args[0].value))
    assert missing == []
    assert all(zh.values())
