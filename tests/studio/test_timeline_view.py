"""TimelineView over a real project: positions, trimming by dragging, music moves, undo."""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from engine.model import (
    AudioPlacement,
    AudioRole,
    ClipEdit,
    Scene,
    Shot,
    ShotStatus,
    Take,
    TakeKind,
)
from engine.store.project import replace
from studio.timeline_view import LEFT_PAD, TimelineView, trims_after_drag
from tests.media_factory import make_image, make_video, make_wav


def make_tiny_project(store: Any, tmp_path: Path, durations: tuple[float, ...] = (1.0, 0.5, 1.0),
                      music: bool = True) -> list[Shot]:
    """A 96×160, 24 fps project: one scene, a shot per duration, each with a 1 s take."""
    project = store.project
    project.fps, project.width, project.height = Fraction(24), 96, 160
    store.update(project)
    scene = store.add(Scene(number=1, heading="第1场 日 内 咖啡馆"))
    shots = []
    for i, duration in enumerate(durations):
        shot = store.add(Shot(scene_id=scene.id, order=i, duration=duration,
                              action=f"镜头{i + 1}", status=ShotStatus.GENERATED))
        video = make_video(tmp_path / f"take{i}.mp4", frames=24, size=(48, 80), fps=24)
        asset = store.media.import_file(video)
        thumb = store.media.import_file(make_image(tmp_path / f"thumb{i}.png", (48, 80),
                                                   (60 * i, 120, 200 - 50 * i)))
        store.add(Take(shot_id=shot.id, kind=TakeKind.ANIMATIC, media=asset.sha256,
                       thumbnail=thumb.sha256, record={"backend": "animatic", "seed": 7 + i,
                                                       "steps": 0, "prompt": f"shot {i}"}))
        shots.append(shot)
    if music:
        wav = store.media.import_file(make_wav(tmp_path / "music.wav", seconds=1.0))
        store.add(AudioPlacement(role=AudioRole.MUSIC, media=wav.sha256, from_shot=shots[0].id,
                                 offset=0.25))
    return shots


def _drag(view: TimelineView, start: tuple[float, float], end: tuple[float, float]) -> None:
    vp = view.view.viewport()
    p0 = view.view.mapFromScene(*start)
    p1 = view.view.mapFromScene(*end)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p0)
    mid = QPoint((p0.x() + p1.x()) // 2, p0.y())
    QTest.mouseMove(vp, mid)
    QTest.mouseMove(vp, p1)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p1)


@pytest.fixture
def timeline(qtbot, project, tmp_path: Path) -> tuple[TimelineView, list[Shot]]:
    shots = make_tiny_project(project, tmp_path)
    view = TimelineView(project)
    qtbot.addWidget(view)
    view.resize(900, 520)
    view.show()
    qtbot.waitExposed(view)
    settle(view, qtbot)
    # an exact scale; it turns the automatic first fit off, so a pending one cannot undo it
    view.set_pixels_per_frame(10.0)
    return view, shots


def settle(view: TimelineView, qtbot) -> None:
    """Wait until the view shows a fresh read of the store (reads run off the UI thread)."""
    qtbot.waitUntil(lambda: view.ready, timeout=5000)


def _x(view: TimelineView, shot_id: str) -> tuple[float, float]:
    item = view.clip_items[shot_id]
    return item.pos().x(), item.rect().width()


def test_one_clip_per_shot_at_frame_positions(timeline) -> None:
    view, shots = timeline
    assert list(view.clip_items) == [s.id for s in shots]
    # 24 fps: 1.0 s, 0.5 s, 1.0 s → frames [0,24) [24,36) [36,60)
    assert _x(view, shots[0].id) == (LEFT_PAD, 240.0)
    assert _x(view, shots[1].id) == (LEFT_PAD + 240.0, 120.0)
    assert _x(view, shots[2].id) == (LEFT_PAD + 360.0, 240.0)
    view.zoom(0.5)
    assert view.ppf == 5.0
    assert _x(view, shots[2].id) == (LEFT_PAD + 180.0, 120.0)
    assert len(view.music_items) == 1
    music = next(iter(view.music_items.values()))
    assert music.pos().x() == LEFT_PAD + 6 * 5.0  # offset 0.25 s = 6 frames
    view.grab().save("/tmp/timeline_view.png")


def test_dragging_the_out_edge_trims_and_undo_restores(timeline, project, qtbot) -> None:
    view, shots = timeline
    x, w = _x(view, shots[0].id)
    y = view.clip_items[shots[0].id].pos().y() + 20
    _drag(view, (x + w - 2, y), (x + w - 2 - 61, y))  # 61 px at 10 px/frame → 6 frames
    settle(view, qtbot)
    edit = project.get(ClipEdit, shots[0].id)
    assert edit is not None
    assert project.undo_label == "Edit clip of shot 1-1"
    clip = next(c for c in view.timeline.video if c.shot_id == shots[0].id)
    assert clip.duration_frames == 18
    assert _x(view, shots[1].id)[0] == LEFT_PAD + 180.0  # the next clip follows
    assert project.undo()
    qtbot.waitUntil(lambda: _x(view, shots[1].id)[0] == LEFT_PAD + 240.0, timeout=2000)
    after = project.get(ClipEdit, shots[0].id)
    assert after is None or (after.trim_in, after.trim_out) == (0, 0)
    assert project.redo()
    qtbot.waitUntil(lambda: _x(view, shots[1].id)[0] == LEFT_PAD + 180.0, timeout=2000)


