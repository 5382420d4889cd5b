"""A project is a series: episodes, per-episode scene numbers and labels, re-import that
never duplicates, locations shared across episodes, wardrobe per scene/episode, and the
right people in frame. Real script text, real project files, the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cli import main
from engine.errors import StoryreelError
from engine.model import Character, Episode, Location, Scene, Shot, ShotSize, ShotStatus
from engine.ops import series
from engine.ops import story as story_ops
from engine.ops.addressing import resolve_scene, resolve_shot, shot_labels
from engine.ops.base import OpError
from engine.ops.takes import approve_take, import_take
from engine.story.breakdown import breakdown_scene
from engine.story.chinese import parse_chinese
from engine.story.fountain import parse_fountain
from tests.media_factory import make_image, make_video

SERIES = """《逆光》

人物：
苏晴：女，二十六岁，长发，穿米色风衣。
妈妈：女，五十岁，苏晴的母亲，烫卷发。
陈默：男，二十八岁，短发。

第1集：重逢
第1场 日 内 客厅
△苏晴推门进来，看见妈妈坐在沙发上。
妈妈：你终于回来了。
苏晴：妈，我回来了。

第2场 夜 外 街道
△陈默站在路灯下，低头看手机。
陈默：她会来吗？

第2集 真相
第1场 日 内 客厅
△屏幕上显示"妈妈"两个字。
苏晴（OS）：我该不该接？
妈妈：晴晴，是我。

第2场 夜 内 咖啡馆
特写：苏晴的眼泪落在桌上。
陈默：对不起。
"""

FOUNTAIN = """Title: Night Shift

# Episode 1: Arrival

INT. DINER - NIGHT

MAYA, 30s, paint-stained denim jacket, wipes the counter.

MAYA
We're closed.

EXT. PARKING LOT - NIGHT

Rain. A car idles.

# Episode 2: The Letter

INT. DINER - NIGHT

CLOSE ON a letter. It reads "SON".

MAYA
Who sent this?
"""



def import_script(store, path, **options):
    """The import operation's report (engine.ops.story.import_script)."""
    return story_ops.import_script(store, path, **options).result


def import_script_text(store, text, *args, **options):
    """The import operation's report (engine.ops.story.import_script_text)."""
    return story_ops.import_script_text(store, text, *args, **options).result


def _run(*argv: str) -> int:
    return main([str(a) for a in argv])


def test_chinese_series_has_episodes_scene_numbers_and_labels(project) -> None:
    report = import_script_text(project, SERIES)
    assert report.episodes == 2 and report.scenes == 4
    episodes = project.episodes()
    assert [(e.number, e.title) for e in episodes] == [(1, "重逢"), (2, "真相")]
    scenes = project.scenes()
    assert [(project.require(Episode, s.episode_id).number, s.number) for s in scenes] == [
        (1, 1), (1, 2), (2, 1), (2, 2)]
    labels = shot_labels(project)
    ep2_first = project.shots(scenes[2].id)
    assert labels[ep2_first[0].id] == "E2 1-1"
    # every spelling of an address names the same shot; a plain 1-1 is ambiguous
    for address in ("E2 1-1", "2:1-1", "e2-1-1", "E2:1-1"):
        assert resolve_shot(project, address).id == ep2_first[0].id
    with pytest.raises(OpError, match=r"more than one episode \(E1 1-1, E2 1-1\)"):
        resolve_shot(project, "1-1")
    assert resolve_scene(project, "E2 2").id == scenes[3].id
    # the same place in both episodes is one location
    (living_room,) = project.all(Location, name="客厅")
    assert {s.location_id for s in project.scenes() if s.location == "客厅"} == {living_room.id}
    assert len(project.locations()) == 3


def test_fountain_series_sections_start_episodes() -> None:
    script = parse_fountain(FOUNTAIN)
    assert [(e.number, e.title) for e in script.episodes] == [(1, "Arrival"), (2, "The Letter")]
    assert [(s.episode, s.number) for s in script.scenes] == [(1, 1), (1, 2), (2, 1)]


