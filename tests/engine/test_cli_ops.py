"""The editing verbs of the CLI, run as a user runs them on a real project: each changes
exactly what it says (through an operation, logged with its author); bad values are one
sentence, exit 2, and the project file is unchanged; undo is the caller's own and is
refused over another author's later change; history lists authors and fields."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main
from engine.model import entities as E
from engine.store import ProjectStore
from tests.media_factory import make_image

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ("第1场 夜 内 咖啡馆\n\n林雨：你终于来了。\n陈默：对不起，我来晚了。\n\n"
          "第2场 日 外 街道\n\n林雨：走吧。\n")
AMBIGUOUS = ("abcd1111-0000-4000-8000-000000000001", "abcd2222-0000-4000-8000-000000000002")


@pytest.fixture(scope="module")
def base_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project imported and planned through the CLI, plus two shots whose ids share a
    prefix (to prove an ambiguous address is refused)."""
    root = tmp_path_factory.mktemp("cli-ops")
    script = root / "s.txt"
    script.write_text(SCRIPT, encoding="utf-8")
    proj = root / "p.storyreel"
    for argv in (["new", str(proj)], ["import-script", str(proj), str(script)],
                 ["plan", str(proj), "--llm", "none"]):
        assert main(argv) == 0, argv
    with ProjectStore.open(proj) as store:
        last = store.scenes()[-1]
        for i, shot_id in enumerate(AMBIGUOUS):
            store.add(E.Shot(id=shot_id, scene_id=last.id, order=100 + i, action="尾"))
    return proj


