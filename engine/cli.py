"""The ``storyreel`` command.

Project-level commands (new, info, import-media, pack, unpack, gui) live here; the rest
are in ``engine.commands`` modules with a ``register(subparsers)`` function listed in
COMMAND_MODULES. The helpers the handlers
share (``UsageError``, ``open_project``, ``print_json``) live in ``engine.commands.common``;
the handlers live in ``engine.commands`` (above ``engine.ops``: every write is an operation).
Bad input prints one sentence on stderr and exits 2, never a traceback.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from engine import __version__, demo
from engine.commands import audio as audio_commands
from engine.commands import cast as cast_commands
from engine.commands import consistency as consistency_commands
from engine.commands import generate as generate_commands
from engine.commands import handoff as handoff_commands
from engine.commands import history as history_commands
from engine.commands import render as render_commands
from engine.commands import series as series_commands
from engine.commands import shots as shot_commands
from engine.commands import story as story_commands
from engine.commands import team as team_commands
from engine.commands.common import UsageError, open_project, print_json
from engine.errors import StoryreelError, one_line
from engine.model import Aspect, Language, Project

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# command modules, each with register(subparsers), in the order `storyreel -h` lists them
COMMAND_MODULES = (cast_commands, shot_commands, history_commands, story_commands,
                   generate_commands, audio_commands, render_commands, demo,
                   team_commands, series_commands, handoff_commands,
                   consistency_commands)  # consistency after generate: it adds --takes/--pick

Handler = Callable[[argparse.Namespace], int]

_PATH_ERRNOS = {errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EACCES, errno.EPERM,
                errno.EEXIST, errno.EROFS, errno.ENAMETOOLONG, errno.ENOTEMPTY}


# help for arguments that mean the same in every command (used where none is given)
COMMON_HELP = {
    "dir": "the project folder (NAME.storyreel)",
    "json": "print machine-readable JSON",
}


class _Parser(argparse.ArgumentParser):
    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        if action.help is None and action.dest in COMMON_HELP:
            action.help = COMMON_HELP[action.dest]
        return action

    def error(self, message: str) -> None:  # type: ignore[override]
        # main() prints "storyreel: " already; name only the subcommand ("export: ...")
        command = self.prog.removeprefix("storyreel").strip()
        raise UsageError(f"{command}: {message}." if command else f"{message[:1].upper()}"
                         f"{message[1:]}.")


def parse_fps(text: str) -> Fraction:
    try:
        fps = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise UsageError(f"--fps {text!r} is not a number like 30, 25 or 30000/1001.") from None
    if not (1 <= fps <= 240):
        raise UsageError(f"--fps {text} is outside 1–240.")
    return fps


# --------------------------------------------------------------------------- commands
def cmd_new(args: argparse.Namespace) -> int:
    from engine.store import ProjectStore

    aspect = Aspect(args.aspect)
    width, height = aspect.default_resolution()
    path = Path(args.dir)
    title = args.title or path.name.removesuffix(".storyreel")
    project = Project(
        title=title, language=Language(args.lang), aspect=aspect, width=width,
        height=height, fps=parse_fps(args.fps), style=args.style or "",
    )
    with ProjectStore.create(path, project) as store:
        print(f"Created project {title!r} at {store.root} ({aspect} {width}×{height}, "
              f"{project.fps} fps, {project.language}).")
    return 0


def project_summary(store: Any) -> dict[str, Any]:
    from engine.model import entities as E

    project = store.project
    characters = store.characters()
    char_names = {c.id: c.name for c in characters}
    scenes = store.scenes()
    shots = store.shots()
    takes = store.all(E.Take)
    episode_of = {e.id: e.number for e in store.episodes()}
    location_of = {loc.id: loc.name for loc in store.locations()}
    from engine.model.shot_rules import shot_labels

    labels = shot_labels(scenes, shots, store.episodes())
    return {
        "title": project.title,
        "id": project.id,
        "language": str(project.language),
        "aspect": str(project.aspect),
        "resolution": [project.width, project.height],
        "fps": str(project.fps),
        "style": project.style,
        "logline": project.logline,
        "schema_version": store.schema_version,
        "counts": {
            "scenes": len(scenes),
            "shots": len(shots),
            "characters": len(characters),
            "takes": len(takes),
            "media": len(store.all(E.MediaAsset)),
            "voice_clips": len(store.all(E.VoiceClip)),
            "jobs": len(store.all(E.Job)),
            "episodes": len(episode_of),
            "locations": len(location_of),
        },
        "episodes": [{"number": e.number, "id": e.id, "title": e.title, "logline": e.logline}
                     for e in store.episodes()],
        "locations": [{"name": loc.name, "id": loc.id, "description": loc.description,
                       "reference_images": loc.reference_images} for loc in store.locations()],
        "characters": [
            {
                "id": c.id, "name": c.name, "age": c.age, "gender": c.gender,
                "appearance": c.appearance, "costume": c.costume, "role": c.role,
                "description": c.description, "voice": c.voice.to_dict(),
                "reference_images": c.reference_images,
            }
            for c in characters
        ],
        "scenes": [
            {
                "id": s.id, "number": s.number, "heading": s.heading, "location": s.location,
                "episode": episode_of.get(s.episode_id or ""),
                "setting": str(s.setting), "time_of_day": str(s.time_of_day),
                "shots": [
                    {
                        "id": sh.id, "label": labels[sh.id], "order": sh.order,
                        "size": str(sh.size),
                        "angle": str(sh.angle), "camera_move": str(sh.camera_move),
                        "duration": sh.duration, "status": str(sh.status),
                        "characters": [char_names.get(c, c) for c in sh.characters],
                        "dialogue": [
                            {"speaker": char_names.get(d.character_id or "", "narrator"),
                             "text": d.text, "emotion": d.emotion, "kind": str(d.kind)}
                            for d in sh.dialogue
                        ],
                        "action": sh.action,
                        "prompt": sh.effective_prompt,
                        "negative_prompt": sh.negative_prompt,
                        "takes": len([t for t in takes if t.shot_id == sh.id]),
                    }
                    for sh in shots if sh.scene_id == s.id
                ],
            }
            for s in scenes
        ],
    }


def cmd_info(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        info = project_summary(store)
    if args.json:
        print_json(info)
        return 0
    c = info["counts"]
    print(f"{info['title']}  ({info['aspect']} {info['resolution'][0]}×{info['resolution'][1]}, "
          f"{info['fps']} fps, {info['language']}, schema {info['schema_version']})")
    print(f"  scenes {c['scenes']} · shots {c['shots']} · characters {c['characters']} · "
          f"takes {c['takes']} · media {c['media']}")
    if c["episodes"] > 1:
        print(f"  episodes {c['episodes']} · locations {c['locations']}")
    for scene in info["scenes"]:
        episode = f"E{scene['episode']} " if c["episodes"] > 1 else ""
        print(f"  {episode}{scene['number']:>3}. {scene['heading']}  "
              f"({len(scene['shots'])} shots)")
    return 0


def cmd_import_media(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        # validate every file first: one unreadable file adds nothing
        from engine.store.media import probe

        for f in args.files:
            if not Path(f).is_file():
                raise UsageError(f"{f} does not exist or is not a file.")
            probe(Path(f))
        for f in args.files:
            asset = store.media.import_file(f)
            extra = f", {asset.duration:.2f}s" if asset.duration else ""
            size = f", {asset.width}×{asset.height}" if asset.width else ""
            print(f"{asset.sha256[:12]}  {asset.kind}{size}{extra}  {Path(f).name}")
    return 0


def cmd_pack(args: argparse.Namespace) -> int:
    from engine.interchange.bundle import pack

    with open_project(args.dir) as store:
        count = pack(store, Path(args.out))
    print(f"Packed {count} entries into {args.out}.")
    return 0


def cmd_unpack(args: argparse.Namespace) -> int:
    from engine.interchange.bundle import unpack

    target = unpack(Path(args.zip), Path(args.dir))
    print(f"Unpacked project into {target}.")
    return 0


def cmd_repair(args: argparse.Namespace) -> int:
    from engine.store import find_project_dir, integrity

    root = find_project_dir(args.dir)
    restored, kept = integrity.repair(root)
    print(f"Restored project.db from {restored.relative_to(root).as_posix()}; the damaged "
          f"file is kept as {kept.name}.")
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    # by name on purpose: engine never imports studio (the import-linter contract forbids
    # it); the GUI is a client of the engine that this one command starts
    try:
        app = importlib.import_module("studio.app")
    except ImportError as exc:
        raise StoryreelError(f"The desktop studio is not available ({exc}).") from exc
    return int(app.main(args))


# --------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="storyreel", description="Storyreel: idea or script → short drama.")
    parser.add_argument("--version", action="version", version=f"storyreel {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("new", help="create a project folder")
    p.add_argument("dir")
    p.add_argument("--title", help="the film's title (default: the folder name)")
    p.add_argument("--aspect", default="9:16", choices=[a.value for a in Aspect],
                   help="frame shape: 9:16 portrait (default), 16:9 landscape, 1:1 square")
    p.add_argument("--fps", default="30", help="frame rate, e.g. 30, 25 or 30000/1001")
    p.add_argument("--lang", default="zh", choices=[lang.value for lang in Language],
                   help="language of the script, voices and subtitles")
    p.add_argument("--style", help="visual style words added to every prompt")
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("info", help="show what a project holds")
    p.add_argument("dir")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("import-media", help="copy media files into the project")
    p.add_argument("dir")
    p.add_argument("files", nargs="+", metavar="FILE", help="images, audio or video files")
    p.set_defaults(func=cmd_import_media)

    p = sub.add_parser("pack", help="pack the project and its media into a zip")
    p.add_argument("dir")
    p.add_argument("out", metavar="OUT.zip", help="the zip file to write")
    p.set_defaults(func=cmd_pack)

    p = sub.add_parser("unpack", help="unpack a project zip into a new folder")
    p.add_argument("zip", metavar="ZIP", help="a zip made by `storyreel pack`")
    p.add_argument("dir", help="the new project folder to create")
    p.set_defaults(func=cmd_unpack)

    p = sub.add_parser("repair", help="restore a damaged project.db from its newest good "
                       "backup (the damaged file is kept)")
    p.add_argument("dir")
    p.set_defaults(func=cmd_repair)

    p = sub.add_parser("gui", help="open the desktop studio")
    p.add_argument("dir", nargs="?", help="a project folder to open")
    p.add_argument("--screenshot", metavar="OUT.png", help="render the window to a PNG and exit")
    p.set_defaults(func=cmd_gui)

    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if getattr(args, "func", None) is None:
            parser.print_help()
            return 2
        return int(args.func(args) or 0)
    except StoryreelError as exc:
        print(f"storyreel: {one_line(str(exc), 600)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("storyreel: cancelled.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (``storyreel info DIR | head``): stop quietly, no traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 1
    except Exception as exc:
        # SQLite gave up waiting for another process's write lock (outside a store session)
        if type(exc).__module__.startswith("sqlalchemy") and "database is locked" in str(exc):
            from engine.store.project import BUSY

            print(f"storyreel: {BUSY}", file=sys.stderr)
            return 1
        if not isinstance(exc, OSError):
            raise
        return _os_error(exc)


def _os_error(exc: OSError) -> int:
    """A path that cannot be used (not a folder, no permission, read-only, disk full):
    one sentence, not a traceback; a bad path is bad input (2), the rest a failure (1)."""
    where = f": {exc.filename}" if exc.filename else ""
    print(f"storyreel: {exc.strerror or exc}{where}.", file=sys.stderr)
    return 2 if exc.errno in _PATH_ERRNOS else 1


if __name__ == "__main__":
    raise SystemExit(main())
