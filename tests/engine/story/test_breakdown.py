from __future__ import annotations

from pathlib import Path

from engine.model import CameraAngle, CameraMove, LineKind, ShotSize
from engine.story.breakdown import breakdown, breakdown_scene
from engine.story.chinese import parse_chinese
from engine.story.fountain import parse_fountain
from engine.story.script import MIN_SHOT_SECONDS, speech_seconds

SAMPLE = Path(__file__).resolve().parents[3] / "assets" / "sample" / "script.txt"

SCENE = """\
人物：
林雨：女，26岁
陈默：男，28岁

第1场 夜 内 咖啡馆
△ 雨夜，咖啡馆里空无一人。
旁白：那一年的雨，下得格外漫长。
△ 林雨坐在窗边。
△ 陈默推门而入。
林雨：你来了。
陈默：我有很多话，想在今天晚上，一次都跟你说清楚，你愿意听吗？
林雨（愤怒）：你凭什么现在才回来？
△ 特写：她握紧咖啡杯的手。
陈默（OS）：对不起。
"""


def _scene():
    script = parse_chinese(SCENE)
    return script, script.scenes[0]


def test_establishing_then_one_shot_per_beat_and_exchange() -> None:
    script, scene = _scene()
    shots = breakdown_scene(script, scene)
    first = shots[0]
    assert first.size is ShotSize.WIDE and first.beats[:2] == [0, 1]  # opening action + narration
    assert first.narration == "那一年的雨，下得格外漫长。"
    assert first.characters == []
    # every beat lands in exactly one shot, in order
    covered = [b for s in shots for b in s.beats]
    assert covered == list(range(len(scene.beats)))
    sizes = [s.size for s in shots]
    assert sizes[1] is ShotSize.MEDIUM and shots[1].characters == ["林雨"]
    assert shots[2].camera_move is CameraMove.TRACK  # 推门而入: movement


def test_dialogue_grammar_two_shot_reverse_close_up() -> None:
    script, scene = _scene()
    shots = breakdown_scene(script, scene)
    talk = [s for s in shots if s.lines and s.lines[0].kind is LineKind.DIALOGUE]
    first, reverse, angry = talk
    assert first.size is ShotSize.MEDIUM and set(first.characters) == {"林雨", "陈默"}
    assert reverse.angle is CameraAngle.OVER_THE_SHOULDER and reverse.characters[0] == "陈默"
    assert angry.size is ShotSize.CLOSE_UP and angry.camera_move is CameraMove.PUSH_IN
    detail = next(s for s in shots if "咖啡杯的手" in s.action)
    assert detail.action == "她握紧咖啡杯的手。"  # the size word sets the size, leaves the prompt
    assert detail.size is ShotSize.CLOSE_UP and detail.characters == ["林雨"]  # 她 → 林雨
    off = shots[-1]
    assert off.lines[0].kind is LineKind.OFF_SCREEN and "陈默" not in off.characters
    assert off.characters == ["林雨"]  # we see the listener


def test_durations_follow_the_words_with_a_floor() -> None:
    script, scene = _scene()
    shots = breakdown_scene(script, scene)
    for shot in shots:
        assert shot.duration >= MIN_SHOT_SECONDS
        spoken = sum(speech_seconds(ln.text) for ln in shot.lines)
        assert shot.duration >= spoken
    long_line = next(s for s in shots if s.lines and s.lines[0].text.startswith("我有很多话"))
    chars = len("我有很多话想在今天晚上一次都跟你说清楚你愿意听吗")
    assert long_line.duration >= chars / 4.0
    assert long_line.duration > shots[3].duration  # 你来了 is short


def test_english_duration_words_per_second() -> None:
    text = "\n".join([
        "INT. OFFICE - DAY", "", "ANNA",
        "I have been waiting for this moment for twenty long years and now it is here.", "",
    ])
    script = parse_fountain(text)
    shots = breakdown_scene(script, script.scenes[0])
    words = 16
    assert shots[-1].duration >= words / 2.5
    assert shots[-1].duration < words / 2.5 + 2.0


def test_sample_script_runs_about_a_minute_or_more() -> None:
    script = parse_chinese(SAMPLE.read_text(encoding="utf-8"))
    plans = breakdown(script)
    total = sum(s.duration for scene in plans for s in scene)
    assert 60 <= total <= 90
    assert all(plans)
    exterior = plans[1][0]
    assert exterior.size is ShotSize.EXTREME_WIDE
