from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cli import main
from engine.errors import StoryreelError
from engine.model import (
    Character,
    LineKind,
    MediaAsset,
    MediaKind,
    Scene,
    Shot,
    ShotStatus,
    Take,
    TakeKind,
)
from engine.ops import story as story_ops

SAMPLES = Path(__file__).resolve().parents[3] / "assets" / "sample"



def import_script(store, path, **options):
    """The import operation's report (engine.ops.story.import_script)."""
    return story_ops.import_script(store, path, **options).result


def import_script_text(store, text, *args, **options):
    """The import operation's report (engine.ops.story.import_script_text)."""
    return story_ops.import_script_text(store, text, *args, **options).result


def plan(store, **options):
    """The plan operation's report (engine.ops.story.plan)."""
    return story_ops.plan(store, **options).result


def test_import_sample_chinese_script(project) -> None:
    report = import_script(project, SAMPLES / "script.txt")
    assert (report.format, report.title, report.scenes, report.characters) == (
        "chinese", "雨夜来电", 3, 2)
    assert report.shots == len(project.shots()) >= 15
    assert project.project.script_text.startswith("《雨夜来电》")
    lin = project.character_by_name("林雨")
    assert lin is not None and lin.gender == "female" and "米色风衣" in lin.costume
    scenes = project.scenes()
    assert [s.heading for s in scenes] == ["第1场 夜 内 咖啡馆", "第2场 夜 外 街道",
                                           "第3场 日 内 林雨的公寓"]
    # rain from the action lines (林雨's name has 雨 in it and does not count)
    assert [s.weather for s in scenes] == ["rain", "heavy rain, storm", ""]
    assert report.warnings == []
    shots = project.shots()
    assert all(s.prompt and s.negative_prompt for s in shots)
    assert all(s.duration >= 2.0 for s in shots)
    spoken = [d for s in shots for d in s.dialogue]
    assert any(d.character_id == lin.id and d.emotion == "冷笑" for d in spoken)
    assert any(s.narration for s in shots)
    assert any(d.kind is LineKind.OFF_SCREEN for d in spoken)
    total = sum(s.duration for s in shots)
    assert 60 <= total <= 90
    # one undo step takes the whole import back
    assert project.undo_label == "Import script"
    project.undo()
    assert project.shots() == [] and project.characters() == []


def test_reimport_merges_characters_keeps_locked(project) -> None:
    locked = Character(name="林雨", appearance="红色短发", costume="黑色皮衣", locked=True)
    project.add(locked)
    report = import_script(project, SAMPLES / "script.txt")
    assert report.characters_kept_locked == 1 and report.characters_added == 1
    kept = project.require(Character, locked.id)
    assert (kept.appearance, kept.costume) == ("红色短发", "黑色皮衣")
    # the user's look flows into the prompts
    lin_shots = [s for s in project.shots() if s.characters == [locked.id]]
    assert lin_shots and all("红色短发" in s.prompt for s in lin_shots)
    assert len(project.characters()) == 2

    # lock a shot, give another a take, then re-import an edited script
    shots = project.shots()
    mine = shots[3]
    mine.locked = True
    mine.prompt_override = "my framing"
    project.update(mine)
    taken = shots[1]
    project.add(MediaAsset(sha256="0" * 64, ext=".mp4", kind=MediaKind.VIDEO))
    take = Take(shot_id=taken.id, kind=TakeKind.ANIMATIC, media="0" * 64)
    project.add(take)
    taken.status = ShotStatus.GENERATED
    project.update(taken)
    scene_ids = {s.id for s in project.scenes()}
    text = (SAMPLES / "script.txt").read_text(encoding="utf-8").replace(
        "林雨独自坐在窗边", "林雨独自坐在吧台边")
    report = import_script_text(project, text)
    assert report.shots_kept_locked == 1
    assert {s.id for s in project.scenes()} == scene_ids  # scenes matched by number
    after = project.require(Shot, mine.id)
    assert after.locked and after.prompt_override == "my framing"
    assert after.order == mine.order and after.dialogue == mine.dialogue
    changed = project.require(Shot, taken.id)
    assert "吧台边" in changed.action
    assert changed.status is ShotStatus.STALE  # its take shows the old action
    assert project.takes(taken.id)  # and the take is still there
    assert len(project.shots()) == len(shots)


def test_removed_scene_is_reported_and_pruned_only_when_asked(project) -> None:
    text = "第1场 日 内 客厅\n甲：你好。\n\n第2场 夜 外 街道\n乙：再见。\n"
    import_script_text(project, text)
    second = project.scenes()[1]
    shot = project.shots(second.id)[0]
    report = import_script_text(project, "第1场 日 内 客厅\n甲：你好。\n")
    assert len(project.scenes()) == 2 and report.scenes_missing == ["2"]
    assert any("--prune" in w for w in report.warnings)
    shot.locked = True
    project.update(shot)
    report = import_script_text(project, "第1场 日 内 客厅\n甲：你好。\n", prune=True)
    assert len(project.scenes()) == 2
    assert any("Scene 2" in w and "locked" in w for w in report.warnings)
    shot.locked = False
    project.update(shot)
    report = import_script_text(project, "第1场 日 内 客厅\n甲：你好。\n", prune=True)
    assert [s.number for s in project.scenes()] == [1] and report.scenes_pruned == ["2"]


