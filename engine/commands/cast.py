"""CLI: ``storyreel character add|set|voice|delete|list``, ``scene set|add|delete|list``,
``project set``.

Thin: parse → call the operation (``engine.ops``) → print what changed. The checks (a
name is not blank, every reference decodes as an image, a voice speaks before it is
saved, ranges) are the operations', the same the studio's Cast tab gets.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from engine.commands.common import UsageError, open_project, print_json
from engine.ops import characters as char_ops
from engine.ops import project as project_ops
from engine.ops import scenes as scene_ops
from engine.ops.addressing import resolve_character, resolve_scene

CHARACTER_FLAGS: dict[str, str] = {
    "name": "a new name (the script's lines follow the character, not the name)",
    "appearance": "face, hair, build (added to prompts)",
    "costume": "what the character wears (added to prompts)",
    "appearance_en": "the appearance in English (CLIP-family prompts of a Chinese project)",
    "costume_en": "the costume in English (CLIP-family prompts of a Chinese project)",
    "age": "age, a number or words like 二十多岁",
    "gender": "female, male or unknown (女/男 work too)",
    "personality": "how the character behaves",
    "description": "who the character is",
    "lora_path": "a LoRA file that keeps the character's look",
}
SCENE_FLAGS: dict[str, str] = {
    "heading": "the scene heading, e.g. INT. 咖啡馆 - NIGHT",
    "location": "where it happens",
    "setting": "INT, EXT or INT/EXT",
    "time_of_day": "day, night, dawn, dusk, morning, evening, continuous",
    "weather": "rain, snow, ... (added to prompts)",
    "lighting": "neon, candle light, ... (added to prompts)",
    "description": "what the scene is about",
}
PROJECT_FLAGS: dict[str, tuple[str, str]] = {
    "title": ("title", "the film's title"),
    "style": ("style", "visual style words added to every prompt"),
    "logline": ("logline", "the story in one sentence"),
    "lang": ("language", "zh or en: script, voices and subtitles"),
    "aspect": ("aspect", "9:16, 16:9 or 1:1"),
    "width": ("width", "frame width in pixels (even)"),
    "height": ("height", "frame height in pixels (even)"),
    "fps": ("fps", "frame rate, e.g. 30, 25 or 30000/1001"),
}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _given(args: argparse.Namespace, names: Any) -> dict[str, Any]:
    return {n: getattr(args, n) for n in names if getattr(args, n) is not None}


def _lock_value(args: argparse.Namespace) -> dict[str, Any]:
    return {} if args.locked is None else {"locked": args.locked}


def _report(changes: Any, what: str) -> None:
    if changes.empty:
        print(f"{what}: nothing changed.")
    else:
        print(f"Changed {what} (history #{changes.seq}).")


# --------------------------------------------------------------------------- characters
def cmd_character_add(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        fields = _given(args, ("description", "appearance", "costume", "age", "gender"))
        changes = char_ops.add_character(store, args.name, references=args.ref or [],
                                         **fields)
        character = changes.result
        print(f"Added character {character.name} "
              f"({len(character.reference_images)} reference image(s)).")
        for warning in char_ops.reference_warnings(args.ref or []):
            print(f"storyreel: warning: {warning}", file=sys.stderr)
    return 0


def cmd_character_set(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        character = resolve_character(store, args.character)
        fields = {**_given(args, CHARACTER_FLAGS), **_lock_value(args)}
        if not fields and not args.ref and not args.clear_refs:
            raise UsageError("Nothing to change: give at least one of "
                             + ", ".join(_flag(f) for f in CHARACTER_FLAGS)
                             + ", --ref or --clear-refs.")
        changes = char_ops.edit_character(store, character.id, references=args.ref or [],
                                          clear_references=args.clear_refs, **fields)
        after = store.require(type(character), character.id)
        _report(changes, f"character {after.name}")
    return 0


def cmd_character_voice(args: argparse.Namespace) -> int:
    """Show or set a character's (or the narrator's) voice; a new voice speaks first."""
    changes = {k: v for k in ("backend", "voice", "rate", "pitch", "volume")
               if (v := getattr(args, k)) is not None}
    with open_project(args.dir) as store:
        narrator = args.name.strip() in ("narrator", "旁白")
        character = None if narrator else resolve_character(store, args.name)
        if not changes:
            current = store.project.narrator_voice if narrator else character.voice
            print(json.dumps(current.to_dict(), ensure_ascii=False))
            return 0
        if narrator:
            project_ops.set_narrator_voice(store, **changes)
            profile, who = store.project.narrator_voice, "the narrator"
        else:
            char_ops.set_voice(store, character.id, **changes)
            profile, who = store.require(type(character), character.id).voice, character.name
        print(f"Voice of {who}: {profile.backend or 'default'} {profile.voice or ''} "
              f"rate {profile.rate:g} pitch {profile.pitch:+g} st. "
              "Run `storyreel voice` to re-voice the lines.")
    return 0


def cmd_character_delete(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        character = resolve_character(store, args.character)
        changes = char_ops.delete_character(store, character.id)
        print(f"Deleted character {character.name}; their lines keep their text "
              f"(history #{changes.seq}; `storyreel undo` brings them back).")
    return 0


def cmd_character_list(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        rows = [{"id": c.id, "name": c.name, "age": c.age, "gender": c.gender,
                 "appearance": c.appearance, "costume": c.costume,
                 "appearance_en": c.appearance_en, "costume_en": c.costume_en,
                 "role": c.role, "personality": c.personality, "description": c.description,
                 "reference_images": c.reference_images, "voice": c.voice.to_dict(),
                 "locked": c.locked} for c in store.characters()]
    if args.json:
        print_json(rows)
        return 0
    for r in rows:
        print(f"{r['name']}\t{len(r['reference_images'])} refs\t{r['appearance']}")
    return 0


# --------------------------------------------------------------------------- scenes
def cmd_scene_set(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        scene = resolve_scene(store, args.scene)
        fields = _given(args, SCENE_FLAGS)
        if not fields:
            raise UsageError("Nothing to change: give at least one of "
                             + ", ".join(_flag(f) for f in SCENE_FLAGS) + ".")
        _report(scene_ops.set_scene_fields(store, scene.id, **fields), f"scene {scene.number}")
    return 0


def cmd_scene_add(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        changes = scene_ops.add_scene(store, **_given(args, SCENE_FLAGS))
        print(f"Added scene {changes.result.number} (history #{changes.seq}).")
    return 0


def cmd_scene_delete(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        scene = resolve_scene(store, args.scene)
        count = len(store.shots(scene.id))
        changes = scene_ops.delete_scene(store, scene.id)
        print(f"Deleted scene {scene.number} and its {count} shot(s) "
              f"(history #{changes.seq}; `storyreel undo` brings them back).")
    return 0


def cmd_scene_list(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        rows = [{"id": s.id, "number": s.number, "heading": s.heading, "location": s.location,
                 "setting": str(s.setting), "time_of_day": str(s.time_of_day),
                 "weather": s.weather, "lighting": s.lighting, "description": s.description,
                 "shots": len(store.shots(s.id))} for s in store.scenes()]
    if args.json:
        print_json(rows)
        return 0
    for r in rows:
        print(f"{r['number']:>3}. {r['heading'] or r['location']}  ({r['shots']} shots)")
    return 0


# --------------------------------------------------------------------------- project
def cmd_project_set(args: argparse.Namespace) -> int:
    fields = {field: getattr(args, flag) for flag, (field, _h) in PROJECT_FLAGS.items()
              if getattr(args, flag) is not None}
    speakers = getattr(args, "subtitle_speakers", None)
    family = getattr(args, "prompt_family", None)
    if not fields and speakers is None and family is None:
        raise UsageError("Nothing to change: give at least one of "
                         + ", ".join(_flag(f) for f in PROJECT_FLAGS)
                         + ", --subtitle-speakers, --prompt-family.")
    with open_project(args.dir) as store:
        if family is not None:
            fields["settings"] = {**fields.get("settings", {}), "prompt_family": family}
        if speakers is not None:
            subtitles = {**(store.project.settings.get("subtitles") or {}),
                         "speaker_names": speakers == "on"}
            fields["settings"] = {**store.project.settings, **fields.get("settings", {}),
                                  "subtitles": subtitles}
        _report(project_ops.set_project_fields(store, **fields), "the project")
    return 0


# --------------------------------------------------------------------------- parser
def _lock_flags(p: argparse.ArgumentParser, what: str) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--lock", dest="locked", action="store_const", const=True,
                       help=f"re-planning keeps this {what} as it is")
    group.add_argument("--no-lock", dest="locked", action="store_const", const=False,
                       help="let re-planning update it")


def register(sub: Any) -> None:
    parser_class = sub._parser_class
    p = sub.add_parser("character", help="manage characters")
    cs = p.add_subparsers(dest="character_command", metavar="ACTION",
                          parser_class=parser_class)
    ca = cs.add_parser("add", help="add a character")
    ca.add_argument("dir")
    ca.add_argument("name", help="the character's name as the script writes it")
    ca.add_argument("--ref", nargs="+", metavar="IMG",
                    help="reference images that keep the character's look")
    for name in ("description", "appearance", "costume", "age", "gender"):
        ca.add_argument(_flag(name), dest=name, help=CHARACTER_FLAGS[name])
    ca.set_defaults(func=cmd_character_add)

    cset = cs.add_parser("set", help="set any of a character's fields and reference images")
    cset.add_argument("dir")
    cset.add_argument("character", metavar="NAME", help="the character's name (or id)")
    for name, help_ in CHARACTER_FLAGS.items():
        cset.add_argument(_flag(name), dest=name, help=help_)
    cset.add_argument("--ref", nargs="+", metavar="IMG",
                      help="add these reference images (each must decode as an image)")
    cset.add_argument("--clear-refs", action="store_true",
                      help="drop the current reference images (with --ref: replace them)")
    _lock_flags(cset, "character")
    cset.set_defaults(func=cmd_character_set)

    cv = cs.add_parser("voice", help="show or set a character's voice (it must speak first)")
    cv.add_argument("dir")
    cv.add_argument("name", help="the character's name, or 'narrator'")
    cv.add_argument("--backend", choices=["kokoro", "espeak", "piper", "sherpa", "server", ""],
                    help="voice engine ('' = project default)")
    cv.add_argument("--voice", help="a Kokoro voice (zf_xiaobei…, see `voices list --json`), "
                    "an espeak voice name, the path of a piper model or sherpa-onnx voice "
                    "folder (folder#N picks speaker N), or a voice server "
                    "(http://127.0.0.1:9880/v1#VOICE)")
    cv.add_argument("--rate", type=float, help="speed factor, 1.0 = normal (0.25-4)")
    cv.add_argument("--pitch", type=float, help="pitch shift in semitones (-24..24)")
    cv.add_argument("--volume", type=float, help="level offset in dB")
    cv.set_defaults(func=cmd_character_voice)

    cd = cs.add_parser("delete", help="delete a character (shots drop them, lines stay)")
    cd.add_argument("dir")
    cd.add_argument("character", metavar="NAME", help="the character's name (or id)")
    cd.set_defaults(func=cmd_character_delete)

    cl = cs.add_parser("list", help="list characters")
    cl.add_argument("dir")
    cl.add_argument("--json", action="store_true")
    cl.set_defaults(func=cmd_character_list)

    p = sub.add_parser("scene", help="edit scenes: set fields, add, delete, list")
    ss = p.add_subparsers(dest="scene_command", metavar="ACTION", parser_class=parser_class)
    st = ss.add_parser("set", help="set any of a scene's fields")
    st.add_argument("dir")
    st.add_argument("scene", metavar="N", help="the scene's number (the 2 of shot 2-3)")
    for name, help_ in SCENE_FLAGS.items():
        st.add_argument(_flag(name), dest=name, help=help_)
    st.set_defaults(func=cmd_scene_set)
    sa = ss.add_parser("add", help="add a scene at the end of the film")
    sa.add_argument("dir")
    for name, help_ in SCENE_FLAGS.items():
        sa.add_argument(_flag(name), dest=name, help=help_)
    sa.set_defaults(func=cmd_scene_add)
    sd = ss.add_parser("delete", help="delete a scene and its shots (undoable)")
    sd.add_argument("dir")
    sd.add_argument("scene", metavar="N", help="the scene's number")
    sd.set_defaults(func=cmd_scene_delete)
    sl = ss.add_parser("list", help="list the scenes")
    sl.add_argument("dir")
    sl.add_argument("--json", action="store_true")
    sl.set_defaults(func=cmd_scene_list)

    p = sub.add_parser("project", help="the project's own settings")
    ps = p.add_subparsers(dest="project_command", metavar="ACTION", parser_class=parser_class)
    pst = ps.add_parser("set", help="set the title, style, language, picture size, fps")
    pst.add_argument("dir")
    for flag, (_field, help_) in PROJECT_FLAGS.items():
        pst.add_argument(f"--{flag}", dest=flag, help=help_)
    pst.add_argument("--subtitle-speakers", choices=["on", "off"],
                     help="subtitles start with the speaker's name (林雨：你来了)")
    pst.add_argument("--prompt-family", metavar="F",
                     help="the kind of text encoder prompts are written for: t5 (Wan, LTX; "
                     "the default: a Chinese project's prompts in Chinese) or clip (SD, SDXL: "
                     "English, from the characters' English looks)")
    pst.set_defaults(func=cmd_project_set)
