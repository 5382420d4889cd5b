"""The fuzz harness shared by the Hypothesis tests (tests/fuzz) and the long campaign
(bench/fuzz.py): entry points that take hostile input, and the rule every one must keep.

The rule (DESIGN.md, house rule 7): an input is either accepted, or refused with the
project's own error carrying one sentence (one line, printable characters), and a
refusal changes nothing already saved. Anything else (a foreign exception, a message
over several lines or with control characters, a changed project, a hang) is a crash.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import random
import shutil
import signal
import tempfile
import traceback
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import StoryreelError

OK, REFUSED, CRASH = "ok", "refused", "crash"
HANG_S = 60  # one input taking longer than this is a hang (the campaign reports it)


@dataclass
class Outcome:
    kind: str  # OK, REFUSED or CRASH
    detail: str = ""


class Hang(Exception):
    """Raised by the alarm when one input runs past HANG_S."""


def clean_sentence(message: str) -> bool:
    """One non-empty line of printable characters (what a refusal must be)."""
    return bool(message.strip()) and "\n" not in message and message.isprintable()


@contextlib.contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Raise Hang in the main thread after ``seconds`` (no-op off the main thread)."""
    def _ring(_sig: int, _frame: Any) -> None:
        raise Hang(f"no answer after {seconds} s")

    try:
        old = signal.signal(signal.SIGALRM, _ring)
    except ValueError:  # not the main thread
        yield
        return
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def call(fn: Callable[[], Any], hang_s: int = HANG_S) -> Outcome:
    """Run one input through ``fn`` and judge it."""
    try:
        with deadline(hang_s):
            fn()
    except StoryreelError as exc:
        message = str(exc)
        if not clean_sentence(message):
            return Outcome(CRASH, f"unclear refusal {type(exc).__name__}: {message!r}")
        return Outcome(REFUSED, message)
    except Exception as exc:  # noqa: BLE001 - a foreign exception is the finding
        tb = traceback.extract_tb(exc.__traceback__)
        where = next((f"{Path(f.filename).name}:{f.lineno}" for f in reversed(tb)
                      if "/engine/" in f.filename), "?")
        return Outcome(CRASH, f"{type(exc).__module__}.{type(exc).__name__} at {where}: "
                              f"{str(exc)[:200]}")
    return Outcome(OK)


def cli(argv: list[str], hang_s: int = HANG_S) -> Outcome:
    """Run the ``storyreel`` command in-process: exit 0 is OK, exit 2 with one clean
    sentence on stderr is REFUSED; anything else (a traceback, another code) is CRASH."""
    from engine.cli import main

    out, err = io.StringIO(), io.StringIO()

    def run() -> int:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            return main(argv)

    code: list[int] = []
    outcome = call(lambda: code.append(run()), hang_s)
    if outcome.kind != OK:
        return outcome
    text = err.getvalue().strip()
    if code[0] == 0:
        return Outcome(OK)
    message = text.removeprefix("storyreel: ")
    if code[0] == 2 and clean_sentence(message):
        return Outcome(REFUSED, message)
    return Outcome(CRASH, f"exit {code[0]}: {text[:300]!r}")


