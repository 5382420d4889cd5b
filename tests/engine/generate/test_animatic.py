"""The animatic backend: real PyAV encoding of tiny clips, decoded back and measured."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw

from engine.errors import Cancelled, MediaError
from engine.generate.animatic import AnimaticBackend, AnimaticError, clip_fps
from engine.generate.base import CharacterRef, GenerationRequest, SpokenLine
from engine.jobs.progress import CancelToken, no_progress
from engine.model import CameraAngle, CameraMove, ShotSize

SHIRT = (220, 30, 200)  # a colour nothing else in a storyboard uses
FACE = (40, 190, 215)  # nor this one (a cyan face: easy to count)


def bust(path: Path, shirt=SHIRT, backdrop=(255, 255, 255)) -> Path:
    """A character sheet: head and shoulders on a plain backdrop (taller than wide)."""
    img = Image.new("RGB", (200, 250), backdrop)
    draw = ImageDraw.Draw(img)
    draw.ellipse((60, 25, 140, 125), fill=FACE)
    draw.rounded_rectangle((25, 130, 175, 300), radius=30, fill=shirt)
    draw.ellipse((80, 60, 90, 70), fill=(20, 20, 20))
    draw.ellipse((110, 60, 120, 70), fill=(20, 20, 20))
    img.save(path)
    return path


def request(**changes) -> GenerationRequest:
    base = GenerationRequest(
        shot_id="shot-1",
        prompt="",
        seed=7,
        width=64,
        height=112,
        fps=24.0,
        duration=0.5,
        shot_label="1-1",
        size=ShotSize.WIDE,
        camera_move=CameraMove.STATIC,
        scene_heading="1. 内景 咖啡馆 - 日",
        characters=[CharacterRef("林雨")],
        language="zh",
    )
    return replace(base, **changes)


def render(req: GenerationRequest, out: Path, **kw) -> Path:
    AnimaticBackend().generate(
        req, out, kw.get("progress", no_progress), kw.get("cancel", CancelToken())
    )
    return out


def decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(video=0)]


def diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


def test_clip_is_h264_yuv420p_with_exact_size_frames_and_rate(tmp_path: Path) -> None:
    req = request(width=64, height=112, fps=24.0, duration=0.5)
    result = AnimaticBackend().generate(req, tmp_path / "take.mp4", no_progress, CancelToken())
    assert result.video == tmp_path / "take.mp4"
    with av.open(str(result.video)) as container:
        assert not container.streams.audio
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.width, stream.height) == (64, 112)
        assert stream.average_rate == 24
        frames = list(container.decode(stream))
    assert len(frames) == 12
    assert result.record["backend"] == "animatic"
    assert isinstance(result.record["renderer_version"], int)
    assert (result.record["width"], result.record["height"], result.record["frames"]) == (
        64,
        112,
        12,
    )
    assert result.record["fps"] == "24"
    assert result.record["dialogue_in_note"] is False  # no dialogue in this shot
    # only the finished file is left in the folder: the temp file was renamed
    assert [p.name for p in tmp_path.iterdir()] == ["take.mp4"]


def test_ntsc_rate_is_kept_as_a_fraction(tmp_path: Path) -> None:
    req = request(fps=30000 / 1001, duration=0.4)
    assert clip_fps(req.fps) == Fraction(30000, 1001)
    result = AnimaticBackend().generate(req, tmp_path / "ntsc.mp4", no_progress, CancelToken())
    with av.open(str(result.video)) as container:
        assert container.streams.video[0].average_rate == Fraction(30000, 1001)
    assert len(decode(result.video)) == round(0.4 * 30000 / 1001) == result.record["frames"]
    assert result.record["fps"] == "30000/1001"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"width": 65}, "even"),
        ({"height": 111}, "even"),
        ({"width": 8}, "outside"),
        ({"fps": 0.0}, "frame rate"),
        ({"duration": 0.01}, "shorter than one frame"),
        ({"duration": -1.0}, "duration"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(tmp_path: Path, changes: dict, words: str) -> None:
    with pytest.raises(AnimaticError, match=words):
        render(request(**changes), tmp_path / "bad.mp4")
    assert list(tmp_path.iterdir()) == []


def test_unreadable_reference_image_is_a_media_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    req = request(characters=[CharacterRef("林雨", images=[broken])])
    with pytest.raises(MediaError, match="林雨"):
        render(req, tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()


def test_close_up_shows_the_reference_image(tmp_path: Path) -> None:
    ref = bust(tmp_path / "lin.png")
    common = dict(size=ShotSize.CLOSE_UP, width=96, height=160)
    with_ref = request(characters=[CharacterRef("林雨", images=[ref])], **common)
    without = request(characters=[CharacterRef("林雨")], **common)
    frame = decode(render(with_ref, tmp_path / "ref.mp4"))[6]
    plain = decode(render(without, tmp_path / "plain.mp4"))[6]

    def share(img: np.ndarray, colour: tuple[int, int, int]) -> float:
        return float((np.abs(img - np.array(colour)).max(axis=2) < 40).mean())

    # a close-up is mostly the face, with the shirt below it
    assert share(frame, FACE) > 0.15
    assert share(frame, SHIRT) > 0.03
    assert share(plain, FACE) < 0.01 and share(plain, SHIRT) < 0.01
    assert diff(frame, plain) > 20


def test_plain_backdrop_is_keyed_out_so_the_scene_shows_around_the_figure(tmp_path: Path) -> None:
    frames = []
    for i, backdrop in enumerate([(255, 255, 255), (0, 255, 0)]):
        ref = bust(tmp_path / f"lin{i}.png", backdrop=backdrop)
        req = request(size=ShotSize.MEDIUM, characters=[CharacterRef("林雨", images=[ref])])
        frames.append(decode(render(req, tmp_path / f"ms{i}.mp4"))[0])
    # the sheet's backdrop does not come along: its colour makes no difference
    assert diff(frames[0], frames[1]) < 1.5
    assert (np.abs(frames[1] - np.array((0, 255, 0))).max(axis=2) < 60).mean() < 0.005
    # a busy backdrop cannot be keyed: the picture comes as a card, backdrop and all
    noisy = tmp_path / "noisy.png"
    sheet = Image.open(tmp_path / "lin1.png")
    rng = np.random.default_rng(0)
    arr = np.asarray(sheet).copy()
    arr[:20] = rng.integers(0, 255, arr[:20].shape)
    Image.fromarray(arr).save(noisy)
    req = request(size=ShotSize.MEDIUM, characters=[CharacterRef("林雨", images=[noisy])])
    card = decode(render(req, tmp_path / "card.mp4"))[0]
    assert (np.abs(card - np.array((0, 255, 0))).max(axis=2) < 60).mean() > 0.02


@pytest.mark.parametrize(
    "move",
    [
        CameraMove.PUSH_IN,
        CameraMove.PAN,
        CameraMove.PULL_OUT,
        CameraMove.TILT,
        CameraMove.ORBIT,
        CameraMove.TRACK,
    ],
)
def test_camera_moves_move_the_picture(tmp_path: Path, move: CameraMove) -> None:
    ref = bust(tmp_path / "lin.png")
    req = request(
        camera_move=move,
        size=ShotSize.MEDIUM,
        duration=0.5,
        shot_label="",
        scene_heading="3. 外景 城市街道 - 夜",
        characters=[CharacterRef("林雨", images=[ref])],
    )
    frames = decode(render(req, tmp_path / f"{move}.mp4"))
    assert diff(frames[0], frames[-1]) > 6


def test_static_shot_only_drifts(tmp_path: Path) -> None:
    ref = bust(tmp_path / "lin.png")
    common = dict(
        size=ShotSize.MEDIUM,
        duration=0.5,
        characters=[CharacterRef("林雨", images=[ref])],
        scene_heading="3. 外景 城市街道 - 夜",
    )
    static = decode(render(request(camera_move=CameraMove.STATIC, **common), tmp_path / "s.mp4"))
    pan = decode(render(request(camera_move=CameraMove.PAN, **common), tmp_path / "p.mp4"))
    assert diff(static[0], static[-1]) < 4
    assert diff(static[0], static[-1]) * 3 < diff(pan[0], pan[-1])


def test_handheld_shakes_every_frame_a_little(tmp_path: Path) -> None:
    req = request(
        camera_move=CameraMove.HANDHELD, duration=0.5, scene_heading="EXT. CITY STREET - NIGHT"
    )
    frames = decode(render(req, tmp_path / "hand.mp4"))
    steps = [diff(a, b) for a, b in zip(frames, frames[1:], strict=False)]
    assert sum(s > 0.2 for s in steps) >= len(steps) // 2
    assert max(steps) < 12  # smooth: no jumps


def test_dialogue_appears_in_the_note_and_leaves_the_subtitle_band_clear(
    tmp_path: Path,
) -> None:
    common = dict(width=180, height=320, duration=0.125, camera_move=CameraMove.STATIC)
    spoken = request(dialogue=[SpokenLine("林雨", "你终于来了。")], **common)
    silent = request(**common)
    record = (
        AnimaticBackend().generate(spoken, tmp_path / "a.mp4", no_progress, CancelToken()).record
    )
    assert record["dialogue_in_note"] is True
    a = decode(tmp_path / "a.mp4")[0]
    b = decode(render(silent, tmp_path / "b.mp4"))[0]
    note = slice(int(320 * 0.07), int(320 * 0.45))
    subtitles = slice(int(320 * 0.6), int(320 * 0.95))  # where the export burns subtitles
    assert diff(a[note], b[note]) > 1
    assert diff(a[subtitles], b[subtitles]) < 0.5


def test_each_line_is_noted_in_its_turn(tmp_path: Path) -> None:
    req = request(
        width=180,
        height=320,
        duration=1.0,
        fps=12.0,
        dialogue=[SpokenLine("林雨", "第一句台词。"), SpokenLine("陈默", "Second line here.")],
        language="zh",
    )
    frames = decode(render(req, tmp_path / "two.mp4"))
    note = slice(int(320 * 0.07), int(320 * 0.45))
    assert diff(frames[0][note], frames[1][note]) < 2  # same line held
    assert diff(frames[0][note], frames[-1][note]) > 1  # the second line replaced it


def test_cancel_leaves_no_file(tmp_path: Path) -> None:
    token = CancelToken()
    seen: list[float] = []

    def progress(fraction: float, message: str) -> None:
        seen.append(fraction)
        if fraction > 0.2:
            token.cancel()

    with pytest.raises(Cancelled):
        render(request(duration=1.0), tmp_path / "c.mp4", progress=progress, cancel=token)
    assert seen
    assert list(tmp_path.iterdir()) == []


def test_progress_is_reported_every_few_frames_up_to_done(tmp_path: Path) -> None:
    seen: list[float] = []
    render(request(duration=1.0), tmp_path / "p.mp4", progress=lambda f, m: seen.append(f))
    assert len(seen) >= 24 // 4
    assert seen == sorted(seen)
    assert seen[-1] == 1.0


def test_same_request_gives_identical_frames(tmp_path: Path) -> None:
    ref = bust(tmp_path / "lin.png")
    req = request(
        camera_move=CameraMove.HANDHELD,
        characters=[CharacterRef("林雨", images=[ref])],
        dialogue=[SpokenLine("林雨", "再见。")],
    )
    a = decode(render(req, tmp_path / "a.mp4"))
    b = decode(render(req, tmp_path / "b.mp4"))
    assert len(a) == len(b)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    other = decode(render(replace(req, seed=8), tmp_path / "c.mp4"))
    assert any(not np.array_equal(x, y) for x, y in zip(a, other, strict=True))


def test_night_is_darker_than_day_and_exteriors_differ_from_interiors(tmp_path: Path) -> None:
    common = dict(characters=[], shot_label="", duration=0.125)
    day = decode(render(request(scene_heading="5. 外景 公园 - 日", **common), tmp_path / "d.mp4"))[
        0
    ]
    night = decode(
        render(request(scene_heading="5. 外景 公园 - 夜", **common), tmp_path / "n.mp4")
    )[0]
    inside = decode(
        render(request(scene_heading="INT. PARK OFFICE - DAY", **common), tmp_path / "i.mp4")
    )[0]
    assert night.mean() + 60 < day.mean()
    assert diff(day, inside) > 15


def test_dutch_and_over_the_shoulder_change_the_frame(tmp_path: Path) -> None:
    ref = bust(tmp_path / "lin.png")
    common = dict(
        size=ShotSize.MEDIUM_CLOSE_UP,
        characters=[CharacterRef("林雨", images=[ref])],
        shot_label="",
        duration=0.125,
    )
    level = decode(render(request(**common), tmp_path / "l.mp4"))[0]
    dutch = decode(render(request(angle=CameraAngle.DUTCH, **common), tmp_path / "d.mp4"))[0]
    ots = decode(
        render(request(angle=CameraAngle.OVER_THE_SHOULDER, **common), tmp_path / "o.mp4")
    )[0]
    assert diff(level, dutch) > 5
    assert diff(level, ots) > 5


def test_keyframes_replace_the_composed_picture_and_dissolve(tmp_path: Path) -> None:
    first = tmp_path / "first.png"
    last = tmp_path / "last.png"
    Image.new("RGB", (90, 160), (200, 30, 30)).save(first)
    Image.new("RGB", (160, 90), (30, 30, 200)).save(last)  # another shape: cropped to cover
    req = request(first_frame=first, last_frame=last, shot_label="", duration=0.5)
    result = AnimaticBackend().generate(req, tmp_path / "k.mp4", no_progress, CancelToken())
    frames = decode(result.video)
    middle = (slice(40, 100), slice(8, 56))  # below the badges, above the captions

    def near(img: np.ndarray, colour: tuple[int, int, int]) -> float:
        patch = img[middle]
        return float((np.abs(patch - np.array(colour)).max(axis=2) < 40).mean())

    assert near(frames[0], (200, 30, 30)) > 0.95
    assert near(frames[-1], (30, 30, 200)) > 0.95
    assert result.record["keyframes"] == ["first.png", "last.png"]
    with pytest.raises(MediaError, match="first keyframe"):
        render(request(first_frame=tmp_path / "nope.png"), tmp_path / "x.mp4")


def test_frames_drawn_ahead_on_threads_are_the_same(tmp_path: Path, monkeypatch) -> None:
    import engine.generate.animatic as animatic

    ref = bust(tmp_path / "lin.png")
    req = request(
        camera_move=CameraMove.ORBIT,
        characters=[CharacterRef("林雨", images=[ref])],
        dialogue=[SpokenLine("林雨", "一。"), SpokenLine("林雨", "二。")],
    )
    monkeypatch.setattr(animatic.os, "cpu_count", lambda: 1)
    one_by_one = decode(render(req, tmp_path / "serial.mp4"))
    monkeypatch.setattr(animatic.os, "cpu_count", lambda: 8)
    ahead = decode(render(req, tmp_path / "threads.mp4"))
    assert len(ahead) == len(one_by_one) == 12
    assert all(np.array_equal(a, b) for a, b in zip(ahead, one_by_one, strict=True))
    # cancelling while frames are being drawn ahead still leaves nothing behind
    token = CancelToken()

    def progress(fraction: float, message: str) -> None:
        if fraction > 0.3:
            token.cancel()

    with pytest.raises(Cancelled):
        render(request(duration=1.0), tmp_path / "c" / "x.mp4", progress=progress, cancel=token)
    assert list((tmp_path / "c").iterdir()) == []


def test_rain_falls_in_a_rainy_scene(tmp_path: Path) -> None:
    common = dict(scene_heading="第2场 夜 外 街道", characters=[], shot_label="", duration=0.125)
    dry = decode(render(request(**common), tmp_path / "dry.mp4"))[0]
    wet = decode(
        render(request(scene_description="大雨中的街道。", **common), tmp_path / "wet.mp4")
    )[0]
    assert diff(dry, wet) > 1.5
    # rain streaks are light: the rainy picture is brighter somewhere in the sky
    assert wet[:40].mean() > dry[:40].mean()