def test_same_text_twice_is_identical_and_keeps_takes_and_edits(project, tmp_path) -> None:
    import_script_text(project, SERIES)
    shots = project.shots()
    clip = make_video(tmp_path / "take.mp4")
    take = import_take(project, shots[0].id, clip).result
    approve_take(project, take.id)
    series.set_episode_fields(project, project.episodes()[1].id, title="真相大白")
    from engine.ops.shots import set_shot_fields

    set_shot_fields(project, shots[1].id, size="CU", locked=True)
    before = [(s.id, s.size, s.locked, s.status, s.approved_take_id) for s in project.shots()]
    scenes_before = [(s.id, s.number, s.episode_id) for s in project.scenes()]
    report = import_script_text(project, SERIES)
    assert report.shots_added == report.shots_changed == report.shots_removed == 0
    assert [(s.id, s.size, s.locked, s.status, s.approved_take_id)
            for s in project.shots()] == before
    assert [(s.id, s.number, s.episode_id) for s in project.scenes()] == scenes_before
    assert project.episodes()[1].title == "真相大白"  # the user's title stands
    assert [t.id for t in project.takes(shots[0].id)] == [take.id]


def test_edited_script_changes_only_the_edited_shot(project, tmp_path) -> None:
    import_script_text(project, SERIES)
    shots = project.shots()
    clip = make_video(tmp_path / "take.mp4")
    takes = {s.id: import_take(project, s.id, clip).result.id for s in shots}
    assert all(s.status is not ShotStatus.STALE for s in project.shots())
    edited = SERIES.replace("陈默：她会来吗？", "陈默：她今晚会来吗？")
    report = import_script_text(project, edited)
    assert report.shots_changed == 1 and report.shots_added == 0 and report.shots_removed == 0
    after = project.shots()
    assert [s.id for s in after] == [s.id for s in shots]
    changed = [s for s in after if s.status is ShotStatus.STALE]
    assert [d.text for s in changed for d in s.dialogue] == ["她今晚会来吗？"]
    for s in after:
        assert [t.id for t in project.takes(s.id)] == [takes[s.id]]


def test_episode_file_into_a_series_and_prune(project, tmp_path) -> None:
    import_script_text(project, SERIES)
    third = tmp_path / "ep3.txt"
    third.write_text("第1场 日 外 天台\n苏晴：结束了。\n\n第2场 夜 内 客厅\n妈妈：回家吧。\n",
                     encoding="utf-8")
    report = import_script(project, third, episode=3)
    assert report.scenes_added == 2
    assert [e.number for e in project.episodes()] == [1, 2, 3]
    assert len(project.all(Location, name="客厅")) == 1  # shared with episodes 1 and 2
    third.write_text("第1场 日 外 天台\n苏晴：结束了。\n", encoding="utf-8")
    report = import_script(project, third, episode=3)
    assert report.scenes_missing == ["E3 2"] and len(project.scenes()) == 6
    report = import_script(project, third, episode=3, prune=True)
    assert report.scenes_pruned == ["E3 2"] and len(project.scenes()) == 5
    with pytest.raises(StoryreelError, match="--episode 2 imports one episode"):
        import_script_text(project, SERIES, episode=2)


def test_wardrobe_marks_only_the_shots_it_dresses(project, tmp_path) -> None:
    import_script_text(project, SERIES)
    clip = make_video(tmp_path / "take.mp4")
    for s in project.shots():
        import_take(project, s.id, clip)
    su = project.character_by_name("苏晴")
    assert su is not None
    scene = resolve_scene(project, "E2 2")
    series.set_costume(project, su.id, "scene", scene.id, "黑色连衣裙")
    stale = {s.id for s in project.shots() if s.status is ShotStatus.STALE}
    dressed = {s.id for s in project.shots(scene.id) if su.id in s.characters}
    assert stale == dressed and dressed
    assert all("黑色连衣裙" in project.require(Shot, i).prompt for i in dressed)
    assert not any("黑色连衣裙" in s.prompt for s in project.shots() if s.id not in dressed)
    from engine.ops.history import undo

    undo(project)
    assert not any(s.status is ShotStatus.STALE for s in project.shots())


