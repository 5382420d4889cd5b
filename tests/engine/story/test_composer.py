from __future__ import annotations

import re

import pytest

from engine.errors import StoryreelError
from engine.model import (
    CameraAngle,
    CameraMove,
    Character,
    DialogueLine,
    Language,
    Project,
    Scene,
    Setting,
    Shot,
    ShotSize,
    ShotStatus,
    TimeOfDay,
)
from engine.story.composer import (
    FAMILY_LIMITS,
    compose_negative,
    compose_parts,
    compose_prompt,
    estimate_tokens,
    recompose,
)

LIN = Character(name="林雨", gender="female", age="26", appearance="齐肩黑色长发，清秀的鹅蛋脸",
                costume="身穿米色风衣，白色衬衫")
CHEN = Character(name="陈默", gender="male", age="28", appearance="短发，下巴有胡茬",
                 costume="深灰色西装")
SCENE = Scene(number=1, location="咖啡馆", setting=Setting.INTERIOR, time_of_day=TimeOfDay.NIGHT)
# an English project: its T5 prompts are English sentences (a Chinese project's are Chinese)
PROJECT = Project(title="t", style="cinematic teal and orange grade", language=Language.ENGLISH)


def _shot(**kw) -> Shot:
    base = dict(scene_id=SCENE.id, size=ShotSize.CLOSE_UP, camera_move=CameraMove.PUSH_IN,
                action="林雨独自坐在窗边", characters=[LIN.id])
    base.update(kw)
    return Shot(**base)


def test_t5_prompt_has_every_part() -> None:
    prompt = compose_prompt(_shot(), SCENE, [LIN], PROJECT, "t5")
    for part in ("Close-up", "26-year-old woman", "齐肩黑色长发", "wearing 米色风衣",
                 "女子独自坐在窗边", "inside 咖啡馆", "night", "push-in",
                 "cinematic teal and orange grade"):
        assert part.lower() in prompt.lower(), part
    assert "林雨" not in prompt  # names mean nothing to a video model
    assert estimate_tokens(prompt, "t5") <= FAMILY_LIMITS["t5"]


def test_dialogue_and_over_the_shoulder() -> None:
    shot = _shot(size=ShotSize.MEDIUM_CLOSE_UP, angle=CameraAngle.OVER_THE_SHOULDER, action="",
                 characters=[CHEN.id, LIN.id],
                 dialogue=[DialogueLine("对不起。", character_id=CHEN.id, emotion="哽咽")])
    prompt = compose_prompt(shot, SCENE, [CHEN, LIN], PROJECT, "wan")
    assert prompt.startswith("Over-the-shoulder medium close-up of a 28-year-old man")
    assert "seen over the shoulder of a 26-year-old woman" in prompt
    assert "The man speaks choked with tears" in prompt
    assert "对不起" not in prompt  # spoken words are not drawn


def test_clip_prompt_fits_77_tokens_dropping_least_important_first() -> None:
    full = compose_prompt(_shot(), SCENE, [LIN, CHEN], PROJECT, "t5")
    clip = compose_prompt(_shot(), SCENE, [LIN, CHEN], PROJECT, "clip")
    assert estimate_tokens(clip, "clip") <= FAMILY_LIMITS["clip"]
    assert clip.lower().startswith("close-up")
    assert "齐肩黑色长发" in clip  # the subject's look is kept
    assert "film grain" not in clip  # quality words went first
    assert "film grain" in full


def test_long_parts_are_cut_between_words_never_inside() -> None:
    long_look = ", ".join(f"detail{i} wonderfully intricate embroidery" for i in range(60))
    model = Character(name="Ann", gender="female", age="30", appearance=long_look)
    shot = _shot(action="", characters=[model.id])
    for family in ("clip", "t5"):
        prompt = compose_prompt(shot, SCENE, [model], PROJECT, family)
        assert estimate_tokens(prompt, family) <= FAMILY_LIMITS[family]
        parts = compose_parts(shot, SCENE, [model], PROJECT, family)
        source_words = {w.lower() for p in parts
                        for w in re.findall(r"[A-Za-z0-9-]+", p.sep + p.text)}
        for word in re.findall(r"[A-Za-z0-9-]+", prompt):
            assert word.lower() in source_words, word
        assert "detail0 wonderfully intricate embroidery" in prompt


def test_long_chinese_clause_stays_within_t5_limit() -> None:
    look = "，".join(["一头乌黑亮丽的长发自然垂落在肩膀上"] * 60)
    c = Character(name="甲", gender="female", appearance=look)
    prompt = compose_prompt(_shot(characters=[c.id], action=""), SCENE, [c], PROJECT, "t5")
    assert estimate_tokens(prompt, "t5") <= FAMILY_LIMITS["t5"]
    assert "一头乌黑亮丽的长发自然垂落在肩膀上" in prompt
    # cut after a whole clause: what is left of the look is whole clauses only
    look_kept = prompt.split(" with ", 1)[1].split(", ")[0]
    assert all(c == "一头乌黑亮丽的长发自然垂落在肩膀上" for c in look_kept.split("，"))
    assert "inside 咖啡馆" in prompt.lower()  # the place is kept too


