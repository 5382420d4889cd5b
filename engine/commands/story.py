"""CLI commands of the story planner: import-script, plan, script show."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engine.commands.common import open_project, print_json
from engine.ops import story as story_ops
from engine.ops.addressing import resolve_shot_ids

LLM_CHOICES = ("auto", "none", "openai", "local")


def _stderr_progress(quiet: bool) -> Any:
    last = [""]

    def report(fraction: float, message: str = "") -> None:
        if not quiet and message and message != last[0]:
            last[0] = message
            print(f"[{fraction * 100:5.1f}%] {message}", file=sys.stderr)

    return report


def _tty_bar(quiet: bool) -> Any:
    """A one-line progress bar on a terminal's stderr (nothing when piped or --json)."""
    if quiet or not sys.stderr.isatty():
        return lambda fraction, message="": None

    def report(fraction: float, message: str = "") -> None:
        filled = int(fraction * 30)
        end = "\n" if fraction >= 1.0 else ""
        print(f"\r[{'#' * filled}{'.' * (30 - filled)}] {fraction * 100:5.1f}% {message:<32}",
              end=end, file=sys.stderr, flush=True)

    return report


def cmd_import_script(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        report = story_ops.import_script(store, Path(args.file), episode=args.episode,
                                         prune=args.prune,
                                         progress=_tty_bar(args.json)).result
    if args.json:
        print_json(report.to_dict())
        return 0
    title = f" {report.title!r}" if report.title else ""
    episodes = f"{report.episodes} episodes, " if report.episodes > 1 else (
        f"episode {args.episode}, " if args.episode else "")
    print(f"Imported {report.format} script{title}: {episodes}{report.scenes} scenes, "
          f"{report.characters} characters ({report.characters_added} new), "
          f"{report.shots} shots.")
    print(f"  shots: {report.shots_added} added, {report.shots_changed} changed (stale), "
          f"{report.shots_kept} kept, {report.shots_removed} removed; scenes: "
          f"{report.scenes_added} added, {report.scenes_changed} changed.")
    if report.scenes_pruned:
        print(f"  pruned scenes: {', '.join(report.scenes_pruned)}")
    if report.characters_kept_locked:
        print(f"  {report.characters_kept_locked} locked character(s) left as they were.")
    if report.shots_kept_locked:
        print(f"  {report.shots_kept_locked} locked shot(s) kept.")
    for warning in report.warnings:
        print(f"  warning: {warning}")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        report = story_ops.plan(
            store, idea=args.idea, llm=args.llm, base_url=args.base_url, model=args.model,
            model_path=Path(args.model_path) if args.model_path else None,
            progress=_stderr_progress(args.json or args.llm == "none")).result
    if args.json:
        print_json(report.to_dict())
        return 0
    for notice in report.notices:
        print(notice)
    print(f"Planned {report.shots} shots in {report.scenes} scenes with {report.backend} "
          f"({report.characters} characters, {report.seconds:.1f}s).")
    if report.logline:
        print(f"  logline: {report.logline}")
    if report.shots_kept_locked:
        print(f"  {report.shots_kept_locked} locked shot(s) kept.")
    for warning in report.warnings:
        print(f"  warning: {warning}")
    return 0


def cmd_script_show(args: argparse.Namespace) -> int:

    with open_project(args.dir) as store:
        text = store.project.script_text
    if not text.strip():
        print("This project has no script yet.", file=sys.stderr)
        return 1
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def cmd_recompose(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        ids = resolve_shot_ids(store, args.shot) if args.shot else None
        changed = story_ops.recompose(store, ids).result
    print(f"Recomposed prompts: {changed} changed.")
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("import-script", help="import a .fountain/.txt/.md script")
    p.add_argument("dir")
    p.add_argument("file", metavar="FILE", help="the script (UTF-8, UTF-16 or GB18030 text)")
    p.add_argument("--episode", type=int, metavar="N",
                   help="the file is episode N of a series (its scenes replace only N's)")
    p.add_argument("--prune", action="store_true",
                   help="remove scenes the script no longer has (default: report them)")
    p.add_argument("--json", action="store_true", help="machine-readable report")
    p.set_defaults(func=cmd_import_script)

    p = subparsers.add_parser("plan", help="plan scenes and shots (from the script or an idea)")
    p.add_argument("dir")
    p.add_argument("--idea", help="write a script from this idea first (needs an LLM)")
    p.add_argument("--llm", default="auto", choices=LLM_CHOICES,
                   help="auto: a local server (Ollama, LM Studio) if one answers, else rules")
    p.add_argument("--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1")
    p.add_argument("--model", help="model name on the server")
    p.add_argument("--model-path", help="local transformers model folder (safetensors)")
    p.add_argument("--json", action="store_true", help="machine-readable report")
    p.set_defaults(func=cmd_plan)

    p = subparsers.add_parser("script", help="the project's script")
    ssub = p.add_subparsers(dest="script_command", metavar="ACTION",
                            parser_class=subparsers._parser_class)
    show = ssub.add_parser("show", help="print the imported script")
    show.add_argument("dir")
    show.set_defaults(func=cmd_script_show)
    rec = ssub.add_parser("recompose", help="recompose shot prompts from the current data")
    rec.add_argument("dir")
    rec.add_argument("--shot", action="append", metavar="SHOT",
                     help="only this shot: label like 2-3, id or prefix (repeatable)")
    rec.set_defaults(func=cmd_recompose)
