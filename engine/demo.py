"""`storyreel demo`: the whole pipeline on the bundled sample, on embedded defaults.

Sample script (3 scenes, 2 characters with reference sheets and different voices) →
import → plan (rules, no LLM) → voices (Kokoro neural voices) → music bed → animatic takes →
9:16 film with burned subtitles, SRT and OTIO sidecars and the AI label.
No GPU, no weights, no LLM, no network.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.assets import asset_path
from engine.errors import StoryreelError
from engine.jobs.progress import CancelToken, Progress
from engine.model import Aspect, Language, Project

SAMPLE_SCRIPT = asset_path("sample", "script.txt")
SAMPLE_REFS = {"林雨": asset_path("sample", "refs", "linyu.png"),
               "陈默": asset_path("sample", "refs", "chenmo.png")}
SAMPLE_MUSIC = asset_path("music", "gentle-bed.ogg")
PROJECT_NAME = "雨夜来电.storyreel"


@dataclass
class DemoReport:
    project: Path
    film: Path
    srt: Path | None
    otio: Path | None
    stages: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    duration: float = 0.0


def _progress_printer(stage: str, stream: Any) -> Progress:
    """A one-line progress bar on a terminal; a line per quarter in a log file."""
    tty = bool(getattr(stream, "isatty", lambda: False)())
    step = 2 if tty else 25
    last = [-step]

    def report(fraction: float, message: str = "") -> None:
        pct = int(max(0.0, min(1.0, fraction)) * 100)
        if pct < last[0] + step and pct < 100:
            return
        last[0] = pct
        bar = "█" * (pct // 5) + "·" * (20 - pct // 5)
        text = f"  {stage:<9} {bar} {pct:3d}%  {message[:48]}"
        if tty:
            stream.write(f"\r{text:<96}")
        else:
            stream.write(text + "\n")
        stream.flush()

    return report


DEMO_MARK = "storyreel demo"


def _made_by_demo(db_path: Path) -> bool:
    """The project's settings carry the demo's mark (read without opening the project)."""
    import json
    import sqlite3

    try:
        con = sqlite3.connect(f"file:{db_path.as_posix()}?mode=ro", uri=True)
        try:
            row = con.execute("SELECT settings, script_text FROM project").fetchone()
        finally:
            con.close()
        if not row:
            return False
        if json.loads(row[0]).get("made_by") == DEMO_MARK:
            return True
        # made before the mark existed: the sample script, as the demo imported it
        return bool(row[1]) and row[1].strip() == _sample_text().strip()
    except (sqlite3.Error, ValueError, AttributeError):
        return False


def _sample_text() -> str:
    from engine.story.importer import read_script_file

    return read_script_file(Path(SAMPLE_SCRIPT))


def _prepare_out_dir(out_dir: Path) -> Path:
    project_dir = out_dir / PROJECT_NAME
    if project_dir.exists():
        if not (project_dir / "project.db").is_file():
            raise StoryreelError(
                f"{project_dir} exists and is not a Storyreel project; choose another folder."
            )
        if not _made_by_demo(project_dir / "project.db"):
            raise StoryreelError(
                f"{project_dir} is a Storyreel project the demo did not make; choose another "
                "folder (the demo replaces only its own earlier project)."
            )
        shutil.rmtree(project_dir)  # a previous demo run: start fresh
    out_dir.mkdir(parents=True, exist_ok=True)
    return project_dir


def run_demo(
    out_dir: Path,
    preset: str = "douyin",
    quality: str = "standard",
    stream: Any = None,
    cancel: CancelToken | None = None,
) -> DemoReport:
    from engine.generate.service import generate_now
    from engine.model import Character
    from engine.ops import audio as audio_ops
    from engine.ops import characters as char_ops
    from engine.ops import story as story_ops
    from engine.render.export import export_film
    from engine.render.presets import get_preset
    from engine.store import ProjectStore

    get_preset(preset)  # an unknown preset is refused before minutes of work
    stream = stream if stream is not None else sys.stderr
    out_dir = Path(out_dir).resolve()
    project_dir = _prepare_out_dir(out_dir)
    stages: dict[str, float] = {}

    @contextmanager
    def stage(name: str) -> Iterator[Callable[[float, str], None]]:
        started = time.monotonic()
        yield _progress_printer(name, stream)
        stages[name] = time.monotonic() - started
        prefix = "\r" if getattr(stream, "isatty", lambda: False)() else ""
        stream.write(f"{prefix}  {name:<9} done in {stages[name]:6.1f} s{' ' * 70}\n")
        stream.flush()

    width, height = Aspect.PORTRAIT.default_resolution()
    project = Project(title="雨夜来电", language=Language.CHINESE, aspect=Aspect.PORTRAIT,
                      width=width, height=height,
                      style="电影感，冷暖对比的霓虹雨夜，浅景深",
                      settings={"made_by": DEMO_MARK})
    store = ProjectStore.create(project_dir, project)
    try:
        with stage("import") as progress:
            story_ops.import_script(store, SAMPLE_SCRIPT)
            for name, ref in SAMPLE_REFS.items():
                character = store.character_by_name(name)
                if character is None:
                    raise StoryreelError(f"The sample script has no character {name}.")
                char_ops.add_reference_images(store, character.id, [ref], replace=True)
            progress(1.0, "script and cast imported")
        with stage("plan") as progress:
            story_ops.plan(store, llm="none", progress=progress, cancel=cancel)
        with stage("voices") as progress:
            audio_ops.voice_lines(store, progress=progress, cancel=cancel)
        with stage("music") as progress:
            audio_ops.add_music(store, SAMPLE_MUSIC)  # measured: a bed well under the dialogue
            progress(1.0, "music bed placed under the whole film")
        with stage("generate") as progress:
            shots = store.shots()
            generate_now(store, [s.id for s in shots], backend="animatic", quality=quality,
                         progress=progress, cancel=cancel)
        film = out_dir / "雨夜来电.mp4"
        with stage("export") as progress:
            export = export_film(store, film, preset=preset, srt=True, otio=True,
                                 burn_subtitles=True, aigc_label="both",
                                 progress=progress, cancel=cancel)
        from engine.model import Take, VoiceClip

        counts = {
            "scenes": len(store.scenes()), "shots": len(store.shots()),
            "characters": len(store.all(Character)), "takes": len(store.all(Take)),
            "voice_clips": len(store.all(VoiceClip)),
        }
        store.mark_saved()
    finally:
        store.close()
    return DemoReport(project=project_dir, film=export.path, srt=export.srt, otio=export.otio,
                      stages=stages, counts=counts, duration=export.duration)


def cmd_demo(args: argparse.Namespace) -> int:
    started = time.monotonic()
    print(f"Storyreel demo: making 《雨夜来电》 from the bundled sample into {args.out_dir}",
          file=sys.stderr)
    report = run_demo(Path(args.out_dir), preset=args.preset, quality=args.quality)
    c = report.counts
    print(f"\nDone in {time.monotonic() - started:.1f} s: {c['scenes']} scenes, "
          f"{c['shots']} shots, {c['characters']} characters, {c['voice_clips']} voice lines, "
          f"a {report.duration:.1f} s film.")
    print(f"  film      {report.film}")
    if report.srt:
        print(f"  subtitles {report.srt}")
    if report.otio:
        print(f"  edit      {report.otio}")
    print(f"  project   {report.project}   (open it: storyreel gui \"{report.project}\")")
    print("  stages    " + ", ".join(f"{k} {v:.1f} s" for k, v in report.stages.items()))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="make the sample short drama end to end (no GPU needed)")
    p.add_argument("out_dir", nargs="?", default="demo-output", metavar="OUT_DIR",
                   help="folder for the project and the film (default demo-output)")
    p.add_argument("--preset", default="douyin", help="export preset (default douyin)")
    p.add_argument("--quality", default="standard", choices=["draft", "standard", "final"],
                   help="animatic render quality (default standard)")
    p.set_defaults(func=cmd_demo)
