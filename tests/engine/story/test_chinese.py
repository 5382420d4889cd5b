from __future__ import annotations

from pathlib import Path

import pytest

from engine.model import LineKind, Setting, TimeOfDay
from engine.story.chinese import parse_chinese, parse_scene_heading
from engine.story.script import BeatKind, parse_number

SAMPLE = Path(__file__).resolve().parents[3] / "assets" / "sample" / "script.txt"


def test_sample_script_characters_and_scenes() -> None:
    script = parse_chinese(SAMPLE.read_text(encoding="utf-8"))
    assert script.title == "雨夜来电"
    assert [c.name for c in script.characters] == ["林雨", "陈默"]
    lin = script.character("林雨")
    assert lin is not None
    assert (lin.gender, lin.age) == ("female", "26")
    assert "齐肩黑色长发" in lin.appearance and "风衣" not in lin.appearance
    assert "米色风衣" in lin.costume
    chen = script.character("陈默")
    assert chen is not None and chen.gender == "male" and "西装" in chen.costume
    assert len(script.scenes) == 3
    assert [(s.number, s.location, s.setting, s.time_of_day) for s in script.scenes] == [
        (1, "咖啡馆", Setting.INTERIOR, TimeOfDay.NIGHT),
        (2, "街道", Setting.EXTERIOR, TimeOfDay.NIGHT),
        (3, "林雨的公寓", Setting.INTERIOR, TimeOfDay.DAY),
    ]
    beats = script.scenes[0].beats
    assert beats[0].kind is BeatKind.ACTION and beats[0].text.startswith("雨水")
    assert (beats[1].speaker, beats[1].line_kind) == (None, LineKind.NARRATION)
    sneer = next(b for b in beats if b.emotion == "冷笑")
    assert (sneer.speaker, sneer.text) == ("林雨", "你终于肯来了。")
    street = script.scenes[1].beats
    assert any(b.speaker == "陈默" and b.line_kind is LineKind.OFF_SCREEN for b in street)
    home = script.scenes[2].beats
    assert any(b.speaker == "林雨" and b.line_kind is LineKind.VOICE_OVER for b in home)


FORMAT_B = """\
剧名：《逆袭千金》
人物表
苏晴（女，22岁）：瓜子脸，大眼睛，马尾辫。服装：白色连衣裙。性格：外柔内刚
顾北辰：男，三十岁，剑眉星目，身材高大，穿黑色风衣

1-1 日 外 豪门别墅门口
▲苏晴拖着行李箱站在门口。
顾北辰（冷漠）：你来干什么？
苏晴：（委屈）我来找我爸。
顾北辰笑道：你爸？
画外音：三年后，她会让所有人后悔。

1-2 夜 内 别墅客厅
时间：深夜
苏晴(OS)：我一定会回来的。
【闪回】
（苏晴小时候在花园里奔跑）
"""


def test_episode_scene_numbers_and_inline_tags() -> None:
    script = parse_chinese(FORMAT_B)
    assert script.title == "逆袭千金"
    su = script.character("苏晴")
    gu = script.character("顾北辰")
    assert su is not None and gu is not None
    assert (su.gender, su.age, su.costume, su.personality) == (
        "female", "22", "白色连衣裙", "外柔内刚")
    assert "瓜子脸" in su.appearance
    assert (gu.gender, gu.age) == ("male", "30")
    assert "黑色风衣" in gu.costume and "剑眉星目" in gu.appearance
    first, second = script.scenes
    assert (first.number, first.section, first.location, first.setting) == (
        1, "第1集", "豪门别墅门口", Setting.EXTERIOR)
    spoken = [(b.speaker, b.emotion, b.line_kind, b.text) for b in first.beats if b.is_line]
    assert spoken == [
        ("顾北辰", "冷漠", LineKind.DIALOGUE, "你来干什么？"),
        ("苏晴", "委屈", LineKind.DIALOGUE, "我来找我爸。"),
        ("顾北辰", "", LineKind.DIALOGUE, "你爸？"),  # "笑道" is a speech verb, not a name
        (None, "", LineKind.VOICE_OVER, "三年后，她会让所有人后悔。"),
    ]
    assert first.beats[0].text == "苏晴拖着行李箱站在门口。"
    assert second.time_of_day is TimeOfDay.NIGHT  # from 时间：深夜 (the heading says 夜 too)
    assert any(b.speaker == "苏晴" and b.line_kind is LineKind.OFF_SCREEN for b in second.beats)
    assert any(b.kind is BeatKind.TRANSITION and b.text == "闪回" for b in second.beats)
    assert second.beats[-1].kind is BeatKind.ACTION
    assert second.beats[-1].text == "苏晴小时候在花园里奔跑"


