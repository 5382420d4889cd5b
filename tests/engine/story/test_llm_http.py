from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest

from engine.model import Character, Shot, ShotSize
from engine.ops import story as story_ops
from engine.story import llm as llm_module
from engine.story.llm import LLMError, OpenAICompatBackend, ask_json, extract_json
from engine.story.schemas import ScenePlanDraft

from .llm_server import FakeLLMServer

SAMPLES = Path(__file__).resolve().parents[3] / "assets" / "sample"

GOOD = {"shots": [{"beats": [0], "size": "WS", "angle": "eye-level", "camera_move": "static",
                   "characters": [], "action": "雨夜的咖啡馆"}]}



def import_script(store, path, **options):
    """The import operation's report (engine.ops.story.import_script)."""
    return story_ops.import_script(store, path, **options).result


def plan(store, **options):
    """The plan operation's report (engine.ops.story.plan)."""
    return story_ops.plan(store, **options).result


def _scene_reply(request: dict[str, Any], size: str = "CU") -> str:
    """A valid shot list for whatever scene the planner sent: one shot per beat."""
    user = request["messages"][1]["content"]
    beats = [int(n) for n in re.findall(r"^\[(\d+)\]", user, flags=re.MULTILINE)]
    names = re.findall(r"^- (\S+?):", user, flags=re.MULTILINE)
    shots = [{"beats": [], "size": "EWS", "angle": "high", "camera_move": "pan",
              "characters": [], "action": "establishing view"}]
    shots += [{"beats": [b], "size": size, "angle": "eye-level", "camera_move": "push-in",
               "characters": names[:1], "action": f"llm shot for beat {b}"} for b in beats]
    return json.dumps({"shots": shots}, ensure_ascii=False)


def test_extract_json_variants() -> None:
    assert extract_json('{"a": 1}') == {"a": 1}
    assert extract_json('Sure!\n```json\n{"a": 2}\n```\nEnjoy.') == {"a": 2}
    assert extract_json('<think>hmm {"no": </think>\n{"a": 3}') == {"a": 3}
    assert extract_json('Here you go: {"a": 4} hope it helps') == {"a": 4}
    with pytest.raises(ValueError, match="truncated"):
        extract_json('{"shots": [{"beats": [0], "size": "W')
    with pytest.raises(ValueError, match="no valid JSON"):
        extract_json("I cannot help with that.")


@pytest.mark.parametrize("style", ["plain", "fenced"])
def test_good_and_fenced_replies_with_json_schema(style: str) -> None:
    body = json.dumps(GOOD, ensure_ascii=False)
    content = body if style == "plain" else f"```json\n{body}\n```"
    with FakeLLMServer(lambda req: (200, content)) as server:
        backend = OpenAICompatBackend(server.base_url)
        result = ask_json(backend, ScenePlanDraft, "system", "user")
    assert result.shots[0].size == "WS" and result.shots[0].action == "雨夜的咖啡馆"
    request = server.requests[0]
    assert request["model"] == "tiny-test"  # picked from /v1/models
    schema = request["response_format"]["json_schema"]
    assert request["response_format"]["type"] == "json_schema" and schema["strict"] is True
    assert schema["schema"]["properties"]["shots"]["items"]["additionalProperties"] is False


def test_malformed_reply_gets_one_repair_retry_with_the_error() -> None:
    replies = ['{"shots": [{"beats": [0], "size": "HUGE"}]}', json.dumps(GOOD)]
    with FakeLLMServer(lambda req: (200, replies.pop(0))) as server:
        result = ask_json(OpenAICompatBackend(server.base_url), ScenePlanDraft, "s", "u")
    assert result.shots[0].size == "WS"
    assert len(server.requests) == 2
    repair = server.requests[1]["messages"]
    assert repair[-2]["role"] == "assistant" and "HUGE" in repair[-2]["content"]
    assert "not valid" in repair[-1]["content"] and "shots.0" in repair[-1]["content"]


