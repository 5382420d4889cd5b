from __future__ import annotations

from pathlib import Path

import numpy as np
import pysubs2
import pytest

from engine.audio import tts, voices
from engine.interchange.subtitles import (
    FONT_NAME,
    Cue,
    TimedLine,
    display_width,
    make_cues,
    render_cue,
    safe_layout,
    wrap,
    write_ass,
    write_srt,
)
from engine.model import Character, DialogueLine, Scene, Shot, VoiceClip, VoiceProfile

LONG_ZH = ("那天晚上，我一个人在雨里等了你整整三个小时，"
           "你却连一个电话都没有打给我！你到底还在乎不在乎我？")
LONG_EN = ("I waited for you in the rain for three whole hours, and you never even called me. "
           "Do you still care about me at all?")


@pytest.mark.parametrize("text", [
    "你为什么现在才来？我等了你整整一个晚上，你知道吗？",
    "我等了你整整一个晚上你知道吗我真的很生气真的。",
    "他说：“OK，我们明天10点见。”然后就走了，再也没有回来过。",
])
def test_chinese_breaks_by_characters(text: str) -> None:
    for aspect, limit in (("9:16", 16), ("16:9", 20)):
        lines = wrap(text, "zh", aspect)
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
        assert all(display_width(ln, "zh") <= limit for ln in lines)
        assert not any(ln[0] in "，。！？、；：”" for ln in lines)  # no line opens on punctuation
    assert wrap("短句。", "zh", "9:16") == ["短句。"]


def test_english_breaks_by_words() -> None:
    lines = wrap(LONG_EN, "en", "16:9")
    assert len(lines) > 1 and all(len(ln) <= 42 for ln in lines)
    assert " ".join(lines) == LONG_EN  # whole words, nothing lost
    assert all(len(ln) <= 32 for ln in wrap(LONG_EN, "en", "9:16"))
    # balanced: two lines of similar length rather than a full line and a stub
    two = wrap("We should leave before the storm reaches the harbour.", "en", "16:9")
    assert len(two) == 2 and abs(len(two[0]) - len(two[1])) < 15


@pytest.mark.parametrize("language,text", [("zh", LONG_ZH), ("en", LONG_EN)])
def test_long_line_splits_at_punctuation_on_tts_timings(language: str, text: str) -> None:
    clip = tts.synthesize(text, VoiceProfile(), language)
    start = 12.345
    line = TimedLine(text, start, start + clip.duration, clip.timings, language, "林夏")
    cues = make_cues([line], language, "9:16")
    assert len(cues) >= 2
    assert cues[0].start == start and cues[-1].end == start + clip.duration
    for a, b in zip(cues, cues[1:], strict=False):
        assert a.end == b.start  # continuous
        # every split lands after punctuation, and on a TTS word/character start
        head = b.text.replace("\n", " " if language == "en" else "")[:4]
        assert text[: text.index(head)].rstrip()[-1] in "，。！？,.!?"
        if language == "zh":  # Chinese subtitles drop a line's trailing 。，
            assert a.text.replace("\n", "")[-1] not in "，。"
        first_word = b.text.replace("\n", " ").split()[0][:1]
        assert any(abs(start + t["start"] - b.start) < 1e-9 and t["text"].startswith(first_word)
                   for t in clip.timings)
    limit = 16 if language == "zh" else 32
    for cue in cues:
        rows = cue.text.split("\n")
        assert len(rows) <= 2 and all(display_width(r, language) <= limit for r in rows)
        assert cue.speaker == "林夏"


def test_cues_match_voice_clips_to_the_millisecond(project, tmp_path: Path) -> None:
    her = project.add(Character("林夏", gender="女"))
    scene = project.add(Scene(number=1))
    shots = [project.add(Shot(scene_id=scene.id, order=i, duration=1.0, dialogue=[
        DialogueLine(t, her.id)])) for i, t in enumerate(["你终于来了。", "我们走吧，快下雨了。"])]
    voices.synthesize_project(project)
    clips = voices.clips_by_shot(project)
    lines = []
    t0 = 0.0
    for shot in project.shots():
        for place in voices.line_layout(shot, clips[shot.id]):
            clip = next(c for c in clips[shot.id] if c.line_index == place.line_index)
            lines.append(TimedLine(clip.text, t0 + place.offset, t0 + place.offset + clip.duration,
                                   clip.timings, "zh", her.name))
        t0 += shot.duration
    cues = make_cues(lines, "zh", "9:16")
    assert len(cues) == len(shots) == 2
    srt = write_srt(cues, tmp_path / "film.srt")
    parsed = pysubs2.load(str(srt))
    for event, line in zip(parsed, lines, strict=True):
        assert event.start == round(line.start * 1000)
        # a short line stays up into the silence after it, so it can be read
        assert event.end >= round(line.end * 1000)
        assert event.end - event.start >= 800
        assert event.plaintext == line.text.rstrip("。")
    assert isinstance(project.all(VoiceClip)[0].duration, float)


