"""The animatic's parts: text wrapping, heading reading, camera paths, keying, framing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from engine.errors import MediaError
from engine.generate.animatic_figures import (
    FRAMING,
    choose_reference,
    cut_out,
    frame_figure,
    load_reference,
)
from engine.generate.animatic_motion import Camera, camera_path, ease
from engine.generate.animatic_scene import read_scene
from engine.generate.animatic_text import (
    NO_LINE_START,
    caption_schedule,
    font,
    render_header,
    wrap_text,
)
from engine.generate.base import GenerationRequest, SpokenLine
from engine.model import CameraMove, ShotSize

# ------------------------------------------------------------------------------ text


def test_chinese_wraps_by_characters_and_keeps_punctuation_off_line_starts() -> None:
    fnt = font(20)
    text = "你终于来了。我等了你整整三年，这三年里我每天都在想，你到底去了哪里？"
    lines = wrap_text(text, fnt, max_width=20 * 7)
    assert "".join(lines) == text
    assert len(lines) >= 4
    assert all(fnt.getlength(line) <= 20 * 8 for line in lines)  # at most one glued mark over
    assert all(line[0] not in NO_LINE_START for line in lines)


def test_english_wraps_by_words() -> None:
    fnt = font(20)
    text = "We need to talk about what happened that night at the harbour."
    lines = wrap_text(text, fnt, max_width=150)
    assert len(lines) > 2
    assert " ".join(lines) == text  # no word was cut in two
    assert all(fnt.getlength(line) <= 150 for line in lines)


def test_a_word_longer_than_the_line_is_broken() -> None:
    fnt = font(20)
    lines = wrap_text("https://example.invalid/averyveryverylongpath", fnt, max_width=100)
    assert len(lines) > 1
    assert "".join(lines) == "https://example.invalid/averyveryverylongpath"
    assert all(fnt.getlength(line) <= 100 for line in lines)


def test_mixed_chinese_and_english() -> None:
    fnt = font(20)
    lines = wrap_text("他说：OK，我们明天见 tomorrow morning。", fnt, max_width=120)
    assert "".join(lines).replace(" ", "") == "他说：OK，我们明天见tomorrowmorning。"
    assert all(line[0] not in NO_LINE_START for line in lines)


def test_spoken_line_joins_the_note_inside_the_safe_area() -> None:
    req = GenerationRequest(
        shot_id="s", prompt="", shot_label="1-1", scene_heading="第1场 夜 内 咖啡馆"
    )
    plain = render_header(req, 1080, 1920)
    short = render_header(req, 1080, 1920, SpokenLine("林雨", "好。"))
    long = render_header(req, 1080, 1920, SpokenLine("林雨", "这是一句非常非常长的台词，" * 12))
    assert plain is not None and short is not None and long is not None
    for note in (short, long):
        assert note.x >= round(1080 * 0.08) - 1
        assert note.x + note.image.width <= round(1080 * 0.85) + 1  # clear of the side buttons
        assert note.y + note.image.height < 1920 * 0.45  # far above the subtitle band
    assert plain.image.height < short.image.height < long.image.height
    assert render_header(req, 1080, 1920, SpokenLine("林雨", "   ")).image.size == plain.image.size


def test_lines_share_the_shot_by_length() -> None:
    starts = caption_schedule([SpokenLine("a", "短"), SpokenLine("b", "这一句要长得多得多")], 100)
    assert starts[0] == 0
    assert 20 < starts[1] < 50


# ---------------------------------------------------------------------------- heading


@pytest.mark.parametrize(
    ("heading", "time_of_day", "interior"),
    [
        ("第1场 夜 内 咖啡馆", "night", True),
        ("第2场 夜 外 街道", "night", False),
        ("1. 内景 咖啡馆 - 夜", "night", True),
        ("EXT. CITY STREET - DUSK", "dusk", False),
        ("INT. BIRTHDAY PARTY - NIGHT", "night", True),  # "day" inside "birthday" is not day
        ("5. 外景 海边 - 黎明", "dawn", False),
        ("内景 窗外", "day", True),  # "外" inside "窗外" is not exterior
        ("INT./EXT. CAR - DAY", "day", False),
    ],
)
def test_headings_are_read(heading: str, time_of_day: str, interior: bool) -> None:
    look = read_scene(heading)
    assert (look.time_of_day, look.interior) == (time_of_day, interior)


def test_same_place_same_set_whatever_the_time_or_scene_number() -> None:
    assert read_scene("第1场 夜 内 咖啡馆").seed == read_scene("第7场 日 内 咖啡馆").seed
    assert read_scene("第1场 夜 内 咖啡馆").seed != read_scene("第1场 夜 内 办公室").seed
    assert read_scene("3. 外景 公园 - 日").terrain == "nature"
    assert read_scene("5. 外景 海边 - 黎明").terrain == "water"
    assert read_scene("", "Night falls over the harbour.").time_of_day == "night"


# ----------------------------------------------------------------------------- camera


def test_ease_is_slow_at_both_ends() -> None:
    assert ease(0) == 0 and ease(1) == 1 and ease(0.5) == pytest.approx(0.5)
    assert ease(0.05) < 0.05 and ease(0.95) > 0.95


def test_parallax_orbit_opposite_track_same_way_near_moves_more() -> None:
    orbit = camera_path(CameraMove.ORBIT, 30, 24.0, seed=1)
    bg_move = orbit[-1][0].dx - orbit[0][0].dx
    fg_move = orbit[-1][1].dx - orbit[0][1].dx
    assert bg_move * fg_move < 0
    track = camera_path(CameraMove.TRACK, 30, 24.0, seed=1)
    bg_move = track[-1][0].dx - track[0][0].dx
    fg_move = track[-1][1].dx - track[0][1].dx
    assert bg_move * fg_move > 0 and abs(fg_move) > 2 * abs(bg_move)
    push = camera_path(CameraMove.PUSH_IN, 30, 24.0, seed=1)
    assert push[-1][1].zoom > push[-1][0].zoom > push[0][0].zoom == 1.0
    pull = camera_path(CameraMove.PULL_OUT, 30, 24.0, seed=1)
    assert pull[0][1].zoom > pull[-1][1].zoom == 1.0


def test_camera_windows_stay_inside_the_canvas() -> None:
    canvas, frame = (130, 234), (100, 180)
    for move in CameraMove:
        for bg, fg in camera_path(move, 40, 24.0, seed=3):
            for cam in (bg, fg):
                x0, y0, x1, y1 = cam.box(canvas, frame)
                assert -1e-9 <= x0 < x1 <= canvas[0] + 1e-9
                assert -1e-9 <= y0 < y1 <= canvas[1] + 1e-9
    # a zoom the canvas cannot give is limited, not an error
    x0, _, x1, _ = Camera(zoom=0.5).box(canvas, frame)
    assert (x0, x1) == (0, 130)


# ---------------------------------------------------------------------------- figures


def sheet(size=(300, 450), backdrop=((200, 220, 240), (120, 140, 170)), head_top=60) -> Image.Image:
    """A bust on a vertically graded backdrop, head off-centre to the right."""
    w, h = size
    t = np.linspace(0, 1, h)[:, None, None]
    top, bottom = np.array(backdrop[0]), np.array(backdrop[1])
    arr = (top + (bottom - top) * t) * np.ones((h, w, 3))
    img = Image.fromarray(arr.astype(np.uint8))
    draw = ImageDraw.Draw(img)
    draw.ellipse((150, head_top, 250, head_top + 130), fill=(240, 200, 170))
    draw.rounded_rectangle((90, head_top + 140, 300, h + 40), radius=40, fill=(30, 30, 40))
    return img.convert("RGBA")


def test_graded_backdrop_is_keyed_and_the_head_found() -> None:
    portrait = cut_out(sheet())
    alpha = np.asarray(portrait.image.getchannel("A"))
    assert alpha[5, 5] == 0 and alpha[440, 10] == 0  # backdrop, top and bottom of the grade
    assert alpha[120, 200] == 255 and alpha[400, 200] == 255  # face and body
    assert portrait.head_top == pytest.approx(60 / 450, abs=0.01)
    assert portrait.centre == pytest.approx(200 / 300, abs=0.02)


def test_busy_backdrop_becomes_a_card() -> None:
    img = sheet()
    arr = np.asarray(img).copy()
    arr[:, :40, :3] = np.random.default_rng(1).integers(0, 255, arr[:, :40, :3].shape)
    portrait = cut_out(Image.fromarray(arr))
    alpha = np.asarray(portrait.image.getchannel("A"))
    assert alpha[0, 0] == 0  # the rounded corner
    assert alpha[20, 150] == 255  # the backdrop is kept
    assert portrait.centre == 0.5


@pytest.mark.parametrize("size", list(ShotSize))
def test_framing_puts_the_face_where_the_shot_size_wants_it(size: ShotSize) -> None:
    portrait = cut_out(sheet())
    fig = frame_figure(portrait, size, 360, 640, centre_x=180)
    face_x = fig.x + fig.portrait.centre * fig.image.width
    assert face_x == pytest.approx(180, abs=1)  # the face, not the picture, is centred
    if size is ShotSize.EXTREME_CLOSE_UP:
        assert fig.head_y < 0  # the forehead is cut: eyes and mouth fill the frame
    else:
        assert 0 <= fig.head_y < 640 * 0.6
    # the figure reaches the ground line (wide) or runs past the frame's bottom (closer):
    # a bust is given a body rather than left floating
    bottom = fig.y + fig.image.height
    if size in (ShotSize.WIDE, ShotSize.EXTREME_WIDE):
        assert bottom == pytest.approx(FRAMING[size][3] * 640, abs=0.06 * 640)
        assert fig.portrait.whole
    else:
        assert bottom >= 640


def test_closer_shots_make_the_face_bigger() -> None:
    portrait = cut_out(sheet())
    order = [
        ShotSize.EXTREME_WIDE,
        ShotSize.WIDE,
        ShotSize.MEDIUM,
        ShotSize.MEDIUM_CLOSE_UP,
        ShotSize.CLOSE_UP,
        ShotSize.EXTREME_CLOSE_UP,
    ]
    figures = [frame_figure(portrait, s, 1080, 1920, 540) for s in order]
    head_px = [f.portrait.unit * f.image.width / f.portrait.image.width for f in figures]
    assert head_px == sorted(head_px)
    assert len(set(head_px)) == len(head_px)


def test_reference_choice_and_errors(tmp_path: Path) -> None:
    tall = tmp_path / "tall.png"
    square = tmp_path / "square.png"
    Image.new("RGB", (100, 250), (1, 2, 3)).save(tall)
    Image.new("RGB", (200, 200), (4, 5, 6)).save(square)
    wide_pick = choose_reference([square, tall], ShotSize.WIDE, "林雨")
    close_pick = choose_reference([tall, square], ShotSize.CLOSE_UP, "林雨")
    assert wide_pick is not None and wide_pick.size == (100, 250)
    assert close_pick is not None and close_pick.size == (200, 200)
    assert choose_reference([], ShotSize.WIDE, "林雨") is None
    with pytest.raises(MediaError, match="does not exist"):
        load_reference(tmp_path / "missing.png", "林雨")
    big = tmp_path / "big.png"
    Image.new("RGB", (4000, 1000), (9, 9, 9)).save(big)
    assert max(load_reference(big, "林雨").size) == 1600


@pytest.mark.parametrize(
    ("heading", "prop"),
    [
        ("第1场 夜 内 咖啡馆", "counter"),
        ("INT. OFFICE - DAY", "desk"),
        ("INT. HOSPITAL WARD - NIGHT", "bed"),
        ("内景 教室 - 日", "board"),
        ("第3场 日 内 林雨的公寓", "sofa"),
        ("INT. BARN - DAY", ""),  # "bar" is a whole word, not part of "barn"
        ("第2场 夜 外 街道", ""),  # props are for interiors
    ],
)
def test_the_place_brings_its_prop(heading: str, prop: str) -> None:
    assert read_scene(heading).prop == prop


def test_weather_comes_from_the_words_but_not_from_names() -> None:
    assert read_scene("第2场 夜 外 街道", "大雨中的街道").weather == "rain"
    assert read_scene("EXT. SCHOOL GATE - DAWN", "Snow falls.").weather == "snow"
    assert read_scene("第3场 日 内 林雨的公寓", "林雨推门进来", ("林雨",)).weather == ""
    assert read_scene("EXT. PARK - DAY", "A rainbow? No: the training ground.").weather == ""