def test_location_description_and_references_through_cli(project, tmp_path, capsys) -> None:
    import_script_text(project, SERIES)
    root = project.root
    project.close()
    ref = make_image(tmp_path / "room.png")
    assert _run("location", "set", root, "客厅", "--description", "老式公寓，暖色木地板",
                "--ref", ref) == 0
    assert _run("location", "list", root, "--json") == 0
    capsys.readouterr()
    assert _run("info", root, "--json") == 0
    info = json.loads(capsys.readouterr().out)
    assert info["counts"]["episodes"] == 2 and info["counts"]["locations"] == 3
    assert [s["episode"] for s in info["scenes"]] == [1, 1, 2, 2]
    room = next(loc for loc in info["locations"] if loc["name"] == "客厅")
    assert room["description"] == "老式公寓，暖色木地板" and len(room["reference_images"]) == 1
    shots = [sh for s in info["scenes"] if s["location"] == "客厅" for sh in s["shots"]]
    assert shots and all("老式公寓" in sh["prompt"] for sh in shots)
    assert shots[0]["label"] == "E1 1-1"
    assert _run("location", "set", root, "厨房", "--description", "x") == 2
    assert "no location named '厨房'" in capsys.readouterr().err
    assert _run("character", "costume", root, "苏晴", "白衬衫", "--scene", "E2 2") == 0
    assert _run("character", "costume", root, "苏晴", "白衬衫", "--scene", "E9 1") == 2
    assert "no episode 9" in capsys.readouterr().err


def test_cli_import_twice_reports_kept(tmp_path, capsys) -> None:
    script = tmp_path / "series.txt"
    script.write_text(SERIES, encoding="utf-8")
    root = tmp_path / "p.storyreel"
    assert _run("new", root) == 0
    assert _run("import-script", root, script) == 0
    assert "2 episodes, 4 scenes" in capsys.readouterr().out
    assert _run("import-script", root, script) == 0
    out = capsys.readouterr().out
    assert "0 added, 0 changed (stale), 11 kept, 0 removed" in out
    assert _run("episode", "list", root) == 0
    assert "E2 真相: 2 scenes" in capsys.readouterr().out
    assert _run("import-script", root, script, "--episode", "0") == 2


def test_who_is_in_frame_and_in_what_order() -> None:
    script = parse_chinese(SERIES)
    mom = next(c for c in script.characters if c.name == "妈妈")
    assert mom.role == "苏晴的母亲" and "母亲" not in mom.appearance and mom.age == "50"
    screen, *_ = breakdown_scene(script, script.scenes[2])
    assert screen.characters == []  # a name on a screen is not a person in frame
    tears = next(p for p in breakdown_scene(script, script.scenes[3]) if "眼泪" in p.action)
    assert tears.characters == ["苏晴"] and tears.size is ShotSize.CLOSE_UP  # X的… is X
    assert tears.action.startswith("苏晴")  # the size word left the line
    off = next(p for p in breakdown_scene(script, script.scenes[2]) if p.lines
               and p.lines[0].text == "我该不该接？")
    assert "苏晴" not in off.characters  # heard, not seen
    english = parse_fountain("INT. HALL - DAY\n\nThey sing in unison, swiping phones.\n\n"
                             "SON\nHi.\n\nPING\nHey.\n")
    first = breakdown_scene(english, english.scenes[0])[0]
    assert first.characters == []  # SON is not in "unison", PING not in "swiping"
    vo = parse_fountain("INT. ROOM - DAY\n\nANNA\nHello.\n\nBEN (V.O.)\nFirst.\n\n"
                        "BEN (V.O.)\nSecond.\n")
    lines = [ln.text for p in breakdown_scene(vo, vo.scenes[0]) for ln in p.lines]
    assert lines == ["Hello.", "First.", "Second."]  # voice-overs keep script order