@pytest.fixture
def proj(base_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STORYREEL_USER", "alice")
    target = tmp_path / "p.storyreel"
    shutil.copytree(base_project, target)
    return target


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def ok(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code, out, err = run(capsys, *argv)
    assert code == 0, (argv, err)
    return out


def refused(capsys: pytest.CaptureFixture[str], proj: Path, *argv: str) -> str:
    """Exit 2, one sentence on stderr, not a byte of the project's tables changed."""
    before = dump(proj)
    code, out, err = run(capsys, *argv)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, (argv, out, err)
    assert len(lines) == 1 and "Traceback" not in err, err
    assert dump(proj) == before, argv
    return lines[0]


def dump(proj: Path) -> list[tuple]:
    """Every row of every table, the history log included."""
    con = sqlite3.connect(proj / "project.db")
    try:
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return [(t, *row) for t in tables for row in con.execute(f'SELECT * FROM "{t}"')]
    finally:
        con.close()


def shots(capsys: pytest.CaptureFixture[str], proj: Path) -> dict[str, dict]:
    return {r["label"]: r for r in json.loads(ok(capsys, "shot", "list", str(proj), "--json"))}


def history(capsys: pytest.CaptureFixture[str], proj: Path, limit: int = 1) -> list[dict]:
    return json.loads(ok(capsys, "history", str(proj), "--json", "--limit", str(limit)))


# fields that follow from the others (the composed prompt, the status) and the row version
DERIVED = {"prompt", "status", "version"}


def test_shot_set_changes_exactly_the_fields_it_names(capsys, proj: Path) -> None:
    before = shots(capsys, proj)
    out = ok(capsys, "shot", "set", str(proj), "1-2", "--size", "CU", "--angle", "low",
             "--camera", "push-in", "--duration", "3.5", "--prompt", "雨夜霓虹",
             "--negative", "blurry", "--seed", "42", "--action", "她推门进来",
             "--narration", "那一晚", "--characters", "林雨,陈默")
    assert "shot 1-2" in out
    after = shots(capsys, proj)
    want = {"size": "CU", "angle": "low", "camera_move": "push-in", "duration": 3.5,
            "prompt_override": "雨夜霓虹", "negative_prompt": "blurry", "seed": 42,
            "action": "她推门进来", "narration": "那一晚", "characters": ["林雨", "陈默"],
            "locked": True}  # the user's shot now: re-planning keeps it
    assert before["1-2"]["locked"] is False
    assert {k: after["1-2"][k] for k in want} == want
    untouched = set(before["1-2"]) - set(want) - DERIVED
    assert {k: after["1-2"][k] for k in untouched} == {k: before["1-2"][k] for k in untouched}
    assert after["1-2"]["prompt"] == "雨夜霓虹"  # the user's prompt wins
    assert {k: v for k, v in after.items() if k != "1-2"} == \
        {k: v for k, v in before.items() if k != "1-2"}
    (entry,) = history(capsys, proj)
    assert entry["author"] == "alice" and entry["op"] == "Edit shot 1-2"
    fields = {c["field"] for c in entry["changes"]}
    assert {"size", "angle", "camera_move", "duration", "prompt_override", "negative_prompt",
            "seed", "action", "narration", "characters", "locked"} <= fields <= \
        set(want) | {"prompt", "status"}
    # the same shot by its id prefix; a value equal to the current one logs nothing
    out = ok(capsys, "shot", "set", str(proj), after["1-2"]["id"][:8], "--size", "CU")
    assert "nothing changed" in out and history(capsys, proj)[0]["seq"] == entry["seq"]


def test_shot_set_short_take_fill_and_continuity(capsys, proj: Path) -> None:
    before = shots(capsys, proj)["1-2"]
    assert (before["short_take"], before["continue_from_previous"]) == ("hold", False)
    ok(capsys, "shot", "set", str(proj), "1-2", "--short-take", "slow",
       "--continue-from-previous")
    after = shots(capsys, proj)["1-2"]
    assert (after["short_take"], after["continue_from_previous"]) == ("slow", True)
    assert after["locked"] is False  # how the take fills the shot is not re-planned content
    (entry,) = history(capsys, proj)
    assert [c["field"] for c in entry["changes"]] == ["generation"]
    ok(capsys, "shot", "set", str(proj), "1-2", "--no-continue-from-previous")
    assert shots(capsys, proj)["1-2"]["continue_from_previous"] is False
    assert shots(capsys, proj)["1-2"]["short_take"] == "slow"


def test_a_shot_edited_in_the_cli_survives_re_planning(capsys, proj: Path) -> None:
    ok(capsys, "shot", "set", str(proj), "1-2", "--action", "她把伞放下", "--size", "ECU")
    planned_id = shots(capsys, proj)["1-3"]["id"]
    ok(capsys, "shot", "set", str(proj), "1-3", "--size", "WS", "--no-lock")
    ok(capsys, "plan", str(proj), "--llm", "none")
    after = shots(capsys, proj)
    assert (after["1-2"]["action"], after["1-2"]["size"]) == ("她把伞放下", "ECU")
    # re-planning the same script keeps its shots (ids, takes) rather than making new ones
    assert any(r["id"] == planned_id for r in after.values())
    assert len(after) == len(shots(capsys, proj))


@pytest.mark.parametrize("argv, words", [
    (["1-1", "--size", "XX"], "Shot size 'XX' is not one of: EWS, WS, MS, MCU, CU, ECU"),
    (["1-1", "--duration", "-1"], "Duration (seconds) -1 is outside 0.1–120"),
    (["1-1", "--duration", "nan"], "Duration"),
    (["1-1", "--duration", "soon"], "must be a number"),
    (["1-1", "--angle", "sideways"], "Camera angle 'sideways'"),
    (["1-1", "--camera", "zoom"], "Camera move 'zoom'"),
    (["1-1", "--seed", "-3"], "Seed -3 is outside"),
    (["1-1", "--status", "approved"], "choose draft or ready"),
    (["1-1", "--characters", "林雨,王五"], "no character named '王五'"),
    (["abcd", "--size", "CU"], "'abcd' matches 2 shots: 2-"),
    (["9-9", "--size", "CU"], "There is no shot 9-9"),
    (["1-1"], "Nothing to change"),
    (["1-1", "--short-take", "loop"], "A short take is filled by hold or slow, not 'loop'"),
])
def test_shot_set_refuses_bad_values(capsys, proj: Path, argv: list[str], words: str) -> None:
    assert words in refused(capsys, proj, "shot", "set", str(proj), *argv)


def test_shot_add_duplicate_delete_move(capsys, proj: Path) -> None:
    before = shots(capsys, proj)
    assert [k for k in before if k.startswith("1-")] == ["1-1", "1-2", "1-3"]
    ok(capsys, "shot", "add", str(proj), "--after", "1-1", "--size", "ECU", "--action", "手")
    after = shots(capsys, proj)
    assert after["1-2"]["size"] == "ECU" and after["1-2"]["action"] == "手"
    assert after["1-3"]["id"] == before["1-2"]["id"] and after["1-4"]["id"] == before["1-3"]["id"]
    assert "Added shot 2-" in ok(capsys, "shot", "add", str(proj), "--scene", "2")

    out = ok(capsys, "shot", "duplicate", str(proj), "1-1")
    assert "as shot 1-2" in out
    dup = shots(capsys, proj)
    copy, orig = dup["1-2"], dup["1-1"]
    assert copy["id"] != orig["id"]
    assert {k: copy[k] for k in ("size", "action", "characters", "dialogue")} == \
        {k: orig[k] for k in ("size", "action", "characters", "dialogue")}

    moved_id = dup["1-1"]["id"]
    assert "to 2-2" in ok(capsys, "shot", "move", str(proj), "1-1", "--scene", "2", "--to", "2")
    moved = shots(capsys, proj)
    assert moved["2-2"]["id"] == moved_id and moved["1-1"]["id"] == copy["id"]
    assert "outside scene 1: choose 1–4" in refused(capsys, proj, "shot", "move", str(proj),
                                                    "1-1", "--to", "9")
    assert "no scene 7" in refused(capsys, proj, "shot", "move", str(proj), "1-1",
                                   "--scene", "7")

    count = len(moved)
    ok(capsys, "shot", "delete", str(proj), "2-2", "1-1")
    left = shots(capsys, proj)
    assert len(left) == count - 2 and moved_id not in {r["id"] for r in left.values()}
    assert history(capsys, proj)[0]["op"] == "Delete shots"
    ok(capsys, "undo", str(proj))
    assert {r["id"] for r in shots(capsys, proj).values()} == \
        {r["id"] for r in moved.values()}


def test_shot_lines(capsys, proj: Path) -> None:
    ok(capsys, "shot", "line", "add", str(proj), "1-1", "别走。", "--speaker", "陈默",
       "--emotion", "急")
    line = shots(capsys, proj)["1-1"]["dialogue"][-1]
    assert (line["speaker"], line["text"], line["emotion"]) == ("陈默", "别走。", "急")
    n = len(shots(capsys, proj)["1-1"]["dialogue"])
    ok(capsys, "shot", "line", "set", str(proj), "1-1", str(n), "--text", "别走！",
       "--speaker", "narrator")
    line = shots(capsys, proj)["1-1"]["dialogue"][-1]
    assert (line["speaker"], line["text"]) == ("narrator", "别走！")
    assert "has no line 9" in refused(capsys, proj, "shot", "line", "remove", str(proj),
                                      "1-1", "9")
    ok(capsys, "shot", "line", "remove", str(proj), "1-1", str(n))
    assert len(shots(capsys, proj)["1-1"]["dialogue"]) == n - 1


def characters(capsys, proj: Path) -> dict[str, dict]:
    return {c["name"]: c
            for c in json.loads(ok(capsys, "character", "list", str(proj), "--json"))}


def test_character_set_fields_and_references(capsys, proj: Path, tmp_path: Path) -> None:
    cast = characters(capsys, proj)
    before, other = cast["林雨"], cast["陈默"]
    face = make_image(tmp_path / "face.png")
    side = make_image(tmp_path / "side.png", color=(40, 90, 200))
    ok(capsys, "character", "set", str(proj), "林雨", "--appearance", "长发", "--costume",
       "白衬衫", "--age", "24", "--gender", "女", "--ref", str(face), str(side))
    after = characters(capsys, proj)["林雨"]
    assert (after["appearance"], after["costume"], after["age"], after["gender"]) == \
        ("长发", "白衬衫", "24", "female")
    assert len(after["reference_images"]) == 2
    assert (after["personality"], after["description"], after["voice"]) == \
        (before["personality"], before["description"], before["voice"])
    assert characters(capsys, proj)["陈默"] == other
    (entry,) = history(capsys, proj)
    assert entry["op"] == "Edit 林雨" and entry["author"] == "alice"  # one undo step
    # the cast edit recomposed the prompts of the shots 林雨 is in
    assert any("长发" in r["prompt"] for r in shots(capsys, proj).values()
               if "林雨" in r["characters"])

    text = tmp_path / "notes.png"
    text.write_text("not an image", encoding="utf-8")
    assert "notes.png" in refused(capsys, proj, "character", "set", str(proj), "林雨",
                                  "--ref", str(text), "--costume", "红裙")
    assert "Gender 'robot'" in refused(capsys, proj, "character", "set", str(proj), "林雨",
                                       "--gender", "robot")
    assert "already exists" in refused(capsys, proj, "character", "set", str(proj), "林雨",
                                       "--name", "陈默")
    assert "no character named '王五'" in refused(capsys, proj, "character", "set",
                                                  str(proj), "王五", "--age", "3")
    ok(capsys, "character", "set", str(proj), "林雨", "--clear-refs", "--ref", str(face))
    assert len(characters(capsys, proj)["林雨"]["reference_images"]) == 1
    ok(capsys, "character", "set", str(proj), "林雨", "--clear-refs")
    assert characters(capsys, proj)["林雨"]["reference_images"] == []


def test_character_delete_drops_them_from_shots(capsys, proj: Path) -> None:
    spoken = [r["text"] for r in shots(capsys, proj)["1-2"]["dialogue"]]
    ok(capsys, "character", "delete", str(proj), "陈默")
    assert "陈默" not in characters(capsys, proj)
    rows = shots(capsys, proj).values()
    assert all("陈默" not in r["characters"] for r in rows)
    assert [r["text"] for r in shots(capsys, proj)["1-2"]["dialogue"]] == spoken
    ok(capsys, "undo", str(proj))
    assert "陈默" in characters(capsys, proj)


def test_scene_and_project_set(capsys, proj: Path) -> None:
    ok(capsys, "scene", "set", str(proj), "2", "--weather", "大雨", "--lighting", "霓虹",
       "--time-of-day", "night")
    scenes = {s["number"]: s for s in json.loads(ok(capsys, "scene", "list", str(proj),
                                                    "--json"))}
    assert (scenes[2]["weather"], scenes[2]["lighting"], scenes[2]["time_of_day"]) == \
        ("大雨", "霓虹", "night")
    assert scenes[1]["weather"] == ""
    assert "大雨" in shots(capsys, proj)["2-1"]["prompt"]
    assert "Time of day 'noonish'" in refused(capsys, proj, "scene", "set", str(proj), "1",
                                              "--time-of-day", "noonish")
    assert "no scene 5" in refused(capsys, proj, "scene", "set", str(proj), "5",
                                   "--weather", "雪")

    ok(capsys, "project", "set", str(proj), "--title", "雨夜来电", "--style", "胶片颗粒",
       "--fps", "25")
    info = json.loads(ok(capsys, "info", str(proj), "--json"))
    assert (info["title"], info["style"], info["fps"]) == ("雨夜来电", "胶片颗粒", "25")
    assert "must be even" in refused(capsys, proj, "project", "set", str(proj),
                                     "--width", "721")
    assert "cannot be blank" in refused(capsys, proj, "project", "set", str(proj),
                                        "--title", "  ")


def test_undo_is_refused_over_another_authors_change(capsys, proj: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    original = shots(capsys, proj)["1-1"]["duration"]
    ok(capsys, "shot", "set", str(proj), "1-1", "--duration", "4")
    monkeypatch.setenv("STORYREEL_USER", "bob")
    ok(capsys, "shot", "set", str(proj), "1-1", "--duration", "5")
    monkeypatch.setenv("STORYREEL_USER", "alice")
    sentence = refused(capsys, proj, "undo", str(proj))
    assert "duration of shot 1-1 was changed by bob" in sentence
    assert "nothing was changed" in sentence
    assert shots(capsys, proj)["1-1"]["duration"] == 5.0
    # bob undoes his own; then alice's undo finds her value and restores the original
    monkeypatch.setenv("STORYREEL_USER", "bob")
    ok(capsys, "undo", str(proj))
    assert shots(capsys, proj)["1-1"]["duration"] == 4.0
    monkeypatch.setenv("STORYREEL_USER", "alice")
    assert "Undid “Edit shot 1-1”" in ok(capsys, "undo", str(proj))
    assert shots(capsys, proj)["1-1"]["duration"] == original
    ok(capsys, "redo", str(proj))
    assert shots(capsys, proj)["1-1"]["duration"] == 4.0
    code, _out, err = run(capsys, "redo", str(proj))
    assert code == 1 and "Nothing to redo for alice" in err


def test_undo_takes_back_only_the_callers_own_last_edit(capsys, proj: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    before = shots(capsys, proj)["1-1"]
    ok(capsys, "shot", "set", str(proj), "1-1", "--size", "ECU")
    monkeypatch.setenv("STORYREEL_USER", "bob")
    ok(capsys, "shot", "set", str(proj), "1-1", "--angle", "dutch")
    monkeypatch.setenv("STORYREEL_USER", "alice")
    ok(capsys, "undo", str(proj))
    after = shots(capsys, proj)["1-1"]
    assert (after["size"], after["angle"]) == (before["size"], "dutch")
    code, _out, err = run(capsys, "undo", str(proj))
    assert code == 1 and "Nothing to undo for alice" in err
    assert shots(capsys, proj)["1-1"]["angle"] == "dutch"


def test_history_json_lists_authors_and_fields(capsys, proj: Path) -> None:
    ok(capsys, "shot", "set", str(proj), "2-1", "--narration", "街上没有人")
    ok(capsys, "scene", "set", str(proj), "1", "--lighting", "烛光")
    env = dict(os.environ, STORYREEL_USER="carol", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "engine.cli", "character", "set", str(proj),
                           "陈默", "--costume", "黑风衣"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    listed = subprocess.run([sys.executable, "-m", "engine.cli", "history", str(proj),
                             "--json", "--limit", "3"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    entries = json.loads(listed.stdout)
    assert [(e["author"], e["op"]) for e in entries] == [
        ("carol", "Edit 陈默"), ("alice", "Edit scene 1"), ("alice", "Edit shot 2-1")]
    assert "character.costume" in entries[0]["fields"]
    assert entries[1]["fields"] == ["scene.lighting"]
    assert "shot.narration" in entries[2]["fields"]
    change = next(c for c in entries[0]["changes"] if c["field"] == "costume")
    assert change["after"] == "黑风衣"
    assert [e["seq"] for e in entries] == sorted((e["seq"] for e in entries), reverse=True)
    text = ok(capsys, "history", str(proj), "--limit", "1")
    assert "carol" in text and "Edit 陈默" in text and "character.costume" in text
    assert "--limit 0 must be 1 or more" in refused(capsys, proj, "history", str(proj),
                                                   "--limit", "0")


@pytest.mark.parametrize("argv", [
    ["takes", "{p}", "abcd"],
    ["clip-edit", "{p}", "abcd", "--speed", "2"],
    ["voice", "{p}", "--shots", "abcd"],
    ["generate", "{p}", "--shots", "abcd"],
    ["sfx", "add", "{p}", "abcd", "{wav}"],
    ["music", "add", "{p}", "{wav}", "--from-shot", "abcd"],
    ["script", "recompose", "{p}", "--shot", "abcd"],
    ["shot", "delete", "{p}", "1-1", "abcd"],
    ["shot", "duplicate", "{p}", "abcd"],
    ["shot", "move", "{p}", "abcd", "--to", "1"],
    ["shot", "line", "add", "{p}", "abcd", "嗯"],
    ["import-take", "{p}", "abcd", "{wav}"],
])
def test_every_command_that_takes_a_shot_refuses_an_ambiguous_one(
    capsys, proj: Path, tmp_path: Path, argv: list[str],
) -> None:
    from tests.media_factory import make_wav

    wav = make_wav(tmp_path / "x.wav", seconds=0.3)
    argv = [a.format(p=proj, wav=wav) for a in argv]
    sentence = refused(capsys, proj, *argv)
    assert "'abcd' matches 2 shots: 2-3 (abcd1111), 2-4 (abcd2222)" in sentence


def test_every_command_takes_a_shot_by_label_id_or_prefix(capsys, proj: Path) -> None:
    row = shots(capsys, proj)["2-1"]
    for address in ("2-1", row["id"], row["id"][:6]):
        assert json.loads(ok(capsys, "takes", str(proj), address, "--json")) == []
    ok(capsys, "clip-edit", str(proj), row["id"][:6], "--gain-db", "-2")
    assert history(capsys, proj)[0]["op"] == "Edit clip of shot 2-1"


def _verbs(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple]:
    """Every leaf command of the parser (``("shot", "line", "add")``) with its options."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [(prefix, [o for a in parser._actions for o in a.option_strings
                          if o.startswith("--") and o not in ("--help",)])]
    out: list[tuple] = []
    for name, child in subs[0].choices.items():
        out += _verbs(child, (*prefix, name))
    return out


def test_the_readme_lists_every_verb_and_option() -> None:
    from engine.cli import build_parser

    rows = [line for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
            if line.startswith("| `storyreel ")]
    verbs = _verbs(build_parser())
    assert len(verbs) > 40
    missing = []
    for path, options in verbs:
        words = " ".join(path)
        mine = [r for r in rows if f"`storyreel {words}" in r or f"`{words} " in r
                or f"/ `{words}`" in r]
        if not mine:
            missing.append(words)
            continue
        if any("[fields]" in r for r in mine):  # "the same fields as `NOUN set`"
            mine += [r for r in rows if f"`storyreel {path[0]} set " in r]
        missing += [f"{words} {o}" for o in options
                    if o not in ("--version",) and not any(o in r for r in mine)]
    assert missing == []