def test_negative_prompt_per_family_and_project_words() -> None:
    assert "最差质量" in compose_negative(PROJECT, "t5")
    assert "bad anatomy" in compose_negative(PROJECT, "clip")
    project = Project(settings={"negative_prompt": "no umbrellas"})
    assert compose_negative(project, "clip").startswith("No umbrellas")
    assert estimate_tokens(compose_negative(project, "clip"), "clip") <= FAMILY_LIMITS["clip"]


def test_unknown_family_is_refused() -> None:
    with pytest.raises(StoryreelError, match="Unknown prompt family"):
        compose_prompt(_shot(), SCENE, [LIN], PROJECT, "gpt")


def test_recompose_updates_prompt_keeps_override_marks_stale(project) -> None:
    lin = Character(name="林雨", gender="female", age="26", appearance="齐肩黑色长发")
    scene = Scene(number=1, location="咖啡馆")
    project.add(lin)
    project.add(scene)
    plain = Shot(scene_id=scene.id, order=0, characters=[lin.id], action="她笑了")
    overridden = Shot(scene_id=scene.id, order=1, characters=[lin.id],
                      prompt_override="my own prompt", status=ShotStatus.GENERATED)
    generated = Shot(scene_id=scene.id, order=2, characters=[lin.id], prompt="old",
                     status=ShotStatus.GENERATED)
    for s in (plain, overridden, generated):
        project.add(s)
    assert recompose(project) == 3
    plain_after = project.require(Shot, plain.id)
    assert "齐肩黑色长发" in plain_after.prompt and plain_after.negative_prompt
    over_after = project.require(Shot, overridden.id)
    assert over_after.prompt_override == "my own prompt"
    assert over_after.effective_prompt == "my own prompt"
    assert over_after.status is ShotStatus.GENERATED  # what it generates from did not change
    assert project.require(Shot, generated.id).status is ShotStatus.STALE
    # nothing changed → nothing rewritten
    assert recompose(project) == 0
    lin.appearance = "短发"
    project.update(lin)
    assert recompose(project, [plain.id]) == 1
    assert "短发" in project.require(Shot, plain.id).prompt
    assert "短发" not in project.require(Shot, generated.id).prompt
    with pytest.raises(StoryreelError, match="No shot"):
        recompose(project, ["nope"])


def test_english_intro_is_not_repeated_and_decades_read_naturally() -> None:
    maya = Character(name="MAYA", gender="female", age="30s", appearance="short black hair",
                     costume="denim jacket")
    shot = _shot(action="MAYA, 30s, short black hair, denim jacket, sits alone.",
                 characters=[maya.id], size=ShotSize.MEDIUM)
    scene = Scene(number=1, location="SUBWAY CAR", time_of_day=TimeOfDay.NIGHT)
    prompt = compose_prompt(shot, scene, [maya], PROJECT, "t5")
    assert prompt.startswith("Medium shot of a woman in her 30s with short black hair, "
                             "wearing denim jacket. The woman sits alone.")
    assert "inside subway car" in prompt.lower()
    assert prompt.count("short black hair") == 1
    clip = compose_prompt(shot, scene, [maya], PROJECT, "sdxl")
    assert "dolly in" in clip and ". " not in clip  # tags, not sentences


def test_a_chinese_project_prompts_wan_and_ltx_in_chinese_only() -> None:
    zh = Project(title="t", style="电影感青橙色调")
    shot = _shot(dialogue=[DialogueLine("对不起。", LIN.id, "哽咽")])
    prompt = compose_prompt(shot, SCENE, [LIN], zh, "wan")
    assert prompt.startswith("特写：一位26岁的女子，齐肩黑色长发")
    assert "身穿米色风衣" in prompt and "室内，咖啡馆" in prompt and "镜头缓慢推近主体" in prompt
    assert "女子独自坐在窗边" in prompt and "林雨" not in prompt
    assert not re.search(r"[A-Za-z]", prompt), prompt  # never "a 26-year-old woman with 长发"
    assert estimate_tokens(prompt, "t5") <= FAMILY_LIMITS["t5"]
    clip = compose_prompt(shot, SCENE, [LIN], zh, "sdxl")
    assert clip.lower().startswith("close-up")  # CLIP families read English tags


def test_a_chinese_projects_clip_prompts_use_english_looks_or_warn() -> None:
    from engine.story.composer import english_look_warning

    zh = Project(title="t", settings={"prompt_family": "sdxl"})
    shot = _shot()
    bare = compose_prompt(shot, SCENE, [LIN], zh, "sdxl")
    assert "齐肩" not in bare and "米色" not in bare  # no Chinese look in an English prompt
    warning = english_look_warning(zh, [LIN])
    assert "林雨" in warning and warning.count(".") == 1
    dressed = Character(name="林雨", gender="female", age="26", appearance="齐肩黑色长发",
                        costume="米色风衣", appearance_en="shoulder-length black hair",
                        costume_en="beige trench coat", id=LIN.id)
    clip = compose_prompt(shot, SCENE, [dressed], zh, "sdxl")
    assert "shoulder-length black hair" in clip and "wearing beige trench coat" in clip
    assert english_look_warning(zh, [dressed]) == ""
    assert english_look_warning(Project(title="t"), [LIN]) == ""  # t5: prompts are Chinese