def test_quoted_text_is_never_rewritten(project) -> None:
    import_script_text(project, SERIES)
    shot = next(s for s in project.shots() if "屏幕" in s.action)
    assert '"妈妈"' in shot.prompt and "女子" not in shot.prompt
    assert project.character_by_name("妈妈") is not None
    assert isinstance(project.character_by_name("妈妈"), Character)
    assert all(isinstance(s, Scene) for s in project.scenes())


SHORT_SERIES = """第1集：开端
第1场 日 内 客厅
苏晴：你好。

第2集：结局
第1场 夜 外 街道
陈默：再见。
第2场 夜 内 客厅
苏晴：回家吧。
"""


def test_export_one_episode_and_all_episodes(project, tmp_path, capsys) -> None:
    import av
    import opentimelineio as otio
    import pysubs2

    import_script_text(project, SHORT_SERIES)
    root = project.root
    project.close()
    one = tmp_path / "ep2.mp4"
    assert _run("export", root, one, "--episode", "2", "--srt", "--preset", "draft") == 0
    subs = [e.text for e in pysubs2.load(str(one.with_suffix(".srt")))]
    assert subs == ["再见", "回家吧"]  # subtitles drop a trailing 。
    out = tmp_path / "films"  # made by the export, as a single film's folder is
    (tmp_path / "file").write_text("x")
    assert _run("export", root, tmp_path / "file", "--all-episodes") == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert _run("export", root, out, "--all-episodes", "--srt", "--otio",
                "--preset", "draft") == 0
    films = sorted(p.name for p in out.glob("*.mp4"))
    assert films == ["E01_开端.mp4", "E02_结局.mp4"]
    assert [e.text for e in pysubs2.load(str(out / "E01_开端.srt"))] == ["你好"]
    with av.open(str(out / "E02_结局.mp4")) as c2, av.open(str(one)) as c1:
        d2 = c2.streams.video[0].frames or sum(1 for _ in c2.decode(video=0))
        d1 = c1.streams.video[0].frames or sum(1 for _ in c1.decode(video=0))
    assert d1 == d2 > 0
    timeline = otio.adapters.read_from_file(str(out / "E02_结局.otio"))
    names = [clip.name for clip in timeline.find_clips()]
    assert "Shot E2 1-1" in names and "Shot E2 2-1" in names
    assert not any("E1" in n for n in names)
    assert _run("export", root, tmp_path / "x.mp4", "--episode", "7") == 2
    assert "no episode 7" in capsys.readouterr().err


def test_fountain_transitions_become_clip_edits(project) -> None:
    from engine.model import ClipEdit, TransitionKind

    text = ("INT. DINER - NIGHT\n\nMaya wipes the counter.\n\nCROSSFADE TO:\n\n"
            "Maya looks up.\n\nFADE OUT.\n\nEXT. LOT - NIGHT\n\nRain falls.\n\n"
            "CUT TO: \n\nA car idles.\n")
    text = text.replace("FADE OUT.", "> FADE OUT.")
    import_script_text(project, text, "fountain")
    shots = project.shots()
    actions = {s.action: s for s in shots}
    up = project.get(ClipEdit, actions["Maya looks up."].id)
    assert up is not None and up.transition is TransitionKind.CROSSFADE
    assert up.transition_frames == 15  # half a second at 30 fps
    lot = project.shots(project.scenes()[1].id)[0]
    edit = project.get(ClipEdit, lot.id)
    assert edit is not None and edit.transition is TransitionKind.DIP_TO_BLACK
    car = project.get(ClipEdit, actions["A car idles."].id)
    assert car is None  # CUT TO is a cut
    # a user's own transition is kept on re-import
    from engine.render.timeline_builder import set_clip_edit

    set_clip_edit(project, lot.id, transition="crossfade", transition_frames=4)
    import_script_text(project, text, "fountain")
    assert project.require(ClipEdit, lot.id).transition_frames == 4


