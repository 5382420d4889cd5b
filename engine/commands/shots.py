"""CLI: ``storyreel shot set|add|duplicate|delete|move|list`` and ``shot line ...``.

Thin: parse → call the operation (``engine.ops.shots``) → print what changed. Values are
passed to the operation as typed, so the operation's checks (one sentence, exit 2,
nothing written) are the same the studio gets.
"""

from __future__ import annotations

import argparse
from typing import Any

from engine.commands.common import UsageError, open_project, print_json
from engine.model import entities as E
from engine.ops import shots as shot_ops
from engine.ops.addressing import resolve_character, resolve_scene, resolve_shot, shot_labels

# flag → (shot field, help); every field a user can set has a flag
FIELD_FLAGS: dict[str, tuple[str, str]] = {
    "size": ("size", "framing: EWS, WS, MS, MCU, CU, ECU (or its name: close-up)"),
    "angle": ("angle", "eye-level, high, low, overhead, dutch, over-the-shoulder"),
    "camera": ("camera_move", "static, pan, tilt, push-in, pull-out, orbit, track, handheld"),
    "duration": ("duration", "seconds on screen (0.1–120)"),
    "prompt": ("prompt_override", "your own prompt (wins over the composed one; '' clears)"),
    "negative": ("negative_prompt", "what the picture must not show"),
    "seed": ("seed", "the generation seed (0–4294967295; 'none' clears)"),
    "action": ("action", "what happens in the shot"),
    "narration": ("narration", "narrator's words over the shot"),
    "characters": ("characters", "who is in frame, by name: A,B ('' for nobody)"),
    "status": ("status", "draft or ready (the engine sets the others)"),
    "short-take": ("short_take", "a take shorter than the shot: hold (its last frame) or "
                                 "slow (slowed to fit)"),
}
BOOL_FLAGS: dict[str, tuple[str, str]] = {
    "seed_locked": ("lock-seed", "keep the seed when regenerating"),
    "locked": ("lock", "re-planning keeps this shot as it is"),
    "continue_from_previous": ("continue-from-previous",
                               "generate starting from the previous shot's last frame"),
}


def add_field_arguments(p: argparse.ArgumentParser) -> None:
    for flag, (_field, help_) in FIELD_FLAGS.items():
        p.add_argument(f"--{flag}", dest=f"f_{flag}", metavar="VALUE", help=help_)
    for field, (flag, help_) in BOOL_FLAGS.items():
        group = p.add_mutually_exclusive_group()
        group.add_argument(f"--{flag}", dest=f"b_{field}", action="store_const", const=True,
                           help=help_)
        group.add_argument(f"--no-{flag}", dest=f"b_{field}", action="store_const",
                           const=False, help=f"undo --{flag}")