def test_srt_and_ass_parse_back(tmp_path: Path) -> None:
    cues = [Cue(0.5, 2.25, "你为什么现在才来？", "林夏"),
            Cue(2.5, 4.0, "路上出了点事，\n对不起。", "陈默"),
            Cue(61.001, 63.999, "Line with a comma, and more.")]
    srt = pysubs2.load(str(write_srt(cues, tmp_path / "a.srt")))
    assert [(e.start, e.end) for e in srt] == [(500, 2250), (2500, 4000), (61001, 63999)]
    assert srt[1].plaintext == "路上出了点事，\n对不起。"
    ass_path = write_ass(cues, tmp_path / "a.ass", 1080, 1920)
    ass = pysubs2.load(str(ass_path))
    assert len(ass) == 3 and ass[0].name == "林夏"
    style = ass.styles["Default"]
    assert style.fontname == FONT_NAME and style.bold and style.outline > 0
    assert ass.info["PlayResX"] == "1080" and ass.info["PlayResY"] == "1920"
    assert style.marginv >= 0.2 * 1920 and style.marginr >= 0.15 * 1080
    assert ass[1].plaintext == "路上出了点事，\n对不起。"


@pytest.mark.parametrize("size", [(1080, 1920), (540, 960), (1920, 1080)])
def test_burned_cue_stays_in_the_safe_area(size: tuple[int, int]) -> None:
    width, height = size
    img = render_cue("那天晚上，我一个人在雨里等了你\n整整三个小时", width, height)
    assert img.mode == "RGBA" and img.size == size
    alpha = np.asarray(img)[..., 3]
    rows = np.nonzero(alpha.max(axis=1))[0]
    cols = np.nonzero(alpha.max(axis=0))[0]
    assert len(rows) and len(cols)
    if height > width:  # 9:16: above the bottom 20 %, left of the right 15 %
        assert rows.max() < 0.8 * height and cols.max() < 0.85 * width
        assert cols.min() > 0.03 * width
    assert rows.min() > 0.5 * height  # lower half
    rgb = np.asarray(img)[..., :3][alpha > 200]
    assert (rgb.min(axis=1) > 240).mean() > 0.2  # white text...
    assert (rgb.max(axis=1) < 60).mean() > 0.1  # ...with a dark outline
    # cached drawing, fresh frame each call
    again = render_cue("那天晚上，我一个人在雨里等了你\n整整三个小时", width, height)
    assert again is not img and np.array_equal(np.asarray(again), np.asarray(img))


def test_layout_and_bad_lines_are_refused() -> None:
    from engine.errors import StoryreelError

    portrait = safe_layout(1080, 1920)
    assert 16 * portrait.font_size <= portrait.text_width(1080)
    with pytest.raises(StoryreelError, match="ends before it starts"):
        make_cues([TimedLine("你好", 3.0, 2.0)], "zh", "9:16")
    assert make_cues([TimedLine("   ", 0.0, 1.0)], "zh", "9:16") == []


JIEBA_TEXTS = ["我在这里等待了你整整一个晚上，每一分钱都是我辛辛苦苦赚来的血汗钱！",
               "你根本不知道我为了这个家付出了多少心血和青春，你还想怎么样？",
               "医院的走廊里安安静静的，只有仪器滴滴答答的声音陪着她一个人。"]


@pytest.mark.parametrize("text", JIEBA_TEXTS)
def test_chinese_lines_break_between_jieba_words(text: str) -> None:
    import jieba

    bounds, pos = {0}, 0
    for w in jieba.lcut(text):
        pos += len(w)
        bounds.add(pos)
    for aspect in ("9:16", "16:9"):
        lines = wrap(text, "zh", aspect)
        assert len(lines) > 1 and "".join(lines) == text
        pos = 0
        for ln in lines[:-1]:
            pos += len(ln)
            assert pos in bounds, f"break inside a word at {text[pos - 2:pos + 2]!r}"


def test_short_cues_are_lengthened_or_merged_and_read_slowly_enough() -> None:
    lines = [TimedLine("对。", 1.0, 1.233, [], "zh", "林夏"),  # 233 ms, silence after
             TimedLine("我早就知道你会这样对我，从一开始就知道。", 3.0, 4.2, [], "zh", "林夏"),
             TimedLine("嗯。", 6.0, 6.2, [], "zh", "陈默"),
             TimedLine("走吧。", 6.2, 6.5, [], "zh", "陈默")]  # touching: no silence between
    cues = make_cues(lines, "zh", "16:9")
    assert all(c.end - c.start >= 0.8 - 1e-9 for c in cues)
    assert cues[0].start == 1.0 and cues[0].text == "对"
    long = next(c for c in cues if c.text.startswith("我早就"))
    chars = sum(1 for ch in long.text if "\u4e00" <= ch <= "\u9fff")
    assert chars / (long.end - long.start) <= 9.0 + 1e-6  # read in the silence after it
    assert long.start == 3.0
    # 嗯 and 走吧 touch each other: merged into one readable cue
    last = cues[-1]
    assert last.text == "嗯。走吧" and 5.7 <= last.start <= 6.0 and last.end - last.start >= 0.8
    for a, b in zip(cues, cues[1:], strict=False):
        assert a.end <= b.start + 1e-9  # never over a neighbour


def test_trailing_marks_and_speaker_names() -> None:
    lines = [TimedLine("你为什么现在才来？", 0.0, 2.0, [], "zh", "林夏"),
             TimedLine("路上出了点事，", 2.5, 4.0, [], "zh", "陈默")]
    plain = make_cues(lines, "zh", "16:9")
    assert [c.text for c in plain] == ["你为什么现在才来？", "路上出了点事"]
    named = make_cues(lines, "zh", "16:9", speaker_names=True)
    assert [c.text for c in named] == ["林夏：你为什么现在才来？", "陈默：路上出了点事"]
    en = make_cues([TimedLine("Where were you?", 0.0, 1.5, [], "en", "Lin")], "en", "16:9",
                   speaker_names=True)
    assert en[0].text == "Lin: Where were you?"