FORMAT_MD = """\
# 重生之我是总裁

**人物：** 王磊、小美

## 场景一：公司大堂 日 内

王磊推开玻璃门，大步走进来。

小美：王总，早上好！

王磊（内心独白）：今天，一切都会不一样。

## 场景二：天台 黄昏 外

△ 风很大。

王磊：我们谈谈。
"""


def test_markdown_and_scene_word_headings() -> None:
    script = parse_chinese(FORMAT_MD)
    assert script.title == "重生之我是总裁"
    assert [c.name for c in script.characters] == ["王磊", "小美"]
    assert [(s.number, s.location, s.setting, s.time_of_day) for s in script.scenes] == [
        (1, "公司大堂", Setting.INTERIOR, TimeOfDay.DAY),
        (2, "天台", Setting.EXTERIOR, TimeOfDay.DUSK),
    ]
    beats = script.scenes[0].beats
    assert beats[0].kind is BeatKind.ACTION  # a plain line without △ is action too
    assert (beats[1].speaker, beats[1].text) == ("小美", "王总，早上好！")
    assert beats[2].line_kind is LineKind.VOICE_OVER and beats[2].speaker == "王磊"


FORMAT_C = """\
第一场：夜 外 街道
人物：阿杰、小雨
阿杰：你别走！
第十二场 日内 医院走廊
小雨（哭）：我不想再见到你。
"""


def test_chinese_numerals_compact_tokens_and_scene_cast() -> None:
    script = parse_chinese(FORMAT_C)
    assert [s.number for s in script.scenes] == [1, 12]
    assert script.scenes[1].setting is Setting.INTERIOR
    assert script.scenes[1].time_of_day is TimeOfDay.DAY
    assert script.scenes[1].location == "医院走廊"
    assert {c.name for c in script.characters} == {"阿杰", "小雨"}
    # the scene's 人物 line is a cast list, not dialogue
    assert [b.speaker for b in script.scenes[0].beats] == ["阿杰"]


@pytest.mark.parametrize(("line", "expected"), [
    ("第1场 日 内 客厅", (1, "客厅", Setting.INTERIOR, TimeOfDay.DAY, "")),
    ("第二十三场 夜/外 江边", (23, "江边", Setting.EXTERIOR, TimeOfDay.NIGHT, "")),
    ("3-7 凌晨 内外 车内", (7, "车内", Setting.INTERIOR_EXTERIOR, TimeOfDay.DAWN, "3")),
    ("【第4场】 天台 傍晚 外", (4, "天台", Setting.EXTERIOR, TimeOfDay.DUSK, "")),
    ("场景五：书房", (5, "书房", None, TimeOfDay.UNSPECIFIED, "")),
    ("5. 咖啡厅 日 内", (5, "咖啡厅", Setting.INTERIOR, TimeOfDay.DAY, "")),
    ("第6场 客厅（日，内）", (6, "客厅", Setting.INTERIOR, TimeOfDay.DAY, "")),
    ("场景七：天台(夜/外)", (7, "天台", Setting.EXTERIOR, TimeOfDay.NIGHT, "")),
])
def test_scene_headings(line: str, expected: tuple) -> None:
    assert parse_scene_heading(line) == expected


@pytest.mark.parametrize("line", ["1. 她笑了起来，转身离开", "林雨：第1场戏", "2024年的冬天"])
def test_not_headings(line: str) -> None:
    assert parse_scene_heading(line) is None


@pytest.mark.parametrize(("text", "value"), [
    ("12", 12), ("十", 10), ("十二", 12), ("二十三", 23), ("一百零五", 105), ("两", 2),
    ("abc", None), ("", None),
])
def test_parse_number(text: str, value: int | None) -> None:
    assert parse_number(text) == value


FORMAT_SCREENPLAY = """\
人物：林雨、陈默

第1场 夜 内 咖啡馆
林雨
（冷笑）
你终于肯来了。
陈默：
我有话要说。
林雨（OS）
走吧。
旁白：
那一夜，谁都没有睡。
林雨站起身。
"""


def test_name_on_its_own_line_then_the_speech() -> None:
    script = parse_chinese(FORMAT_SCREENPLAY)
    beats = script.scenes[0].beats
    assert [(b.speaker, b.emotion, b.line_kind, b.text) for b in beats if b.is_line] == [
        ("林雨", "冷笑", LineKind.DIALOGUE, "你终于肯来了。"),
        ("陈默", "", LineKind.DIALOGUE, "我有话要说。"),
        ("林雨", "", LineKind.OFF_SCREEN, "走吧。"),
        (None, "", LineKind.NARRATION, "那一夜，谁都没有睡。"),
    ]
    assert beats[-1].kind is BeatKind.ACTION and beats[-1].text == "林雨站起身。"