def test_truncated_twice_is_a_clear_error() -> None:
    cut = json.dumps(GOOD)[:40]
    with FakeLLMServer(lambda req: (200, cut)) as server:
        backend = OpenAICompatBackend(server.base_url)
        with pytest.raises(LLMError, match="did not return a valid shot list.*truncated"):
            ask_json(backend, ScenePlanDraft, "s", "u", what="shot list")
    assert len(server.requests) == 2


def test_server_without_json_schema_gets_plain_json_prompt() -> None:
    def responder(request: dict[str, Any]) -> tuple[int, str]:
        if "response_format" in request:
            return 400, "response_format is not supported"
        return 200, "Here is the plan:\n" + json.dumps(GOOD)

    with FakeLLMServer(responder) as server:
        backend = OpenAICompatBackend(server.base_url, model="m1")
        assert ask_json(backend, ScenePlanDraft, "sys", "u").shots[0].size == "WS"
        assert ask_json(backend, ScenePlanDraft, "sys", "u").shots[0].size == "WS"
    # refused once, then remembered: plain requests only
    assert ["response_format" in r for r in server.requests] == [True, False, False]
    system = server.requests[1]["messages"][0]["content"]
    assert system.startswith("sys") and '"additionalProperties": false' in system


def test_unreachable_server_is_a_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(LLMError, match="Cannot reach"):
        OpenAICompatBackend(f"http://127.0.0.1:{port}/v1")


def test_plan_with_openai_backend_keeps_locked_shots(project) -> None:
    import_script(project, SAMPLES / "script.txt")
    shots = project.shots()
    mine = shots[2]
    mine.locked = True
    mine.size = ShotSize.EXTREME_CLOSE_UP
    project.update(mine)
    lin = project.character_by_name("林雨")
    assert lin is not None
    lin.locked = True
    lin.appearance = "用户改过的外貌"
    project.update(lin)
    with FakeLLMServer(lambda req: (200, _scene_reply(req))) as server:
        report = plan(project, llm="openai", base_url=server.base_url)
    assert report.backend.startswith("tiny-test at http://127.0.0.1")
    assert report.shots_kept_locked == 1 and report.scenes == 3
    assert len(server.requests) == 3  # one per scene
    after = project.shots()
    kept = project.require(Shot, mine.id)
    assert kept.locked and kept.size is ShotSize.EXTREME_CLOSE_UP
    assert kept.action == mine.action and kept.prompt == mine.prompt
    assert kept in after
    llm_made = [s for s in after if s.action.startswith("llm shot for beat")]
    assert llm_made and all(s.size is ShotSize.CLOSE_UP for s in llm_made)
    assert project.require(Character, lin.id).appearance == "用户改过的外貌"
    # dialogue lines of the script survive the LLM plan, none twice
    spoken = [d.text for s in after for d in s.dialogue]
    assert "你终于肯来了。" in spoken and len(spoken) == len(set(spoken))