def test_dragging_the_in_edge_trims_the_head(timeline, project, qtbot) -> None:
    view, shots = timeline
    x, w = _x(view, shots[2].id)
    y = view.clip_items[shots[2].id].pos().y() + 20
    _drag(view, (x + 2, y), (x + 2 + 44, y))  # 4.4 frames → snapped to 4
    settle(view, qtbot)
    edit = project.get(ClipEdit, shots[2].id)
    assert edit is not None and edit.trim_in == 4
    clip = next(c for c in view.timeline.video if c.shot_id == shots[2].id)
    assert clip.duration_frames == 20
    assert clip.source_in == pytest.approx(4 / 24)


def test_dragging_the_middle_selects_without_editing(timeline, project, qtbot) -> None:
    view, shots = timeline
    x, w = _x(view, shots[1].id)
    y = view.clip_items[shots[1].id].pos().y() + 20
    with qtbot.waitSignal(view.clipSelected, timeout=1000) as sig:
        _drag(view, (x + w / 2, y), (x + w / 2 + 50, y))
    assert sig.args == [shots[1].id]
    assert project.get(ClipEdit, shots[1].id) is None
    assert view.clip_items[shots[1].id].isSelected()


def test_moving_music_updates_its_placement_undoably(timeline, project, qtbot) -> None:
    view, shots = timeline
    (pid, item), = view.music_items.items()
    x, y = item.pos().x() + 5, item.pos().y() + 8
    _drag(view, (x, y), (x + 300, y))  # +30 frames: from frame 6 to 36 = start of shot 3
    settle(view, qtbot)
    moved = project.get(AudioPlacement, pid)
    assert moved.from_shot == shots[2].id
    assert moved.offset == pytest.approx(0.0)
    assert view.music_items[pid].pos().x() == LEFT_PAD + 360.0
    assert project.undo_label == "Edit music"
    project.undo()
    back = project.get(AudioPlacement, pid)
    assert (back.from_shot, back.offset) == (shots[0].id, 0.25)


def test_ruler_click_moves_playhead(timeline, qtbot) -> None:
    view, _ = timeline
    y = 10
    moved: list[int] = []
    view.playheadMoved.connect(moved.append)
    _drag(view, (LEFT_PAD + 150, y), (LEFT_PAD + 301, y))
    assert moved[0] == 15 and moved[-1] == 30  # press at frame 15, dragged to 30
    assert view.playhead == 30
    assert view.playhead_item.line().x1() == LEFT_PAD + 300
    assert view.timecode_label.text() == "00:00:01:06"


def test_preview_cut_plays_the_clips_in_order(timeline, qtbot) -> None:
    view, shots = timeline
    view.set_playhead(30, user=True)
    view.preview_cut()
    assert view.player.duration == pytest.approx(60 / 24, abs=0.01)
    qtbot.waitUntil(lambda: view.player.current_time is not None
                    and abs(view.player.current_time - 30 / 24) < 0.03, timeout=3000)
    assert view.player.current_label == "1-2"
    view.select_clip(shots[2].id)
    view.preview_shot()
    assert view.player.duration == pytest.approx(1.0, abs=0.01)


def test_preview_cut_plays_the_cuts_mix_in_sync(timeline, project, qtbot) -> None:
    """The sound of the cut is mixed off the UI thread, cached, and streamed from the
    playhead through a real miniaudio device (the null backend: no sound card here)."""
    view, shots = timeline
    player = view.player
    view.set_playhead(30, user=True)
    view.preview_cut()
    # the result reaches the UI thread by a queued signal after the pool thread is done
    qtbot.waitUntil(lambda: player._audio is not None or (view.sound_task is not None
                                                          and view.sound_task.error != ""),
                    timeout=30_000)
    assert view.sound_task.error == ""
    samples = player._audio
    assert samples is not None and player._audio_rate == 48000 and samples.shape[1] == 2
    assert samples.shape[0] == pytest.approx(60 / 24 * 48000, abs=2)
    # the music (0.25 s into shot 1, 1 s long, the only sound) is where the timeline puts it
    level = np.abs(np.asarray(samples)).max(axis=1)
    assert level[: int(0.2 * 48000)].max() < 1e-4
    assert level[int(0.4 * 48000): int(1.1 * 48000)].max() > 0.01
    cached = list((project.root / "cache" / "preview").glob("preview-mix-*.wav"))
    assert len(cached) == 1
    # playing streams the mix from the playhead's sample
    started = time.monotonic()
    player.play()
    out = player.audio_out
    assert out is not None and out.playing and out.backend == "Null", out.error
    qtbot.waitUntil(lambda: out.frames_sent >= 0.3 * 48000, timeout=5000)
    sent = out.frames_sent
    elapsed = time.monotonic() - started
    # about real time: the device's buffer runs up to a few periods ahead of the clock
    assert (elapsed - 0.25) * 48000 < sent < (elapsed + 0.35) * 48000, (sent, elapsed)
    player.pause()  # stops the device synchronously: its last pull is already counted
    assert not out.playing
    stopped_at = out.frames_sent
    # the second preview reuses the cached mix (same file, untouched)
    mtime = cached[0].stat().st_mtime_ns
    view.preview_cut()
    qtbot.waitUntil(lambda: view.sound_task.done, timeout=30_000)
    assert cached[0].stat().st_mtime_ns == mtime
    assert out.frames_sent == stopped_at  # paused all along: nothing more was pulled
    # previewing one shot plays the cut's sound under it from the shot's start
    view.select_clip(shots[1].id)
    view.preview_shot()
    assert player._audio is None  # a new playlist drops the old sound until its own comes
    qtbot.waitUntil(lambda: player._audio is not None, timeout=30_000)
    assert player._audio_offset == pytest.approx(24 / 24)