def field_values(store: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The shot fields the flags name, as the operation takes them."""
    out: dict[str, Any] = {}
    for flag, (field, _help) in FIELD_FLAGS.items():
        value = getattr(args, f"f_{flag}")
        if value is None:
            continue
        if field == "characters":
            names = [n.strip() for n in value.replace("，", ",").split(",") if n.strip()]
            value = [resolve_character(store, n).id for n in names]
        elif field == "seed" and value.strip().lower() in ("", "none"):
            value = None
        out[field] = value
    for field in BOOL_FLAGS:
        value = getattr(args, f"b_{field}")
        if value is not None:
            out[field] = value
    return out


def shot_row(store: Any, shot: E.Shot, labels: dict[str, str],
             names: dict[str, str]) -> dict[str, Any]:
    return {
        "label": labels.get(shot.id, "?"), "id": shot.id, "scene_id": shot.scene_id,
        "size": str(shot.size), "angle": str(shot.angle), "camera_move": str(shot.camera_move),
        "duration": shot.duration, "status": str(shot.status),
        "characters": [names.get(c, c) for c in shot.characters],
        "action": shot.action, "narration": shot.narration,
        "dialogue": [{"speaker": names.get(d.character_id or "", "narrator"), "text": d.text,
                      "emotion": d.emotion, "kind": str(d.kind)} for d in shot.dialogue],
        "prompt": shot.effective_prompt,
        "short_take": shot.generation.get("short_take", "hold"),
        "continue_from_previous": bool(shot.generation.get("continue_from_previous")),
        "prompt_override": shot.prompt_override,
        "negative_prompt": shot.negative_prompt, "seed": shot.seed,
        "seed_locked": shot.seed_locked, "locked": shot.locked, "version": shot.version,
    }


def _changed(store: Any, changes: Any, verb: str, shot_id: str) -> None:
    label = shot_labels(store).get(shot_id, shot_id[:8])
    if changes.empty:
        print(f"Shot {label}: nothing changed.")
    else:
        print(f"{verb} shot {label} (history #{changes.seq}).")


# --------------------------------------------------------------------------- handlers
def cmd_shot_set(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        shot = resolve_shot(store, args.shot)
        values = field_values(store, args)
        if not values:
            raise UsageError("Nothing to change: give at least one of "
                             + ", ".join(f"--{f}" for f in FIELD_FLAGS) + ".")
        changes = shot_ops.set_shot_fields(store, shot.id, **values)
        _changed(store, changes, "Changed", shot.id)
    return 0


def cmd_shot_add(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        after = resolve_shot(store, args.after) if args.after else None
        if after is not None and args.scene is not None:
            raise UsageError("Give --scene or --after, not both (--after picks the scene).")
        if after is not None:
            scene_id = after.scene_id
        elif args.scene is not None:
            scene_id = resolve_scene(store, args.scene).id
        else:
            scenes = store.scenes()
            if not scenes:
                raise UsageError("The project has no scenes yet; add one with "
                                 "`storyreel scene add` or import a script.")
            scene_id = scenes[-1].id
        changes = shot_ops.add_shot(store, scene_id, after=after.id if after else None,
                                    **field_values(store, args))
        _changed(store, changes, "Added", changes.result.id)
        print(f"  id {changes.result.id}")
    return 0


def cmd_shot_duplicate(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        shots = [resolve_shot(store, a) for a in args.shots]
        changes = shot_ops.duplicate_shots(store, [s.id for s in shots])
        labels = shot_labels(store)
        for orig, copy in zip(shots, changes.result, strict=True):
            print(f"Duplicated shot {labels[orig.id]} as shot {labels[copy.id]} ({copy.id[:8]}).")
    return 0


def cmd_shot_delete(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        shots = [resolve_shot(store, a) for a in args.shots]
        labels = shot_labels(store)
        named = ", ".join(labels[s.id] for s in shots)
        changes = shot_ops.delete_shots(store, [s.id for s in shots])
        print(f"Deleted shot{'s' if len(shots) > 1 else ''} {named} with "
              f"{'their' if len(shots) > 1 else 'its'} takes "
              f"(history #{changes.seq}; `storyreel undo` brings them back).")
    return 0


def cmd_shot_move(args: argparse.Namespace) -> int:
    if args.scene is None and args.to is None:
        raise UsageError("Say where to: --scene N, --to POSITION, or both.")
    with open_project(args.dir) as store:
        shot = resolve_shot(store, args.shot)
        before = shot_labels(store)[shot.id]
        scene_id = resolve_scene(store, args.scene).id if args.scene is not None else None
        changes = shot_ops.move_shot(store, shot.id, scene_id=scene_id, position=args.to)
        after = shot_labels(store)[shot.id]
        if changes.empty:
            print(f"Shot {before} is already there.")
        else:
            print(f"Moved shot {before} to {after} (history #{changes.seq}).")
    return 0


def cmd_shot_list(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        labels = shot_labels(store)
        names = {c.id: c.name for c in store.characters()}
        rows = [shot_row(store, s, labels, names) for s in store.shots()]
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("No shots yet; import a script and run `storyreel plan`, or `storyreel shot add`.")
    for r in rows:
        cast = ",".join(r["characters"]) or "-"
        print(f"{r['label']:>6}  {r['id'][:8]}  {r['size']:<4} {r['angle']:<17} "
              f"{r['camera_move']:<9} {r['duration']:5.2f}s  {r['status']:<9} {cast}  "
              f"{r['action'][:40]}")
    return 0


def _line_number(args: argparse.Namespace) -> int:
    return args.line - 1  # the operation names a missing line itself


def _speaker(store: Any, name: str | None) -> str | None | bool:
    """False: unchanged; None: the narrator; else a character id."""
    if name is None:
        return False
    if name.strip() in ("", "narrator", "旁白"):
        return None
    return resolve_character(store, name).id


def cmd_line_add(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        shot = resolve_shot(store, args.shot)
        speaker = _speaker(store, args.speaker)
        kwargs: dict[str, Any] = {"character_id": None if speaker is False else speaker,
                                  "emotion": args.emotion or ""}
        if args.kind:
            from engine.model import LineKind
            from engine.ops.base import parse_enum

            kwargs["kind"] = parse_enum(LineKind, args.kind, "Line kind")
        changes = shot_ops.add_line(store, shot.id, args.text, **kwargs)
        _changed(store, changes, "Added a line to", shot.id)
    return 0


def cmd_line_set(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        shot = resolve_shot(store, args.shot)
        if args.text is None and args.speaker is None and args.emotion is None:
            raise UsageError("Nothing to change: give --text, --speaker or --emotion.")
        changes = shot_ops.set_line(store, shot.id, _line_number(args), text_=args.text,
                                    character_id=_speaker(store, args.speaker),
                                    emotion=args.emotion)
        _changed(store, changes, f"Changed line {args.line} of", shot.id)
    return 0


def cmd_line_remove(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        shot = resolve_shot(store, args.shot)
        changes = shot_ops.remove_line(store, shot.id, _line_number(args))
        _changed(store, changes, f"Removed line {args.line} of", shot.id)
    return 0


# --------------------------------------------------------------------------- parser
SHOT_HELP = "shot label like 2-3 (scene 2, shot 3), id or id prefix"


def register(sub: Any) -> None:
    parser_class = sub._parser_class
    p = sub.add_parser("shot", help="edit shots: set fields, add, duplicate, delete, move, list")
    ss = p.add_subparsers(dest="shot_command", metavar="ACTION", parser_class=parser_class)

    s = ss.add_parser("set", help="set any of a shot's fields")
    s.add_argument("dir")
    s.add_argument("shot", help=SHOT_HELP)
    add_field_arguments(s)
    s.set_defaults(func=cmd_shot_set)

    a = ss.add_parser("add", help="add a shot (at the end of a scene, or after a shot)")
    a.add_argument("dir")
    a.add_argument("--scene", metavar="N", help="scene number (default: the last scene)")
    a.add_argument("--after", metavar="SHOT", help="put it right after this shot")
    add_field_arguments(a)
    a.set_defaults(func=cmd_shot_add)

    d = ss.add_parser("duplicate", help="copy shots, each right after its original")
    d.add_argument("dir")
    d.add_argument("shots", nargs="+", metavar="SHOT", help=SHOT_HELP)
    d.set_defaults(func=cmd_shot_duplicate)

    x = ss.add_parser("delete", help="delete shots with their takes (undoable)")
    x.add_argument("dir")
    x.add_argument("shots", nargs="+", metavar="SHOT", help=SHOT_HELP)
    x.set_defaults(func=cmd_shot_delete)

    m = ss.add_parser("move", help="move a shot to a position, in its scene or another")
    m.add_argument("dir")
    m.add_argument("shot", help=SHOT_HELP)
    m.add_argument("--scene", metavar="N", help="the scene to move it into (number)")
    m.add_argument("--to", type=_position, metavar="POSITION",
                   help="its place in that scene, 1 = first (default: last)")
    m.set_defaults(func=cmd_shot_move)

    ls = ss.add_parser("list", help="list the shots in film order")
    ls.add_argument("dir")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_shot_list)

    ln = ss.add_parser("line", help="a shot's dialogue lines: add, set, remove")
    ls_ = ln.add_subparsers(dest="line_command", metavar="ACTION", parser_class=parser_class)
    la = ls_.add_parser("add", help="add a line at the end of the shot's dialogue")
    la.add_argument("dir")
    la.add_argument("shot", help=SHOT_HELP)
    la.add_argument("text", help="what is said")
    la.add_argument("--speaker", help="character name (default: the narrator)")
    la.add_argument("--emotion", help="how it is said (e.g. 生气, whispering)")
    la.add_argument("--kind", help="dialogue, voice-over, off-screen or narration")
    la.set_defaults(func=cmd_line_add)
    le = ls_.add_parser("set", help="change one line")
    le.add_argument("dir")
    le.add_argument("shot", help=SHOT_HELP)
    le.add_argument("line", type=_position, metavar="N", help="line number, 1 = first")
    le.add_argument("--text", help="what is said")
    le.add_argument("--speaker", help="character name, or 'narrator'")
    le.add_argument("--emotion", help="how it is said")
    le.set_defaults(func=cmd_line_set)
    lr = ls_.add_parser("remove", help="remove one line")
    lr.add_argument("dir")
    lr.add_argument("shot", help=SHOT_HELP)
    lr.add_argument("line", type=_position, metavar="N", help="line number, 1 = first")
    lr.set_defaults(func=cmd_line_remove)


def _position(text: str) -> int:
    if not text.strip().lstrip("-").isdigit():
        raise UsageError(f"{text!r} is not a whole number (1 = first).")
    return int(text)