def tree_digest(root: Path) -> str:
    """A hash of every file's path and bytes under ``root`` (cache/ left out)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("cache/") or rel.endswith(("-wal", "-shm")):
            continue
        digest.update(rel.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


# --------------------------------------------------------------------------- mutation
def mutate(data: bytes, rng: random.Random, edits: int | None = None) -> bytes:
    """Byte-level mutations as a damaged disk, a bad copy or a hostile user makes them:
    flipped bits, overwritten bytes, cut-off ends, deleted, duplicated or inserted runs."""
    buf = bytearray(data)
    for _ in range(edits if edits is not None else rng.choice((0, 1, 1, 2, 3, 8))):
        if not buf:
            buf += bytes([rng.randrange(256)])
            continue
        op = rng.randrange(7)
        pos = rng.randrange(len(buf))
        if op == 0:
            buf[pos] ^= 1 << rng.randrange(8)
        elif op == 1:
            buf[pos] = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256)))
        elif op == 2:
            del buf[rng.randrange(1, len(buf) + 1):]
        elif op == 3:
            del buf[pos:pos + rng.randrange(1, 64)]
        elif op == 4:
            run = bytes(buf[pos:pos + rng.randrange(1, 64)])
            buf[pos:pos] = run * rng.randrange(1, 4)
        elif op == 5:
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16)))
        else:
            n = rng.randrange(1, 9)
            buf[pos:pos + n] = bytes(rng.randrange(256) for _ in range(n))
    return bytes(buf)


# --------------------------------------------------------------------------- corpora
SCRIPT_ZH = ("第1场 夜 内 咖啡馆\n\n林雨：你终于来了。\n陈默：（低声）对不起，我来晚了。\n"
             "△ 林雨转身离开。\n旁白：那一夜，雨下个不停。\n\n第2场 日 外 街道\n\n"
             "陈默：等等！\n")
SCRIPT_FOUNTAIN = ("Title: The Late Train\n\nINT. KITCHEN - NIGHT\n\nAnna waits.\n\nANNA\n"
                   "(quietly)\nYou came back.\n\nBEN\nI missed the train.\n\nCUT TO:\n\n"
                   "EXT. STATION - DAY\n\nBen runs.\n")
HEADINGS = ["第{n}场 日 内 客厅", "第{n}场 夜 外 街道", "第{n}场", "INT. ROOM {n} - DAY",
            "EXT. PARK - NIGHT", ".FLASHBACK {n}", "第{n}集", "场景{n}：天台 夜"]
BODY = ["李明：你好。", "王芳：（生气）走开！", "旁白：很久以前。", "△ 门开了。", "ANNA",
        "(beat)", "Hello there.", "CUT TO:", "> THE END <", "[[note]]", "/* boneyard */",
        "**bold** _under_", "~lyric", "=== ", "#Act 1", "= synopsis", "李明（OS）：喂？",
        "", "   ", "\t", "：：", "（", "）", "第场", "Title: X", "@McCLANE", "!SHOUT"]


def script_text(rng: random.Random) -> str:
    """A script-shaped text: real headings and lines, shuffled, cut and mutated."""
    lines: list[str] = []
    for _ in range(rng.randrange(0, 40)):
        if rng.random() < 0.2:
            lines.append(rng.choice(HEADINGS).format(n=rng.randrange(-2, 10**rng.randrange(1, 7))))
        else:
            lines.append(rng.choice(BODY))
    text = "\n".join(lines)
    if rng.random() < 0.5:
        base = rng.choice((SCRIPT_ZH, SCRIPT_FOUNTAIN))
        text = base + "\n" + text if rng.random() < 0.5 else text
    if rng.random() < 0.3:
        chars = list(text)
        for _ in range(rng.randrange(1, 6)):
            if chars:
                chars[rng.randrange(len(chars))] = chr(rng.choice(
                    (0, 0x0B, 0x85, 0x2028, 0xFEFF, 0x200B, 0x3000, rng.randrange(0x20, 0x3000))))
        text = "".join(chars)
    return text


ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "gb18030", "big5",
             "shift_jis", "latin-1")


def script_bytes(rng: random.Random) -> bytes:
    """A script file as saved by some editor, then damaged."""
    text = script_text(rng)
    data = text.encode(rng.choice(ENCODINGS), errors="replace")
    if rng.random() < 0.2:
        data = rng.choice((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")) + data
    if rng.random() < 0.5:
        data = mutate(data, rng)
    return data


# --------------------------------------------------------------------------- entry points
def run_script_file(data: bytes, workdir: Path, suffix: str = ".txt") -> Outcome:
    """read_script_file + parse_script + breakdown on a file with these bytes."""
    from engine.story.breakdown import breakdown
    from engine.story.importer import parse_script, read_script_file

    path = workdir / f"script{suffix}"
    path.write_bytes(data)

    def go() -> None:
        text = read_script_file(path)
        breakdown(parse_script(text))

    return call(go)


def run_script_text(text: str, fmt: str = "auto") -> Outcome:
    from engine.story.breakdown import breakdown
    from engine.story.importer import parse_script

    return call(lambda: breakdown(parse_script(text, fmt)))


def run_subtitles(lines: list[Any], workdir: Path, aspect: str = "9:16") -> Outcome:
    """make_cues → SRT and ASS files → read back with pysubs2: same cues, in order."""
    import pysubs2

    from engine.interchange.subtitles import make_cues, write_ass, write_srt

    def go() -> None:
        cues = make_cues(lines, "zh", aspect)
        for cue in cues:
            assert cue.end > cue.start, cue
            assert cue.text.count("\n") <= 1, cue
        srt = write_srt(cues, workdir / "s.srt")
        ass = write_ass(cues, workdir / "s.ass", 1080, 1920)
        for path in (srt, ass) if cues else ():
            back = pysubs2.load(str(path), encoding="utf-8")
            assert len(back) == len(cues), (path.suffix, len(back), len(cues))

    return call(go)


def run_bundle(data: bytes, workdir: Path) -> Outcome:
    """``storyreel unpack`` of a zip with these bytes; a refusal leaves no folder."""
    zip_path = workdir / "in.zip"
    zip_path.write_bytes(data)
    target = workdir / "out.storyreel"
    shutil.rmtree(target, ignore_errors=True)
    outcome = cli(["unpack", str(zip_path), str(target)])
    if outcome.kind == REFUSED and target.exists():
        return Outcome(CRASH, f"refused ({outcome.detail}) but left {target.name} behind")
    if outcome.kind == OK:
        outcome = cli(["info", str(target)])  # what unpack accepted must open
        if outcome.kind == REFUSED:
            return Outcome(CRASH, f"unpacked a bundle that then fails: {outcome.detail}")
    leftovers = [p.name for p in workdir.iterdir() if p.name.startswith(".unpack-")]
    if leftovers:
        return Outcome(CRASH, f"unpack left {leftovers[0]} behind")
    shutil.rmtree(target, ignore_errors=True)
    return outcome


DIR = "{dir}"
PROJECT_COMMANDS = (["info", DIR], ["info", DIR, "--json"], ["timeline", DIR],
                    ["character", "list", DIR], ["script", "show", DIR],
                    ["takes", DIR, "1-1"], ["jobs", DIR], ["voices", "list", DIR],
                    ["pack", DIR])


def run_project(db: bytes, project: Path, workdir: Path, command: list[str]) -> Outcome:
    """A project folder whose project.db holds these bytes, then ``command``; a refused
    command must leave the folder as it was."""
    (project / "project.db").write_bytes(db)
    for extra in project.glob("project.db-*"):
        extra.unlink()
    for backup in project.glob("project.v*.bak.db"):
        backup.unlink()
    before = tree_digest(project)
    argv = [str(project) if a == DIR else a for a in command]
    if command[0] == "pack":
        argv.append(str(workdir / "out.zip"))
    outcome = cli(argv)
    if outcome.kind == REFUSED and tree_digest(project) != before:
        return Outcome(CRASH, f"refused ({outcome.detail}) but changed the project")
    if outcome.kind == REFUSED and list(workdir.glob("out.zip*")):
        return Outcome(CRASH, f"refused ({outcome.detail}) but left a zip behind")
    for p in workdir.glob("out.zip*"):
        p.unlink()
    return outcome


class ReplayBackend:
    """An LLM backend (the LLMBackend protocol) that answers with the given replies."""

    name = "fuzz"

    def __init__(self, replies: list[str]) -> None:
        self.replies = list(replies)

    def complete_json(self, messages: list[Any], schema: dict[str, Any], schema_name: str,
                      max_tokens: int, cancel: Any = None) -> str:
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]


GOOD_STORY = {
    "title": "雨夜", "logline": "两个人在雨夜重逢。",
    "characters": [{"name": "林雨", "gender": "female", "age": 28, "appearance": "长发",
                    "costume": "风衣", "personality": "倔强"}],
    "scenes": [{"location": "咖啡馆", "setting": "INT", "time_of_day": "night",
                "beats": [{"kind": "dialogue", "speaker": "林雨", "emotion": "",
                           "text": "你来了。"}]}],
}
GOOD_SHOTS = {"shots": [{"beats": [0, 1], "size": "medium", "angle": "eye_level",
                         "camera_move": "static", "characters": ["林雨"],
                         "action": "林雨抬头。"}]}


def llm_reply(rng: random.Random) -> tuple[str, str]:
    """(what was asked: "story" or "shots", a model's reply): valid JSON, JSON amid
    chatter, fenced, after a think block, cut off, or mutated."""
    what = rng.choice(("story", "shots"))
    doc = json.dumps(GOOD_STORY if what == "story" else GOOD_SHOTS,
                     ensure_ascii=rng.random() < 0.5)
    wrap = rng.randrange(5)
    if wrap == 1:
        doc = f"Here is the plan:\n```json\n{doc}\n```\nHope it helps."
    elif wrap == 2:
        doc = f"<think>hmm {{</think>{doc}"
    elif wrap == 3:
        doc = doc[:rng.randrange(len(doc) + 1)]
    if rng.random() < 0.6:
        doc = mutate(doc.encode(), rng).decode("utf-8", errors=rng.choice(("replace", "ignore")))
    return what, doc


def run_llm(what: str, reply: str, second: str | None = None) -> Outcome:
    """ask_json for a story, or plan_scene_shots for a scene, on these replies (the
    second answers the repair retry)."""
    from engine.story.importer import parse_script
    from engine.story.llm import ask_json
    from engine.story.planner import plan_scene_shots
    from engine.story.schemas import StoryDraft

    backend = ReplayBackend([reply] if second is None else [reply, second])

    def go() -> None:
        if what == "story":
            ask_json(backend, StoryDraft, "system", "idea")
        else:
            script = parse_script(SCRIPT_ZH)
            plan_scene_shots(backend, script, script.scenes[0])

    return call(go)


def run_media(data: bytes, workdir: Path, suffix: str) -> Outcome:
    """probe() of a media file with these bytes (what every import goes through)."""
    from engine.store.media import probe

    path = workdir / f"m{suffix}"
    path.write_bytes(data)
    return call(lambda: probe(path))


# --------------------------------------------------------------------------- fixtures
def build_project(root: Path) -> Path:
    """A small planned, voiced and generated project (the fuzzers' seed)."""
    from engine.cli import main

    script = root / "seed.txt"
    script.write_text(SCRIPT_ZH, encoding="utf-8")
    proj = root / "seed.storyreel"
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        for argv in (["new", str(proj)], ["import-script", str(proj), str(script)],
                     ["plan", str(proj), "--llm", "none"], ["voice", str(proj)],
                     ["generate", str(proj), "--quality", "draft", "--size", "64x112",
                      "--frames", "8"],
                     ["pack", str(proj), str(root / "seed.zip")]):
            if main(argv) != 0:
                raise RuntimeError(f"building the fuzz seed failed at {argv}: "
                                   f"{sink.getvalue()[-500:]}")
    return proj


def seed_media(root: Path) -> dict[str, bytes]:
    """Small valid media files, one per kind the store accepts."""
    from tests.media_factory import make_image, make_video, make_wav

    files = {".wav": make_wav(root / "a.wav", seconds=0.2),
             ".png": make_image(root / "a.png"),
             ".mp4": make_video(root / "a.mp4")}
    return {ext: Path(p).read_bytes() for ext, p in files.items()}


def zip_entries(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.namelist()


def fresh_dir(parent: Path) -> Path:
    return Path(tempfile.mkdtemp(dir=parent))