def test_plan_from_idea_writes_script_then_shots(project) -> None:
    story = {
        "title": "雨夜", "logline": "分手三年的恋人在雨夜重逢。",
        "characters": [
            {"name": "林雨", "gender": "female", "age": 26, "appearance": "齐肩黑发",
             "costume": "米色风衣", "personality": "倔强"},
            {"name": "陈默", "gender": "male", "age": 28, "appearance": "短发胡茬",
             "costume": "灰色西装", "personality": "沉默"}],
        "scenes": [{"location": "咖啡馆", "setting": "INT", "time_of_day": "night", "beats": [
            {"kind": "action", "speaker": "", "emotion": "", "text": "雨打在窗上。"},
            {"kind": "narration", "speaker": "", "emotion": "", "text": "那年的雨很大。"},
            {"kind": "dialogue", "speaker": "林雨", "emotion": "冷笑", "text": "你来了。"},
            {"kind": "dialogue", "speaker": "陈默", "emotion": "", "text": "我来了。"}]}],
    }

    def responder(request: dict[str, Any]) -> tuple[int, str]:
        name = request["response_format"]["json_schema"]["name"]
        if name == "StoryDraft":
            return 200, json.dumps(story, ensure_ascii=False)
        return 200, _scene_reply(request, size="MS")

    with FakeLLMServer(responder) as server:
        report = plan(project, idea="两个旧情人在雨夜重逢", llm="openai",
                      base_url=server.base_url)
    assert report.logline == "分手三年的恋人在雨夜重逢。"
    assert "两个旧情人在雨夜重逢" in server.requests[0]["messages"][1]["content"]
    assert project.project.logline == report.logline
    text = project.project.script_text
    assert text.startswith("《雨夜》") and "第1场 夜 内 咖啡馆" in text
    assert "林雨（冷笑）：你来了。" in text
    lin = project.character_by_name("林雨")
    assert lin is not None and lin.costume.endswith("米色风衣") and lin.gender == "female"
    shots = project.shots()
    assert len(shots) == 5 and shots[0].size is ShotSize.EXTREME_WIDE
    assert any(s.narration == "那年的雨很大。" for s in shots)


def test_auto_uses_a_local_server_or_falls_back(project, monkeypatch) -> None:
    import_script(project, SAMPLES / "script.txt")
    with FakeLLMServer(lambda req: (200, _scene_reply(req))) as server:
        monkeypatch.setattr(llm_module, "LOCAL_SERVERS", ("http://127.0.0.1:9/v1",
                                                          server.base_url))
        report = plan(project, llm="auto")
    assert report.backend.startswith("tiny-test") and report.notices
    monkeypatch.setattr(llm_module, "LOCAL_SERVERS", ("http://127.0.0.1:9/v1",))
    report = plan(project, llm="auto")
    assert report.backend == "rules"
    assert "planning without an LLM" in report.notices[0]


def test_plan_from_idea_in_english_writes_fountain(tmp_path: Path) -> None:
    from engine.model import Language, Project
    from engine.store import ProjectStore

    story = {
        "title": "Last Train", "logline": "Two strangers share the last train.",
        "characters": [
            {"name": "Maya", "gender": "female", "age": 31, "appearance": "short black hair",
             "costume": "denim jacket", "personality": "wry"}],
        "scenes": [{"location": "subway car", "setting": "INT", "time_of_day": "night",
                    "beats": [
                        {"kind": "action", "speaker": "", "emotion": "", "text": "Maya sketches."},
                        {"kind": "narration", "speaker": "", "emotion": "", "text": "It was late."},
                        {"kind": "dialogue", "speaker": "Maya", "emotion": "softly",
                         "text": "Last one tonight."}]}],
    }

    def responder(request: dict[str, Any]) -> tuple[int, str]:
        if request["response_format"]["json_schema"]["name"] == "StoryDraft":
            assert "English" in request["messages"][0]["content"]
            return 200, json.dumps(story)
        return 200, _scene_reply(request)

    store = ProjectStore.create(tmp_path / "en.storyreel", Project(language=Language.ENGLISH))
    try:
        with FakeLLMServer(responder) as server:
            plan(store, idea="two strangers on a train", llm="openai", base_url=server.base_url)
        text = store.project.script_text
        assert text.startswith("Title: Last Train") and "INT. SUBWAY CAR - NIGHT" in text
        assert [c.name for c in store.characters()] == ["Maya"]  # narrator is not a character
        maya = store.characters()[0]
        assert (maya.age, maya.costume) == ("31", "denim jacket")
        shots = store.shots()
        assert any(s.narration == "It was late." for s in shots)
        assert any(d.text == "Last one tonight." and d.character_id == maya.id
                   for s in shots for d in s.dialogue)
    finally:
        store.close()
