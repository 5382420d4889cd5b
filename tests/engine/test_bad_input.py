"""Bad input through the CLI, as a user meets it: damaged project folders, odd files,
out-of-range options. Each must end in one sentence on stderr and exit code 2 (never a
traceback), leave no half-written output, and change nothing already saved."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from engine.cli import main
from tests.media_factory import make_wav  # not tests/ on sys.path: its studio/ would shadow

SCRIPT = "第1场 夜 内 咖啡馆\n\n林雨：你终于来了。\n陈默：对不起，我来晚了。\n"


@pytest.fixture(scope="module")
def base_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small planned, voiced, generated project with a music bed (made once)."""
    root = tmp_path_factory.mktemp("bad-input")
    script = root / "s.txt"
    script.write_text(SCRIPT, encoding="utf-8")
    music = make_wav(root / "bed.wav", seconds=1.0)
    proj = root / "base.storyreel"
    for argv in (
        ["new", str(proj)],
        ["import-script", str(proj), str(script)],
        ["plan", str(proj), "--llm", "none"],
        ["voice", str(proj)],
        ["music", "add", str(proj), str(music)],
        ["generate", str(proj), "--quality", "draft", "--size", "64x112", "--frames", "8"],
    ):
        assert main(argv) == 0, argv
    return proj