def test_an_older_project_migrates_to_one_episode(tmp_path) -> None:
    import shutil

    from engine.store import ProjectStore, schema

    fixture = Path(__file__).resolve().parents[2] / "fixtures" / "schema1.storyreel"
    work = tmp_path / "old.storyreel"
    shutil.copytree(fixture, work)
    with ProjectStore.open(work) as store:
        assert store.schema_version == schema.head_version()
        (episode,) = store.episodes()
        assert episode.number == 1
        scenes = store.scenes()
        assert scenes and all(s.episode_id == episode.id for s in scenes)
        assert {s.location for s in scenes if s.location} == {
            loc.name for loc in store.locations()}
        assert all(s.location_id for s in scenes if s.location)
        (shot,) = store.shots()
        assert shot_labels(store)[shot.id] == "1-1"  # one episode: plain labels
    assert len(list(work.glob("project.v1.*.bak.db"))) == 1


def test_location_reference_is_the_animatic_backdrop_and_a_vace_reference(project,
                                                                         tmp_path) -> None:
    import av
    import numpy as np
    from PIL import Image

    from engine.generate.animatic import AnimaticBackend
    from engine.generate.requests import build_request, cache_key
    from engine.jobs.progress import CancelToken, no_progress

    import_script_text(project, SERIES)
    street = project.all(Location, name="街道")[0]
    shot = project.shots(resolve_scene(project, "E1 2").id)[0]  # wide, 陈默 under a lamp
    settings = {"width": 64, "height": 112, "frames": 9, "fps": 24, "steps": 1,
                "guidance": 1.0}
    plain = build_request(project, shot, settings)
    assert plain.location_image is None
    green = tmp_path / "street.png"
    Image.new("RGB", (90, 160), (20, 200, 40)).save(green)
    series.set_location_references(project, street.id, [green])
    shot = project.require(Shot, shot.id)
    req = build_request(project, shot, settings)
    assert req.location_hash == project.require(Location, street.id).reference_images[0]
    assert req.location_hash in req.reference_hashes()
    key = ("x", "0", (None, None))
    assert cache_key(req, *key, storyboard=True) != cache_key(plain, *key, storyboard=True)
    out = AnimaticBackend().generate(req, tmp_path / "a.mp4", no_progress, CancelToken())
    with av.open(str(out.video)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    green_share = float((np.abs(frame - np.array([20, 200, 40])).max(axis=2) < 50).mean())
    assert green_share > 0.3  # the reference picture is behind the figure
    # the scene's wardrobe reaches the request too
    chen = project.character_by_name("陈默")
    assert chen is not None
    series.set_costume(project, chen.id, "scene", shot.scene_id, "黑色风衣")
    req = build_request(project, project.require(Shot, shot.id), settings)
    assert [c.costume for c in req.characters if c.name == "陈默"] == ["黑色风衣"]


def test_clip_edit_takes_series_labels_and_lists_ambiguous_matches(project, capsys) -> None:
    import_script_text(project, SERIES)
    root = project.root
    target = project.shots(project.scenes()[2].id)[1]
    project.close()
    assert _run("clip-edit", root, "1-1", "--speed", "1.5") == 2
    err = capsys.readouterr().err
    assert "is in more than one episode (E1 1-1, E2 1-1)" in err and "Traceback" not in err
    assert _run("clip-edit", root, "2:1-2", "--speed", "1.5") == 0
    from engine.model import ClipEdit
    from engine.store import ProjectStore

    with ProjectStore.open(root) as store:
        assert store.require(ClipEdit, target.id).speed == 1.5