def test_store_edits_refresh_the_view(timeline, project, qtbot) -> None:
    view, shots = timeline
    shot = project.get(Shot, shots[1].id)
    project.update(replace(shot, duration=1.0))  # refreshes by itself, off the UI thread
    qtbot.waitUntil(lambda: _x(view, shots[1].id)[1] == 240.0, timeout=2000)
    project.delete(project.get(Shot, shots[0].id))
    qtbot.waitUntil(lambda: shots[0].id not in view.clip_items, timeout=2000)
    assert _x(view, shots[1].id)[0] == LEFT_PAD


def test_trims_after_drag_keeps_at_least_one_frame(project, tmp_path) -> None:
    make_tiny_project(project, tmp_path, durations=(1.0,), music=False)
    from engine.render.timeline_builder import build_timeline

    clip = build_timeline(project).video[0]
    assert trims_after_drag(clip, Fraction(24), 0, 0, "out", -100) == (0, 23)
    assert trims_after_drag(clip, Fraction(24), 0, 0, "in", 100) == (23, 0)
    assert trims_after_drag(clip, Fraction(24), 0, 0, "in", -5) == (0, 0)


def test_space_plays_and_pauses_the_preview(timeline, qtbot) -> None:
    view, _ = timeline
    view.preview_cut()
    view.view.setFocus()
    QTest.keyClick(view.view, Qt.Key.Key_Space)
    assert view.player.playing
    qtbot.waitUntil(lambda: view.playhead > 0, timeout=3000)  # the playhead follows
    QTest.keyClick(view.view, Qt.Key.Key_Space)
    assert not view.player.playing


def test_transition_from_the_clip_menu_overlaps_the_clips(timeline, project, qtbot) -> None:
    view, shots = timeline
    menu = view.clip_menu(next(c for c in view.timeline.video if c.shot_id == shots[2].id))
    crossfade = next(a for a in menu.actions() if a.text().startswith("Crossfade"))
    crossfade.trigger()
    settle(view, qtbot)
    edit = project.get(ClipEdit, shots[2].id)
    assert (str(edit.transition), edit.transition_frames) == ("crossfade", 12)
    clip = next(c for c in view.timeline.video if c.shot_id == shots[2].id)
    assert clip.record_in == 36 - 11  # overlaps the previous 12-frame clip by 11 frames
    assert _x(view, shots[2].id)[0] == LEFT_PAD + 250.0
    project.undo()
    assert project.get(ClipEdit, shots[2].id) is None


def test_add_and_remove_music(timeline, project, tmp_path: Path, qtbot) -> None:
    view, shots = timeline
    view.set_playhead(30)  # inside shot 2
    wav = make_wav(tmp_path / "theme.wav", seconds=2.0, freq=440)
    view.choose_music_file = lambda: str(wav)
    view.add_music_button.click()
    settle(view, qtbot)
    assert len(project.all(AudioPlacement)) == 2
    new = next(p for p in project.all(AudioPlacement) if p.from_shot == shots[1].id)
    assert new.to_shot is None and new.role == AudioRole.MUSIC
    assert view.music_items[new.id].pos().x() == LEFT_PAD + 240.0
    assert project.undo_label == "Add music theme.wav"
    menu = view.music_menu(new.id)
    menu.actions()[0].trigger()
    settle(view, qtbot)
    assert project.get(AudioPlacement, new.id) is None and new.id not in view.music_items
    project.undo()
    assert project.get(AudioPlacement, new.id) is not None


def test_hidden_view_reads_the_store_when_shown_again(timeline, project, qtbot) -> None:
    view, shots = timeline
    view.hide()
    shot = project.get(Shot, shots[0].id)
    project.update(replace(shot, duration=0.5))
    # the change reached the view, which deferred its read until it is shown again
    qtbot.waitUntil(lambda: view._stale, timeout=3000)
    assert view.ready and _x(view, shots[0].id)[1] == 240.0  # not rebuilt while hidden
    view.show()
    qtbot.waitUntil(lambda: _x(view, shots[0].id)[1] == 120.0, timeout=3000)
