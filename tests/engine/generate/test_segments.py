"""Takes as long as their shots: segments, resume, and the film's frame rate."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import Cancelled
from engine.generate import segments
from engine.generate.service import BackendPool, generate_now
from engine.generate.video_io import read_frames, retime
from engine.jobs.progress import CancelToken
from engine.model import entities as E

pytestmark = pytest.mark.filterwarnings("ignore")
WINDOW = {"width": 32, "height": 32, "frames": 9, "steps": 2}


def test_plans_cover_the_shot() -> None:
    assert segments.frames_needed(7.0, 16.0, 4) == 113
    layout = segments.plan(113, 9)
    assert layout.count > 1 and layout.total >= 113 and layout.overlap == 2
    assert segments.plan(9, 9).count == 1
    a = np.zeros((4, 2, 2, 3), np.float32)
    b = np.ones((4, 2, 2, 3), np.float32)
    joined = segments.blend(a, b, 2)
    assert len(joined) == 6 and 0 < joined[2].mean() < joined[3].mean() < 1


def test_a_7_second_shot_with_a_9_frame_window_is_covered(film, registered) -> None:
    shot_id = film.film["shots"][0]
    film.set_fields(E.Shot, shot_id, duration=7.0)
    (take,) = generate_now(film, [shot_id], backend=registered["vace"], device="cpu",
                           overrides=WINDOW)
    rec = take.record
    assert rec["frames"] == 9 and rec["frames_made"] == 113
    parts = rec["segments"]
    assert len(parts) == 16 and [p["index"] for p in parts] == list(range(16))
    assert parts[0]["conditioning"] == "none"
    assert {p["conditioning"] for p in parts[1:]} == {"tail-frames"}
    assert len({p["seed"] for p in parts}) == 16
    clip = film.media.path(take.media)
    frames = read_frames(clip)
    assert len(frames) / 30.0 >= 7.0  # at the film's rate, at least as long as the shot
    asset = film.get(E.MediaAsset, take.media)
    assert asset.duration >= 7.0 and asset.fps == pytest.approx(30.0)


def test_a_cancelled_long_shot_resumes_at_its_first_unfinished_segment(film,
                                                                        registered) -> None:
    shot_id = film.film["shots"][0]
    film.set_fields(E.Shot, shot_id, duration=2.0)  # 33 frames: 5 segments of 9, 2 shared
    seen: list[str] = []
    cancel = CancelToken()

    def progress(fraction: float, message: str = "") -> None:
        seen.append(message)
        if message.startswith("segment 3/"):
            cancel.cancel()

    pool = BackendPool()
    with pytest.raises(Cancelled):
        generate_now(film, [shot_id], backend=registered["vace"], device="cpu",
                     overrides=WINDOW, progress=progress, cancel=cancel, pool=pool)
    assert "segment 1/5, step 1/2" in seen and film.takes(shot_id) == []
    (take,) = generate_now(film, [shot_id], backend=registered["vace"], device="cpu",
                           overrides=WINDOW, pool=pool)
    assert [p["cached"] for p in take.record["segments"]] == [True, True, False, False, False]


def test_a_16_fps_take_in_a_30_fps_film_has_in_between_pictures(film, registered) -> None:
    shot_id = film.film["shots"][0]
    film.set_fields(E.Shot, shot_id, duration=2.0)
    (take,) = generate_now(film, [shot_id], backend=registered["vace"], device="cpu",
                           overrides=WINDOW)
    frames = read_frames(film.media.path(take.media)).astype(np.int16)
    steps = np.abs(np.diff(frames, axis=0)).reshape(len(frames) - 1, -1).max(axis=1)
    repeated = int((steps <= 2).sum())  # a repeated frame differs only by encoding noise
    assert repeated / (len(frames) - 1) < 0.10, repeated
    assert take.record["fps_conversion"] == {"from": 16.0, "to": 30.0,
                                             "method": "minterpolate (mci, aobmc, bidir)"}


def test_retime_makes_new_pictures_not_copies() -> None:
    frames = np.zeros((17, 64, 64, 3), np.uint8)
    for i in range(17):
        frames[i, 20:36, 2 + i * 3:18 + i * 3] = 255
    out = retime(frames, 16.0, 30.0)
    assert len(out) == 32
    copies = sum(bool(np.array_equal(out[i], out[i + 1])) for i in range(len(out) - 1))
    assert copies <= 1  # only the held picture after the clip's last one


def test_continue_from_previous_starts_from_the_previous_shots_last_frame(film,
                                                                          registered) -> None:
    from engine.errors import StoryreelError

    first, second = film.film["shots"]
    film.set_fields(E.Shot, second, first_keyframe=None)
    with pytest.raises(StoryreelError, match="which has no take yet"):
        generate_now(film, [second], backend=registered["i2v"], device="cpu",
                     overrides={**WINDOW, "continue_from_previous": True})
    (before,) = generate_now(film, [first], backend=registered["vace"], device="cpu",
                             overrides=WINDOW)
    (take,) = generate_now(film, [second], backend=registered["i2v"], device="cpu",
                           overrides={**WINDOW, "continue_from_previous": True})
    assert take.record["continued_from"] == before.id and take.record["first_frame_used"]
    with pytest.raises(StoryreelError, match="the film's first"):
        generate_now(film, [first], backend=registered["i2v"], device="cpu",
                     overrides={**WINDOW, "continue_from_previous": True})


def test_estimate_uses_what_this_machine_measured(film, registered, capsys) -> None:
    import json

    from engine.cli import main

    shot_id = film.film["shots"][0]
    film.set_fields(E.Shot, shot_id, duration=2.0)
    args = ["generate", str(film.root), "--shots", "1-1", "--backend", registered["vace"],
            "--device", "cpu", "--size", "32x32", "--frames", "9", "--steps", "2",
            "--estimate", "--json"]
    assert main(args) == 0
    before = json.loads(capsys.readouterr().out)
    assert before["shots"][0]["seconds"] is None and before["shots"][0]["segments"] == 5
    assert film.takes(shot_id) == []  # nothing ran
    generate_now(film, [shot_id], backend=registered["vace"], device="cpu", overrides=WINDOW)
    assert main(args) == 0
    after = json.loads(capsys.readouterr().out)
    shot = after["shots"][0]
    assert shot["source"] == "measured here" and shot["seconds"] > 0
    assert after["memory_profile"] == "none" and after["device"] == "cpu"
    assert main(args[:-1]) == 0
    assert "Estimated total:" in capsys.readouterr().out