def test_encodings_and_formats(project, tmp_path: Path) -> None:
    gbk = tmp_path / "剧本.txt"
    gbk.write_bytes("第1场 日 内 客厅\n小王：早上好。\n".encode("gb18030"))
    report = import_script(project, gbk)
    assert report.format == "chinese" and project.character_by_name("小王") is not None
    fountain_txt = tmp_path / "script.txt"
    fountain_txt.write_text("INT. KITCHEN - DAY\n\nBOB\nHello.\n", encoding="utf-8")
    report = import_script(project, fountain_txt)
    assert report.format == "fountain"
    assert any("english" in w and "project language is chinese" in w for w in report.warnings)
    assert import_script(project, SAMPLES / "sample.fountain").title == "The Last Train"
    assert project.scenes()[1].setting == "EXT"


@pytest.mark.parametrize(("name", "data", "message"), [
    ("missing.txt", None, "does not exist"),
    ("empty.txt", b"  \n", "empty"),
    ("image.txt", b"\x89PNG\x00\x00", "binary"),
    ("notes.txt", "随便写点什么，没有场次。".encode(), "No scenes found"),
    ("script.docx", b"PK", "unsupported script type"),
])
def test_bad_files_get_one_clear_sentence(project, tmp_path: Path, name: str,
                                          data: bytes | None, message: str) -> None:
    path = tmp_path / name
    if data is not None:
        path.write_bytes(data)
    with pytest.raises(StoryreelError, match=message):
        import_script(project, path)
    assert project.all(Scene) == []


def test_cli_import_then_plan_none_shows_prompts(tmp_path: Path, capsys) -> None:
    project_dir = tmp_path / "demo.storyreel"
    assert main(["new", str(project_dir)]) == 0
    assert main(["import-script", str(project_dir), str(SAMPLES / "script.txt")]) == 0
    out = capsys.readouterr().out
    assert "3 scenes" in out and "2 characters" in out
    assert main(["plan", str(project_dir), "--llm", "none"]) == 0
    assert "with rules" in capsys.readouterr().out
    assert main(["info", str(project_dir), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["counts"]["scenes"] == 3 and info["counts"]["characters"] == 2
    shots = [sh for sc in info["scenes"] for sh in sc["shots"]]
    assert len(shots) == info["counts"]["shots"] >= 15
    assert all(sh["prompt"] for sh in shots)
    assert any("米色风衣" in sh["prompt"] for sh in shots)
    assert main(["script", "show", str(project_dir)]) == 0
    assert capsys.readouterr().out.startswith("《雨夜来电》")


def test_cli_errors_exit_2(tmp_path: Path, capsys) -> None:
    project_dir = tmp_path / "p.storyreel"
    main(["new", str(project_dir)])
    capsys.readouterr()
    assert main(["import-script", str(project_dir), str(tmp_path / "nope.txt")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["plan", str(project_dir), "--llm", "none"]) == 2
    assert "no script yet" in capsys.readouterr().err
    assert main(["plan", str(project_dir), "--llm", "none", "--idea", "两个人在雨夜重逢"]) == 2
    err = capsys.readouterr().err
    assert "needs a language model" in err and "Traceback" not in err


def test_plan_can_be_cancelled_before_anything_changes(project) -> None:
    from engine.errors import Cancelled
    from engine.jobs.progress import CancelToken

    import_script(project, SAMPLES / "script.txt")
    before = [(s.id, s.prompt) for s in project.shots()]
    token = CancelToken()
    seen: list[str] = []

    def progress(fraction: float, message: str = "") -> None:
        seen.append(message)
        if "scene 2" in message:
            token.cancel()

    with pytest.raises(Cancelled):
        plan(project, llm="none", progress=progress, cancel=token)
    assert [(s.id, s.prompt) for s in project.shots()] == before
    assert any("scene 1" in m for m in seen)


def test_replan_leaves_user_edits_of_scenes_and_characters(project) -> None:

    import_script(project, SAMPLES / "script.txt")
    scene = project.scenes()[0]
    scene.location = "街角咖啡馆"
    scene.lighting = "暖黄色台灯"
    project.update(scene)
    chen = project.character_by_name("陈默")
    assert chen is not None
    chen.appearance = "寸头，戴黑框眼镜"  # edited but not locked
    project.update(chen)
    plan(project, llm="none")
    assert project.require(Scene, scene.id).location == "街角咖啡馆"
    assert project.require(Character, chen.id).appearance == "寸头，戴黑框眼镜"
    first_scene_shots = project.shots(scene.id)
    assert any("暖黄色台灯" in s.prompt and "街角咖啡馆" in s.prompt for s in first_scene_shots)
    # importing the same script again changes nothing the user edited
    import_script(project, SAMPLES / "script.txt")
    assert project.require(Scene, scene.id).location == "街角咖啡馆"
    assert project.require(Character, chen.id).appearance == "寸头，戴黑框眼镜"
    # an edited script is a new source: what it changed is refreshed, the rest kept
    text = (SAMPLES / "script.txt").read_text(encoding="utf-8")
    heading = next(line for line in text.splitlines() if line.startswith("第1场"))
    edited = text.replace(heading, heading.replace("咖啡馆", "老咖啡馆"), 1)
    assert edited != text
    import_script_text(project, edited)
    assert project.require(Scene, scene.id).location == "老咖啡馆"
    assert project.require(Scene, scene.id).lighting == "暖黄色台灯"
    assert project.require(Character, chen.id).appearance == "寸头，戴黑框眼镜"
