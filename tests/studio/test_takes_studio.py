"""Takes in the studio (issue #13): the frame the preview shows as a keyframe, an image
dropped on the inspector, re-rolls and "N takes" from Generate, the short-take badge and
storyboard badges that fit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QFont, QFontMetrics, QImage
from PySide6.QtWidgets import QApplication

from engine.model import Job, Project, Scene, Shot, Take
from engine.ops import shots as shot_ops
from engine.ops import takes as take_ops

SMALL = {"width": 64, "height": 112, "frames": 9}
FPS = 10
FRAMES = 20  # a 2 s clip, each frame its own flat colour


def colour(i: int) -> tuple[int, int, int]:
    return (12 * i % 256, 255 - 11 * i % 256, (40 + 90 * i) % 256)


def colour_clip(path: Path, frames: int = FRAMES) -> Path:
    """An H.264 clip whose frame i is one flat colour (told apart from every other)."""
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        stream.options = {"qp": "0"}
        for i in range(frames):
            image = np.zeros((64, 64, 3), np.uint8)
            image[:] = colour(i)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def project(tmp_path: Path, durations: tuple[float, ...] = (2.0,)) -> Path:
    from engine.store import ProjectStore

    path = tmp_path / "film.storyreel"
    with ProjectStore.create(path, Project(title="雨夜来电", width=96, height=160)) as store:
        scene = store.add(Scene(number=1, heading="第1场 夜 内 咖啡馆"))
        for i, duration in enumerate(durations):
            shot_ops.add_shot(store, scene.id, duration=duration, action=f"镜头{i + 1}",
                              generation=dict(SMALL))
    return path


def rgb(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    raw = np.frombuffer(image.constBits(), np.uint8)
    rows = raw[: image.bytesPerLine() * image.height()].reshape(image.height(), -1)
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def stored_png(store: Any, sha: str) -> np.ndarray:
    from PIL import Image

    with Image.open(store.media_path(sha)) as img:
        return np.asarray(img.convert("RGB")).astype(int)


def open_with_take(window: Any, tmp_path: Path, frames: int = FRAMES) -> tuple[Shot, Take]:
    assert window.open_project(str(project(tmp_path)))
    store = window.store
    shot = store.shots()[0]
    out = take_ops.import_take(store, shot.id, colour_clip(tmp_path / "colours.mp4", frames))
    window.storyboard.select_shots([shot.id])
    window.inspector.show_shot(shot.id)
    return shot, out.result


# ---------------------------------------------------------------- frame → keyframe
def wait_frame(qtbot: Any, player: Any, seconds: float) -> None:
    """Until the preview shows the frame at ``seconds`` (paused after a seek)."""
    def shown() -> bool:
        t = player.current_time
        return t is not None and abs(t - seconds) < 0.5 / FPS

    qtbot.waitUntil(shown, timeout=10_000)


def test_frame_the_preview_shows_becomes_the_keyframe(window: Any, qtbot: Any,
                                                       tmp_path: Path) -> None:
    from engine.ops import history

    shot, take = open_with_take(window, tmp_path)
    store, insp, player = window.store, window.inspector, window.player
    # nothing in the preview yet: one sentence, nothing changed
    insp.use_shown_frame()
    assert window.errors and "Play the take in the preview" in window.errors[-1]
    assert store.require(Shot, shot.id).first_keyframe is None

    insp.takes.item(0).setSelected(True)
    insp.play_selected()  # the preview dock plays the take
    player.pause()
    player.seek(1.0)  # frame 10
    wait_frame(qtbot, player, 1.0)
    shown = rgb(player.current_image).astype(int)
    insp.use_shown_frame(last=False)
    first = store.require(Shot, shot.id).first_keyframe
    assert first is not None
    keyframe = stored_png(store, first)
    assert keyframe.shape == shown.shape
    assert np.abs(keyframe - shown).mean() < 3  # the very frame on screen
    assert np.abs(keyframe.mean(axis=(0, 1)) - colour(10)).max() < 6
    assert np.abs(keyframe.mean(axis=(0, 1)) - colour(0)).max() > 30

    # the preview's context menu: the frame at 1.5 s as the last keyframe
    player.seek(1.5)
    wait_frame(qtbot, player, 1.5)
    menu = insp.keyframe_menu(player.screen)
    last_action = next(a for a in menu.actions() if "last keyframe" in a.text())
    last_action.trigger()
    last = store.require(Shot, shot.id).last_keyframe
    assert last is not None and last != first
    assert np.abs(stored_png(store, last).mean(axis=(0, 1)) - colour(15)).max() < 6
    # one operation each, undoable
    history.undo(store)
    assert store.require(Shot, shot.id).last_keyframe is None
    assert store.require(Shot, shot.id).first_keyframe == first


def test_frame_of_another_take_than_the_selected_one_is_refused(window: Any, qtbot: Any,
                                                                 tmp_path: Path) -> None:
    shot, take = open_with_take(window, tmp_path)
    store, insp, player = window.store, window.inspector, window.player
    other = take_ops.import_take(store, shot.id, colour_clip(tmp_path / "b.mp4", 10)).result
    insp.refresh()
    player.load(store.media_path(take.media))
    qtbot.waitUntil(lambda: player.current_time is not None, timeout=10_000)
    for i in range(insp.takes.count()):
        item = insp.takes.item(i)
        item.setSelected(item.data(Qt.ItemDataRole.UserRole) == other.id)
    insp.use_shown_frame()
    assert "Play the take in the preview" in window.errors[-1]
    assert store.require(Shot, shot.id).first_keyframe is None


# ---------------------------------------------------------------- dropped images
def drop(widget: Any, path: Path, shift: bool = False) -> bool:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    mods = Qt.KeyboardModifier.ShiftModifier if shift else Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(widget.rect().center(), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, mods)
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    event = QDropEvent(QPointF(widget.rect().center()), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, mods)
    QApplication.sendEvent(widget, event)
    return True


def test_dropped_image_becomes_keyframe_and_a_corrupt_one_changes_nothing(
        window: Any, tmp_path: Path) -> None:
    from PIL import Image

    assert window.open_project(str(project(tmp_path)))
    store, insp = window.store, window.inspector
    shot = store.shots()[0]
    insp.show_shot(shot.id)
    png = tmp_path / "still.png"
    pixels = np.zeros((48, 80, 3), np.uint8)
    pixels[:, :40] = (200, 30, 60)
    pixels[:, 40:] = (20, 180, 90)
    Image.fromarray(pixels).save(png)

    assert drop(insp, png)
    first = store.require(Shot, shot.id).first_keyframe
    assert first is not None
    assert np.array_equal(stored_png(store, first), pixels.astype(int))
    assert insp.keyframe_buttons["first_keyframe"].text().endswith("✓")
    assert drop(insp, png, shift=True)  # Shift: the last keyframe
    assert store.require(Shot, shot.id).last_keyframe == first

    corrupt = tmp_path / "broken.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a picture" * 20)
    before = store.require(Shot, shot.id)
    seq = len(store.history())
    errors = len(window.errors)
    assert drop(insp, corrupt)
    assert len(window.errors) == errors + 1
    message = window.errors[-1]
    assert "broken.png" in message and "nothing was changed" in message
    assert "\n" not in message and "Traceback" not in message
    after = store.require(Shot, shot.id)
    assert (after.first_keyframe, after.last_keyframe, after.version) == (
        before.first_keyframe, before.last_keyframe, before.version)
    assert len(store.history()) == seq


def test_drop_without_a_shot_is_not_accepted(window: Any, tmp_path: Path) -> None:
    assert window.open_project(str(project(tmp_path)))
    window.inspector.show_shot(None)
    png = tmp_path / "still.png"
    QImage(8, 8, QImage.Format.Format_RGB888).save(str(png))
    assert not drop(window.inspector, png)


# ---------------------------------------------------------------- re-roll, N takes
def run_queue(store: Any) -> None:
    from engine.jobs.worker import run_worker

    run_worker(Path(store.root), once=True)
    failed = [j.error for j in store.all(Job) if str(j.status) == "failed"]
    assert not failed, failed


def test_generate_rerolls_an_up_to_date_shot_and_makes_n_takes_as_one_group(
        window: Any, tmp_path: Path) -> None:
    assert window.open_project(str(project(tmp_path)))
    window.workflows.start_worker_hook = lambda: None  # the test runs the queue itself
    store, insp = window.store, window.inspector
    shot = store.shots()[0]
    insp.show_shot(shot.id)
    assert insp.generate_button.text() == "Generate"

    insp.generate_button.click()  # no take yet: the shot's own seed
    (job,) = store.all(Job)
    assert job.params["overrides"].get("seed") is None
    run_queue(store)
    (first,) = store.takes(shot.id)
    insp.refresh()
    assert insp.generate_button.text() == "Re-roll (new seed)"

    insp.generate_button.click()  # up to date: a re-roll, a new take with a new seed
    reroll = [j for j in store.all(Job) if j.id != job.id]
    assert len(reroll) == 1 and reroll[0].params["overrides"]["seed"] != first.record["seed"]
    run_queue(store)
    takes = store.takes(shot.id)
    assert len(takes) == 2  # not a cache hit
    assert len({t.record["seed"] for t in takes}) == 2
    assert len({t.cache_key for t in takes}) == 2  # made anew (the animatic ignores seeds)

    insp.takes_count.setValue(3)
    known = {j.id for j in store.all(Job)}
    insp.generate_button.click()
    group = [j for j in store.all(Job) if j.id not in known]
    assert len(group) == 3
    assert len({j.params["group"] for j in group}) == 1
    assert sorted(j.params["variant"] for j in group) == [0, 1, 2]
    assert {j.params["group_size"] for j in group} == {3}
    run_queue(store)
    takes = store.takes(shot.id)
    assert len(takes) == 5
    seeds = [t.record["seed"] for t in takes]
    assert len(set(seeds)) == 5  # three new seeds, none seen before
    assert window.errors == []


def test_enqueue_generation_options(tmp_path: Path) -> None:
    from engine.ops import jobs as job_ops
    from engine.ops.base import OpError
    from engine.store import ProjectStore

    with ProjectStore.open(project(tmp_path, (1.0, 1.0))) as store:
        one, two = store.shots()
        shot_ops.set_shot_fields(store, two.id, seed=7, seed_locked=True)
        jobs = job_ops.enqueue_generation(store, [one.id, two.id], new_seed=True, takes=2)
        seeds = [j.params["overrides"]["seed"] for j in jobs]
        assert len(jobs) == 4 and seeds[0] == seeds[1] and seeds[2] == seeds[3]
        assert seeds[0] != seeds[2]  # a fresh seed per shot
        plain = job_ops.enqueue_generation(store, [two.id], new_seed=False)
        assert "seed" not in plain[0].params["overrides"]
        with pytest.raises(OpError, match="outside 1–64"):
            job_ops.enqueue_generation(store, [one.id], takes=0)


# ---------------------------------------------------------------- storyboard badges
def test_short_take_badge_appears_exactly_when_the_take_is_shorter(
        window: Any, qtbot: Any, tmp_path: Path) -> None:
    from studio.storyboard_cards import short_take_text

    assert window.open_project(str(project(tmp_path, (2.0, 2.0, 2.0))))
    store = window.store
    short_shot, full_shot, still_shot = store.shots()
    take_ops.import_take(store, short_shot.id, colour_clip(tmp_path / "short.mp4", 10))
    take_ops.import_take(store, full_shot.id, colour_clip(tmp_path / "full.mp4", 20))
    still = tmp_path / "still.png"
    QImage(16, 16, QImage.Format.Format_RGB888).save(str(still))
    take_ops.import_take(store, still_shot.id, still)
    window.storyboard.refresh()

    def card(shot: Shot) -> Any:
        return window.storyboard.card(shot.id)

    qtbot.waitUntil(lambda: card(short_shot) is not None and card(short_shot).takes == 1)
    assert card(short_shot).short_take == "hold"
    assert short_take_text(card(short_shot)) == "short take · held"
    assert card(full_shot).short_take == "" and short_take_text(card(full_shot)) == ""
    assert card(still_shot).short_take == ""

    shot_ops.set_shot_fields(store, short_shot.id,
                             generation={**short_shot.generation, "short_take": "slow"})
    qtbot.waitUntil(lambda: card(short_shot).short_take == "slow")
    assert short_take_text(card(short_shot)) == "short take · slowed"
    shot_ops.set_shot_fields(store, short_shot.id, duration=1.0)  # now the take covers it
    qtbot.waitUntil(lambda: card(short_shot).short_take == "")
    shot_ops.set_shot_fields(store, full_shot.id, duration=2.5)  # now it falls short
    qtbot.waitUntil(lambda: card(full_shot).short_take == "hold")


@pytest.mark.parametrize("language", ["en", "zh"])
def test_badges_fit_the_card_in_both_languages(qtbot: Any, language: str) -> None:
    from engine.model import CameraAngle, ShotSize
    from studio.i18n_zh import ZH
    from studio.storyboard_cards import BADGE_H, BADGE_ROWS, CARD_W, layout_badges

    def word(text: str) -> str:
        return ZH.get(text, text) if language == "zh" else text

    font = QFont()
    font.setPointSize(8)
    metrics = QFontMetrics(font)
    width = CARD_W - 8 - 16  # the delegate's badge row
    texts = [word(str(ShotSize.MEDIUM_CLOSE_UP)), word(str(CameraAngle.OVER_THE_SHOULDER))]
    placed = layout_badges(texts, metrics, width)
    assert [t for _, t in placed] == texts  # both shown whole: the second wraps if needed
    for rect, text in placed:
        assert rect.left() >= 0 and rect.right() < width
        assert rect.width() >= metrics.horizontalAdvance(text) + 4  # the text fits its badge
    together = sum(metrics.horizontalAdvance(t) + 10 for t in texts) + 3
    # side by side when they fit in one row, else the camera badge starts row two
    assert (placed[1][0].top() > placed[0][0].top()) == (together > width)
    wide = layout_badges([texts[0], "over-the-shoulder" * 1, "over-the-shoulder"], metrics, 100)
    assert [t for _, t in wide][:2] == [texts[0], "over-the-shoulder"] or \
        wide[1][1].endswith("…")
    # more than two rows' worth: every badge stays inside the card, the rest is elided
    many = texts + [word("approved"), "@someone-with-a-long-name", word("{n} notes")] * 3
    crowded = layout_badges(many, metrics, width)
    assert all(0 <= r.left() and r.right() < width for r, _ in crowded)
    assert max(r.bottom() for r, _ in crowded) < BADGE_ROWS * (BADGE_H + 3)
    assert len(crowded) < len(many)
    long = layout_badges(["x" * 80], metrics, width)
    assert long[0][1].endswith("…") and long[0][0].right() < width


def test_inspector_picks_the_short_take_fill_and_continuity_per_shot(
        window: Any, qtbot: Any, tmp_path: Path) -> None:
    from engine.model import ShotStatus
    from engine.ops.history import undo
    from engine.render.timeline_builder import build_timeline

    shot, _take = open_with_take(window, tmp_path, frames=10)  # a 1 s take, a 2 s shot
    store, inspector = window.store, window.inspector
    assert inspector.short_take.currentData() == "hold"
    assert not inspector.continue_previous.isChecked()

    def clip_speed() -> float:
        (clip,) = [c for c in build_timeline(store).video if c.shot_id == shot.id]
        return clip.speed

    assert clip_speed() == pytest.approx(1.0)  # held: the last frame fills the rest
    inspector.short_take.setCurrentIndex(inspector.short_take.findData("slow"))
    assert store.require(Shot, shot.id).generation["short_take"] == "slow"
    assert clip_speed() == pytest.approx(0.5, abs=0.06)  # slowed to fill its 2 s
    # how the take fills the shot is no input of the take: it stays up to date
    assert store.require(Shot, shot.id).status is not ShotStatus.STALE
    inspector.continue_previous.setChecked(True)
    assert store.require(Shot, shot.id).generation["continue_from_previous"] is True
    assert store.require(Shot, shot.id).status is ShotStatus.STALE  # a new first frame
    assert store.require(Shot, shot.id).generation["width"] == SMALL["width"]  # kept
    undo(store)
    undo(store)
    assert "short_take" not in store.require(Shot, shot.id).generation
    # a change made elsewhere (the CLI's `shot set --short-take slow`) shows when refreshed
    shot_ops.set_shot_fields(store, shot.id, short_take="slow")
    inspector.refresh()
    assert inspector.short_take.currentData() == "slow"
