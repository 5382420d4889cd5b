"""The rest of the series issue: import as one undoable operation, English looks for
CLIP-family prompts (set by hand, filled by the planner over a real HTTP server), the
scene's costume variant in English, and voicing one episode. Real project files, the
real CLI, a loopback OpenAI-compatible server."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from engine.cli import main
from engine.model import Character, Costume, Shot, ShotStatus, VoiceClip
from engine.ops import series
from engine.ops import story as story_ops
from engine.ops.addressing import resolve_scene
from engine.ops.base import OpError
from engine.ops.history import redo, undo
from engine.ops.takes import import_take
from engine.story.llm import LLMError
from tests.engine.story.llm_server import FakeLLMServer
from tests.engine.story.test_series import SERIES
from tests.media_factory import make_video


def _run(*argv: Any) -> int:
    return main([str(a) for a in argv])


def _snapshot(store: Any) -> Any:
    return ([(c.id, c.name, c.appearance_en, c.costume_en, c.version)
             for c in store.all(Character)],
            [(s.id, s.prompt, s.status, s.version) for s in store.all(Shot)],
            [(w.id, w.text, w.text_en) for w in store.all(Costume)])


# ----------------------------------------------------------------------------- import op
def test_import_is_one_logged_undoable_operation(project, tmp_path: Path) -> None:
    changes = story_ops.import_script_text(project, SERIES)
    entry = project.history(limit=1)[0]
    assert entry.seq == changes.seq and entry.op == "Import script"
    assert len(project.history()) == 1  # one step: episodes, cast, scenes, shots together
    report = changes.result
    assert (report.episodes, report.scenes, report.shots) == (2, 4, len(project.shots()))
    assert changes.touched("Shot") == {s.id for s in project.shots()}
    shots = sorted(s.id for s in project.shots())

    again = story_ops.import_script_text(project, SERIES)  # the same text: nothing changes
    assert again.empty and again.result.shots_kept == len(shots)
    assert len(project.history()) == 1

    undo(project)
    assert project.shots() == [] and project.scenes() == [] and project.characters() == []
    assert project.project.script_text == ""
    redo(project)
    assert sorted(s.id for s in project.shots()) == shots
    assert len(project.episodes()) == 2


def test_bad_import_is_one_sentence_and_changes_nothing(project, tmp_path: Path) -> None:
    story_ops.import_script_text(project, SERIES)
    before, seq = _snapshot(project), project.history(limit=1)[0].seq
    pdf = tmp_path / "script.pdf"
    pdf.write_text("第1场 日 内 客厅\n", encoding="utf-8")
    for call, message in (
            (lambda: story_ops.import_script(project, pdf), "unsupported script type"),
            (lambda: story_ops.import_script_text(project, SERIES, episode=0),
             "not an episode number"),
            (lambda: story_ops.import_script_text(project, SERIES, episode=2),
             "imports one episode"),
            (lambda: story_ops.import_script_text(project, "只是一句话，没有场景。"),
             "No scenes found")):
        with pytest.raises(Exception, match=message) as caught:
            call()
        assert "\n" not in str(caught.value)
    assert _snapshot(project) == before and project.history(limit=1)[0].seq == seq


def test_import_job_runs_the_operation(project, tmp_path: Path) -> None:
    from engine.jobs import kinds
    from engine.jobs.runner import LocalRunner

    script = tmp_path / "series.txt"
    script.write_text(SERIES, encoding="utf-8")
    runner = LocalRunner(project)
    job = runner.submit(kinds.IMPORT_SCRIPT, {"path": str(script)})
    assert runner.wait(timeout=120)
    row = project.get(type(job), job.id)
    assert row.status.value == "done", row.error
    assert row.result["report"]["scenes"] == 4, row.error
    assert row.result["seq"] == project.history(limit=1)[0].seq
    assert project.history(limit=1)[0].op == "Import script"


# ----------------------------------------------------------------------------- English looks
def _clip_series(project: Any) -> None:
    story_ops.import_script_text(project, SERIES)
    assert _run("project", "set", project.root, "--prompt-family", "clip") == 0


def test_english_fields_by_hand_reach_clip_prompts(project, capsys) -> None:
    _clip_series(project)
    su = project.character_by_name("苏晴")
    mine = [s for s in project.shots() if s.characters[:1] == [su.id]]
    assert mine and not any("长发" in s.prompt or "long black hair" in s.prompt for s in mine)
    assert _run("character", "set", project.root, "苏晴", "--appearance-en",
                "long black hair, oval face", "--costume-en", "beige trench coat") == 0
    for shot in mine:
        prompt = project.require(Shot, shot.id).prompt
        assert "with long black hair, oval face" in prompt
        assert "wearing beige trench coat" in prompt
        assert "长发" not in prompt and "米色风衣" not in prompt  # no Chinese looks mixed in
    capsys.readouterr()
    assert _run("character", "list", project.root, "--json") == 0
    row = next(r for r in json.loads(capsys.readouterr().out) if r["name"] == "苏晴")
    assert (row["appearance_en"], row["costume_en"]) == ("long black hair, oval face",
                                                         "beige trench coat")
    undo(project)
    assert project.require(Character, su.id).appearance_en == ""
    assert not any("long black hair" in s.prompt for s in project.shots())
    # a family name the composer does not know is one sentence, nothing changed
    assert _run("project", "set", project.root, "--prompt-family", "dalle") == 2
    assert "Unknown prompt family 'dalle'" in capsys.readouterr().err


def test_clip_prompts_wear_the_scenes_costume_variant_in_english(project, tmp_path) -> None:
    _clip_series(project)
    su = project.character_by_name("苏晴")
    series_ops_set = series.set_costume
    project_dir = project.root
    assert _run("character", "set", project_dir, "苏晴", "--costume-en",
                "beige trench coat") == 0
    clip = make_video(tmp_path / "take.mp4")
    for s in project.shots():
        import_take(project, s.id, clip)
    scene = resolve_scene(project, "E2 2")
    dressed = {s.id for s in project.shots(scene.id) if su.id in s.characters}
    assert dressed
    assert _run("character", "costume", project_dir, "苏晴", "黑色连衣裙", "--en",
                "black dress", "--scene", "E2 2") == 0
    stale = {s.id for s in project.shots() if s.status is ShotStatus.STALE}
    assert stale == dressed
    for s in project.shots():
        if su.id not in s.characters:
            continue
        expected = "wearing black dress" if s.id in dressed else "wearing beige trench coat"
        assert expected in s.prompt, s.prompt
        assert "黑色连衣裙" not in s.prompt
    # the Chinese text alone changes no CLIP prompt, so it marks nothing more stale
    variant = next(c for c in project.costumes(su.id) if c.scope_id == scene.id)
    series_ops_set(project, su.id, "scene", scene.id, "黑色长裙")
    assert project.require(Costume, variant.id).text_en == "black dress"
    assert {s.id for s in project.shots() if s.status is ShotStatus.STALE} == dressed
    # a variant without English leaves the costume out (never the default instead)
    series_ops_set(project, su.id, "scene", scene.id, None, costume_en="")
    for i in dressed:
        prompt = project.require(Shot, i).prompt
        assert "black dress" not in prompt and "beige trench coat" not in prompt
    with pytest.raises(OpError, match="Give the costume's text"):
        series_ops_set(project, su.id, "scene", scene.id, None)


PINYIN = {"苏晴": "su qing", "妈妈": "mother", "陈默": "chen mo"}


def _looks_reply(request: dict[str, Any], bad: bool = False) -> str:
    user = request["messages"][1]["content"]
    keys = re.findall(r"^- (.+?): ", user, flags=re.MULTILINE)
    items = []
    for key in keys:
        if key.startswith("costume "):
            items.append({"key": key, "appearance_en": "", "costume_en": f"{key} in english"})
        else:
            line = next(ln for ln in user.splitlines() if ln.startswith(f"- {key}: "))
            items.append({"key": key,
                          "appearance_en": "长发" if bad else f"looks of {PINYIN[key]}",
                          "costume_en": "" if "costume: (none)" in line
                          else f"clothes of {PINYIN[key]}"})
    return json.dumps({"items": items}, ensure_ascii=False)


def _scene_reply(request: dict[str, Any]) -> str:
    user = request["messages"][1]["content"]
    beats = [int(n) for n in re.findall(r"^\[(\d+)\]", user, flags=re.MULTILINE)]
    names = re.findall(r"^- (\S+?):", user, flags=re.MULTILINE)  # the scene's cast
    return json.dumps({"shots": [{"beats": [b], "size": "MS", "angle": "eye-level",
                                  "camera_move": "static", "characters": names[:2],
                                  "action": f"beat {b}"} for b in beats]},
                      ensure_ascii=False)


def _responder(bad: bool = False):
    def respond(request: dict[str, Any]) -> tuple[int, str]:
        name = request["response_format"]["json_schema"]["name"]
        if name == "LooksDraft":
            return 200, _looks_reply(request, bad)
        return 200, _scene_reply(request)
    return respond


def test_planner_fills_the_english_looks_over_http(project) -> None:
    _clip_series(project)
    su, chen = project.character_by_name("苏晴"), project.character_by_name("陈默")
    scene = resolve_scene(project, "E1 1")
    series.set_costume(project, su.id, "scene", scene.id, "红色睡衣")
    with FakeLLMServer(_responder()) as server:
        changes = story_ops.plan(project, llm="openai", base_url=server.base_url)
    looks = [r for r in server.requests
             if r["response_format"]["json_schema"]["name"] == "LooksDraft"]
    assert len(looks) == 1
    sent = looks[0]["messages"][1]["content"]
    assert "长发" in sent and "红色睡衣" in sent and "苏晴" in sent
    assert project.require(Character, su.id).appearance_en == "looks of su qing"
    assert project.require(Character, su.id).costume_en == "clothes of su qing"
    assert project.require(Character, chen.id).appearance_en == "looks of chen mo"
    variant = project.costumes(su.id)[0]
    assert variant.text_en == "costume 1 in english"
    assert project.history(limit=1)[0].seq == changes.seq  # saved with the plan, one step
    in_scene = [s for s in project.shots(scene.id) if su.id in s.characters]
    assert in_scene and all("wearing costume 1 in english" in s.prompt for s in in_scene)
    elsewhere = [s for s in project.shots() if s.scene_id != scene.id
                 and su.id in s.characters]
    assert elsewhere and all("wearing clothes of su qing" in s.prompt for s in elsewhere)
    # planned again: every English field is set, so the model is not asked again
    with FakeLLMServer(_responder()) as server:
        story_ops.plan(project, llm="openai", base_url=server.base_url)
    assert not any(r["response_format"]["json_schema"]["name"] == "LooksDraft"
                   for r in server.requests)


def test_planner_refuses_chinese_in_english_looks_and_changes_nothing(project) -> None:
    _clip_series(project)
    before, seq = _snapshot(project), project.history(limit=1)[0].seq
    with FakeLLMServer(_responder(bad=True)) as server, \
            pytest.raises(LLMError, match="did not return a valid English looks") as caught:
        story_ops.plan(project, llm="openai", base_url=server.base_url)
    assert "not English" in str(caught.value) and "\n" not in str(caught.value)
    looks = [r for r in server.requests
             if r["response_format"]["json_schema"]["name"] == "LooksDraft"]
    assert len(looks) == 2  # one repair retry quoting the error
    assert _snapshot(project) == before and project.history(limit=1)[0].seq == seq


def test_t5_projects_ask_no_english_looks(project) -> None:
    story_ops.import_script_text(project, SERIES)
    with FakeLLMServer(_responder()) as server:
        story_ops.plan(project, llm="openai", base_url=server.base_url)
    assert {r["response_format"]["json_schema"]["name"] for r in server.requests} == {
        "ScenePlanDraft"}


def test_a_shot_size_word_opening_a_line_is_not_a_speaker(project) -> None:
    text = ("第1集\n第1场 夜 内 厨房\n近景：爸爸在灶台前煮面。\n全景：厨房里只有一盏灯。\n"
            "林雨：爸，我来吧。\n")
    report = story_ops.import_script_text(project, text).result
    assert sorted(c.name for c in project.characters()) == ["林雨"]
    assert report.characters == 1
    sizes = [(s.size.value, s.action) for s in project.shots() if s.action]
    assert ("MCU", "爸爸在灶台前煮面。") in sizes and ("WS", "厨房里只有一盏灯。") in sizes
    story_ops.import_script_text(project, text + "林雨（画外音）：那天我没有回头。\n")
    heard = [s for s in project.shots() if any(d.text == "那天我没有回头。" for d in s.dialogue)]
    assert heard and heard[0].action == "林雨的声音从画外传来"  # no space inside Chinese


# ----------------------------------------------------------------------------- voice
def test_voice_one_episode(project, capsys) -> None:
    story_ops.import_script_text(project, SERIES)
    capsys.readouterr()
    assert _run("voice", project.root, "--episode", "2", "--json") == 0
    episode2 = {sc.id for sc in project.scenes(project.episode_by_number(2).id)}
    voiced = {c.shot_id for c in project.all(VoiceClip)}
    spoken = {s.id for s in project.shots() if s.dialogue or s.narration}
    assert voiced and voiced == {s for s in spoken if project.require(Shot, s).scene_id
                                 in episode2}
    assert _run("voice", project.root, "--episode", "5") == 2
    assert "There is no episode 5" in capsys.readouterr().err
    assert {c.shot_id for c in project.all(VoiceClip)} == voiced