@pytest.fixture
def proj(base_project: Path, tmp_path: Path) -> Path:
    target = tmp_path / "p.storyreel"
    shutil.copytree(base_project, target)
    return target


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def fails_cleanly(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Exit 2 with one sentence on stderr; returns that sentence."""
    code, _out, err = run(capsys, *argv)
    assert code == 2, (argv, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("storyreel: "), err
    assert "Traceback" not in err
    return lines[0]


def info(capsys: pytest.CaptureFixture[str], proj: Path) -> dict:
    code, out, _err = run(capsys, "info", str(proj), "--json")
    assert code == 0
    return json.loads(out)


def media_file(proj: Path, sha: str) -> Path:
    return next((proj / "media" / sha[:2]).glob(sha + ".*"))


def db_rows(proj: Path, sql: str) -> list[tuple]:
    import sqlite3

    con = sqlite3.connect(proj / "project.db")
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def first_take_media(proj: Path) -> str:
    return db_rows(proj, "select t.media from takes t join shots s on s.id = t.shot_id "
                         "order by s.\"order\" limit 1")[0][0]


# ------------------------------------------------------------------ damaged media files
@pytest.mark.parametrize("damage", ["delete", "truncate"])
def test_damaged_take_names_the_shot_and_generate_repairs_it(
    capsys: pytest.CaptureFixture[str], proj: Path, tmp_path: Path, damage: str,
) -> None:
    sha = first_take_media(proj)
    path = media_file(proj, sha)
    if damage == "delete":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes()[:300])
    out = tmp_path / "film.mp4"
    for argv in (["export", str(proj), str(out), "--preset", "draft"],
                 ["timeline", str(proj)]):
        message = fails_cleanly(capsys, *argv)
        assert "Shot 1-1" in message and sha in message and "storyreel generate" in message
    assert not out.exists() and list(tmp_path.glob("film*")) == []
    # the default `generate` (stale shots) sees the broken take and makes it again
    code, stdout, stderr = run(capsys, "generate", str(proj), "--quality", "draft", "--size",
                               "64x112", "--frames", "8")
    assert code == 0 and "Queued 1 job" in stderr and "from cache" not in stdout + stderr
    assert path.is_file() and path.stat().st_size > 300
    code, _, err = run(capsys, "timeline", str(proj))
    assert code == 0, err


def test_damaged_voice_and_music_name_what_is_broken(
    capsys: pytest.CaptureFixture[str], proj: Path, tmp_path: Path,
) -> None:
    voice = db_rows(proj, "select media from voice_clips order by line_index limit 1")[0][0]
    music = db_rows(proj, "select media from audio_placements where role = 'music'")[0][0]
    voice_path, music_path = media_file(proj, voice), media_file(proj, music)
    voice_path.write_bytes(voice_path.read_bytes()[:100])
    messages = set()
    for argv in (["export", str(proj), str(tmp_path / "f.mp4"), "--preset", "draft"],
                 ["mix", str(proj), str(tmp_path / "f.wav")]):
        message = fails_cleanly(capsys, *argv)
        assert "voice" in message and "damaged" in message and "storyreel voice" in message
        messages.add(message)
    assert len(messages) == 1 and "Shot 1-" in messages.pop()  # same words, same shot label
    assert list(tmp_path.glob("f.*")) == []
    # `voice` notices the damaged clip and synthesizes it again
    code, stdout, _ = run(capsys, "voice", str(proj))
    assert code == 0 and "Voiced 1 line" in stdout
    music_path.unlink()
    for argv in (["export", str(proj), str(tmp_path / "f.mp4"), "--preset", "draft"],
                 ["mix", str(proj), str(tmp_path / "f.wav")],
                 ["timeline", str(proj)]):
        message = fails_cleanly(capsys, *argv)
        assert "music track bed.wav" in message and "missing" in message
    assert list(tmp_path.glob("f.*")) == []
    # importing the original file again puts it back
    bed = make_wav(tmp_path / "bed.wav", seconds=1.0)
    assert run(capsys, "import-media", str(proj), str(bed))[0] == 0
    assert music_path.is_file()
    code, _, err = run(capsys, "mix", str(proj), str(tmp_path / "f.wav"))
    assert code == 0, err


def test_pack_refuses_a_damaged_file(
    capsys: pytest.CaptureFixture[str], proj: Path, tmp_path: Path,
) -> None:
    music = db_rows(proj, "select media from audio_placements where role = 'music'")[0][0]
    path = media_file(proj, music)
    path.write_bytes(path.read_bytes()[:100])
    message = fails_cleanly(capsys, "pack", str(proj), str(tmp_path / "p.zip"))
    assert "bed.wav" in message and "damaged" in message
    assert list(tmp_path.glob("p.zip*")) == []


# ------------------------------------------------------------------ odd files and options
def test_refused_files_add_nothing_to_the_project(
    capsys: pytest.CaptureFixture[str], proj: Path, tmp_path: Path,
) -> None:
    from tests.media_factory import make_video

    before = info(capsys, proj)
    silent = make_video(tmp_path / "silent.mp4", frames=4)
    (tmp_path / "zero.mp4").write_bytes(b"")
    (tmp_path / "text.mp4").write_text("not a video", encoding="utf-8")
    (tmp_path / "folder.mp4").mkdir()
    wav = make_wav(tmp_path / "boom.wav", seconds=0.5)
    checks = [
        (["import-media", str(proj), str(tmp_path / "zero.mp4")], "empty"),
        (["import-media", str(proj), str(tmp_path / "folder.mp4")], "not a file"),
        (["import-media", str(proj), str(tmp_path / "text.mp4")], "not a readable"),
        (["character", "add", str(proj), "小王", "--ref", str(silent)], "not an image"),
        (["character", "add", str(proj), "  "], "name cannot be blank"),
        (["music", "add", str(proj), str(silent)], "no sound"),
        (["sfx", "add", str(proj), "1-1", str(silent)], "no sound"),
        (["sfx", "add", str(proj), "9-9", str(wav)], "no shot 9-9"),
        (["sfx", "add", str(proj), "9", str(wav)], "not a shot label like 2-3"),
        (["sfx", "add", str(proj), "1-1", str(wav), "--offset", "nan"], "not a number"),
        (["clip-edit", str(proj), "1-1", "--speed", "0"], "speed"),
        (["clip-edit", str(proj), "1-1", "--trim-in", "-3"], "trim_in"),
        (["clip-edit", str(proj), "1-1", "--trim-in", "100000"], "leave nothing"),
        (["generate", str(proj), "--shots", "all", "--size", "13x7"], "width 13"),
        (["generate", str(proj), "--shots", "all", "--frames", "0"], "frames"),
        (["generate", str(proj), "--shots", "all", "--backend", "no-such-model"],
         "no-such-model"),
        (["export", str(proj), str(tmp_path / "f.mp4"), "--preset", "nope"], "invalid choice"),
        (["mix", str(proj), str(tmp_path / "nowhere" / "f.wav")], "does not exist"),
        (["mix", str(proj), str(tmp_path / "f.wav"), "--lufs", "5"], "-40…-5"),
        (["mix", str(proj), str(tmp_path / "f.wav"), "--duck", "nan"], "Ducking"),
    ]
    for argv, words in checks:
        assert words in fails_cleanly(capsys, *argv), argv
    assert info(capsys, proj) == before
    assert db_rows(proj, "select count(*) from clip_edits") == [(0,)]
    assert db_rows(proj, "select count(*) from media_assets")[0][0] == before["counts"]["media"]
    assert not (tmp_path / "nowhere").exists() and not list(tmp_path.glob("f.*"))


def test_usage_errors_name_the_command_once(capsys: pytest.CaptureFixture[str]) -> None:
    message = fails_cleanly(capsys, "export", "x.storyreel")
    assert message == "storyreel: export: the following arguments are required: OUT.mp4."
    assert fails_cleanly(capsys, "info", "a", "b") == "storyreel: Unrecognized arguments: b."


def test_script_with_a_huge_line_is_refused(
    capsys: pytest.CaptureFixture[str], proj: Path, tmp_path: Path,
) -> None:
    before = info(capsys, proj)
    huge = tmp_path / "huge.txt"
    huge.write_text("第1场 夜 内 咖啡馆\n\n林雨：" + "啊，" * 50_000 + "\n", encoding="utf-8")
    assert "Line 3" in fails_cleanly(capsys, "import-script", str(proj), str(huge))
    binary = tmp_path / "b.txt"
    binary.write_bytes(bytes(range(256)) * 4)
    assert "binary" in fails_cleanly(capsys, "import-script", str(proj), str(binary))
    assert info(capsys, proj) == before


def test_clip_edit_fixes_a_shot_whose_saved_trims_no_longer_fit(
    capsys: pytest.CaptureFixture[str], proj: Path,
) -> None:
    # trims saved for a longer take (made shorter since): the film cannot be built ...
    import sqlite3

    shot_id = db_rows(proj, "select id from shots order by \"order\" limit 1")[0][0]
    con = sqlite3.connect(proj / "project.db")
    con.execute("insert into clip_edits (shot_id, trim_in, trim_out, speed, transition, "
                "transition_frames, gain_db) values (?, 100000, 0, 1.0, 'cut', 0, 0.0)",
                (shot_id,))
    con.commit()
    con.close()
    assert "leave nothing" in fails_cleanly(capsys, "timeline", str(proj))
    # ... but clip-edit still finds shots by label and can put it right
    assert run(capsys, "clip-edit", str(proj), "1-2", "--gain-db", "-3")[0] == 0
    assert run(capsys, "clip-edit", str(proj), "1-1", "--trim-in", "0")[0] == 0
    assert run(capsys, "timeline", str(proj))[0] == 0


# ------------------------------------------------------------------ help and output
def test_every_command_and_argument_has_help() -> None:
    import argparse

    from engine.cli import build_parser

    missing: list[str] = []

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {a.dest: a.help for a in action._choices_actions}
                for name, sub in action.choices.items():
                    if not helps.get(name):
                        missing.append(" ".join([*path, name]))
                    walk(sub, [*path, name])
            elif not isinstance(action, argparse._HelpAction) and not action.help:
                missing.append(" ".join([*path, *(action.option_strings or [action.dest])]))

    walk(build_parser(), [])
    assert missing == []


def test_closed_pipe_is_not_a_traceback(base_project: Path) -> None:
    import subprocess

    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "timeline", str(base_project), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line: `... | true`
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipe" not in err


# ------------------------------------------------------------------ untrusted project.db
@pytest.mark.parametrize("sql, words", [
    ("update shots set size = 'bogus'", "bad Shot size"),
    ("update project set fps = 'abc'", "bad Project fps"),
    ("update project set fps = '0/1'", "bad Project fps"),
    ("update project set width = -5", "bad picture size"),
    ("update takes set record = '{not json'", "JSON value"),
    ("""update characters set voice = '{"backend": "espeak", "rate": "fast"}'""",
     "bad Character voice"),
    ("drop table shots", "no shots table"),
    ("alter table takes drop column thumbnail", "no takes.thumbnail column"),
    ("update media_assets set ext = '/../../../../etc/passwd' where kind = 'audio'",
     "not a Storyreel media name"),
])
def test_bad_values_in_project_db_are_one_sentence(
    capsys: pytest.CaptureFixture[str], proj: Path, tmp_path: Path, sql: str, words: str,
) -> None:
    import sqlite3

    con = sqlite3.connect(proj / "project.db")
    con.execute(sql)
    con.commit()
    con.close()
    before = (proj / "project.db").read_bytes()
    for argv in (["info", str(proj)], ["export", str(proj), str(tmp_path / "f.mp4")],
                 ["pack", str(proj), str(tmp_path / "p.zip")]):
        assert words in fails_cleanly(capsys, *argv)
    assert (proj / "project.db").read_bytes() == before
    assert list(tmp_path.glob("f.*")) == [] and list(tmp_path.glob("p.zip*")) == []


def test_generate_in_a_project_without_shots_says_what_to_do_first(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    assert run(capsys, "new", str(tmp_path / "e.storyreel"))[0] == 0
    assert "storyreel plan" in fails_cleanly(capsys, "generate", str(tmp_path / "e.storyreel"))


def test_new_project_on_a_file_path_is_one_sentence(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x", encoding="utf-8")
    assert "is a file" in fails_cleanly(capsys, "new", str(a_file))
    # an OSError deeper down (a file where a folder must be) is one sentence too
    assert "Not a directory" in fails_cleanly(capsys, "new", str(a_file / "p.storyreel"))
    assert a_file.read_text(encoding="utf-8") == "x"


def test_ctrl_c_during_generate_cancels_its_queued_jobs(
    capsys: pytest.CaptureFixture[str], proj: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import engine.commands.generate as gc

    done_before = db_rows(proj, "select count(*) from jobs where status = 'done'")[0][0]

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(gc, "_run_or_follow", interrupted)
    code, _out, err = run(capsys, "generate", str(proj), "--shots", "all", "--seed", "5")
    assert code == 130 and "cancelled" in err and "Traceback" not in err
    rows = db_rows(proj, "select status, count(*) from jobs group by status")
    assert dict(rows) == {"done": done_before, "cancelled": 3}
    # so the next plain `generate` has nothing left over to run
    assert run(capsys, "generate", str(proj))[1].startswith("Nothing to generate")


def test_outputs_never_overwrite_the_projects_own_files(
    capsys: pytest.CaptureFixture[str], proj: Path,
) -> None:
    take = media_file(proj, first_take_media(proj))
    saved, db = take.read_bytes(), (proj / "project.db").read_bytes()
    for argv in (["export", str(proj), str(take), "--preset", "draft"],
                 ["mix", str(proj), str(proj / "project.db")],
                 ["pack", str(proj), str(proj / "cache" / "p.zip")]):
        assert "inside the project's own data" in fails_cleanly(capsys, *argv)
    assert take.read_bytes() == saved and (proj / "project.db").read_bytes() == db


def test_stored_media_is_readable_by_the_team(proj: Path) -> None:
    # a project folder shared on a team drive: its media must not be private to one user
    assert (media_file(proj, first_take_media(proj)).stat().st_mode & 0o777) == 0o644


def test_demo_never_replaces_a_users_project_and_checks_the_preset_first(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    mine = tmp_path / "out" / "雨夜来电.storyreel"  # the user's own film with the same title
    script = tmp_path / "s.txt"
    script.write_text(SCRIPT, encoding="utf-8")
    assert run(capsys, "new", str(mine))[0] == 0
    assert run(capsys, "import-script", str(mine), str(script))[0] == 0
    saved = (mine / "project.db").read_bytes()
    # (the demo prints its banner line first; the refusal is the one error sentence)
    code, _, err = run(capsys, "demo", str(tmp_path / "out"), "--quality", "draft",
                       "--preset", "draft")
    assert code == 2 and "Traceback" not in err
    assert "did not make" in err.strip().splitlines()[-1]
    assert (mine / "project.db").read_bytes() == saved
    code, _, err = run(capsys, "demo", str(tmp_path / "fresh"), "--preset", "nope")
    assert code == 2 and "Unknown export preset 'nope'" in err.strip().splitlines()[-1]
    assert not (tmp_path / "fresh").exists()


def test_a_deleted_thumbnail_blocks_pack_until_generate_draws_it_again(
    capsys: pytest.CaptureFixture[str], proj: Path, tmp_path: Path,
) -> None:
    thumb = db_rows(proj, "select t.thumbnail from takes t join shots s on s.id = t.shot_id "
                          "order by s.\"order\" limit 1")[0][0]
    media_file(proj, thumb).unlink()
    message = fails_cleanly(capsys, "pack", str(proj), str(tmp_path / "p.zip"))
    assert "thumbnail.png" in message and "storyreel generate" in message
    code, stdout, stderr = run(capsys, "generate", str(proj), "--quality", "draft", "--size",
                               "64x112", "--frames", "8")
    assert code == 0 and "Queued 1 job" in stderr
    assert db_rows(proj, "select count(*) from takes")[0][0] == 3  # the take is reused
    thumb_now = db_rows(proj, "select t.thumbnail from takes t join shots s on s.id = "
                              "t.shot_id order by s.\"order\" limit 1")[0][0]
    assert media_file(proj, thumb_now).stat().st_size > 0
    assert run(capsys, "pack", str(proj), str(tmp_path / "p.zip"))[0] == 0


def test_a_project_locked_by_another_process_is_busy_not_a_traceback(
    capsys: pytest.CaptureFixture[str], proj: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sqlite3

    import engine.store.project as project_module

    monkeypatch.setattr(project_module, "LOCK_TIMEOUT_S", 0.2)
    holder = sqlite3.connect(proj / "project.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
        message = fails_cleanly(capsys, "character", "add", str(proj), "新角色")
        assert "busy" in message and "nothing was changed" in message
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not any(c["name"] == "新角色" for c in info(capsys, proj)["characters"])
    assert run(capsys, "character", "add", str(proj), "新角色")[0] == 0
