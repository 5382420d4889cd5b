"""CLI commands of a series: ``episode``, ``location`` and ``character costume``.

Every write goes through ``engine.ops.series`` (validated, logged, undoable).
"""

from __future__ import annotations

import argparse
from typing import Any

from engine.commands.common import UsageError, open_project, print_json
from engine.model import entities as E
from engine.ops import series
from engine.ops.addressing import resolve_character, resolve_episode, resolve_scene
from engine.ops.base import OpError
from engine.ops.characters import set_character_fields


def _episode_rows(store: Any) -> list[dict[str, Any]]:
    from engine.model.shot_rules import current_take

    rows = []
    for episode in store.episodes():
        scenes = store.scenes(episode.id)
        shots = [s for sc in scenes for s in store.shots(sc.id)]
        approved = sum(1 for s in shots if s.approved_take_id
                       or any(t.approved for t in store.takes(s.id)))
        generated = sum(1 for s in shots if current_take(s, store.takes(s.id)) is not None)
        rows.append({"number": episode.number, "id": episode.id, "title": episode.title,
                     "logline": episode.logline, "scenes": len(scenes), "shots": len(shots),
                     "seconds": round(sum(s.duration for s in shots), 2),
                     "with_takes": generated, "approved": approved})
    return rows


def cmd_episode_list(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        rows = _episode_rows(store)
    if args.json:
        print_json(rows)
        return 0
    for r in rows:
        title = f" {r['title']}" if r["title"] else ""
        print(f"E{r['number']}{title}: {r['scenes']} scenes, {r['shots']} shots, "
              f"{r['seconds']:.1f}s, {r['approved']} approved")
    return 0


def cmd_episode_set(args: argparse.Namespace) -> int:
    fields = {k: v for k in ("title", "logline") if (v := getattr(args, k)) is not None}
    if not fields:
        raise UsageError("Nothing to change: give --title or --logline.")
    with open_project(args.dir) as store:
        episode = resolve_episode(store, args.episode)
        series.set_episode_fields(store, episode.id, **fields)
        episode = store.require(E.Episode, episode.id)
    print(f"Episode {episode.number}: {episode.title or '(no title)'}.")
    return 0


def cmd_episode_add(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        changes = series.add_episode(store, args.number, title=args.title or "")
    print(f"Added episode {changes.result.number}.")
    return 0


def cmd_location_list(args: argparse.Namespace) -> int:
    from engine.model.shot_rules import scene_label

    with open_project(args.dir) as store:
        numbers = {e.id: e.number for e in store.episodes()}
        multi = len(numbers) > 1
        rows = []
        for loc in store.locations():
            scenes = store.all(E.Scene, location_id=loc.id)
            rows.append({"name": loc.name, "id": loc.id, "description": loc.description,
                         "reference_images": loc.reference_images,
                         "scenes": [scene_label(s.number, numbers.get(s.episode_id or "")
                                                if multi else None) for s in scenes],
                         "episodes": sorted({numbers[s.episode_id] for s in scenes
                                             if s.episode_id in numbers})})
    if args.json:
        print_json(rows)
        return 0
    for r in rows:
        print(f"{r['name']}\t{len(r['scenes'])} scene(s)\t{len(r['reference_images'])} refs\t"
              f"{r['description']}")
    return 0


def cmd_location_set(args: argparse.Namespace) -> int:
    if args.description is None and args.ref is None and args.rename is None:
        raise UsageError("Nothing to change: give --description, --ref or --rename.")
    with open_project(args.dir) as store:
        location = series.location_by_name(store, args.name)
        if args.ref is not None:
            series.set_location_references(store, location.id, args.ref)
        fields = {}
        if args.description is not None:
            fields["description"] = args.description
        if args.rename is not None:
            fields["name"] = args.rename
        if fields:
            series.set_location_fields(store, location.id, **fields)
        location = store.require(E.Location, location.id)
    print(f"Location {location.name}: {len(location.reference_images)} reference image(s)"
          f"{', ' + location.description if location.description else ''}.")
    return 0


def cmd_character_costume(args: argparse.Namespace) -> int:
    if args.scene and args.episode:
        raise UsageError("Give --scene or --episode, not both.")
    if args.text is None and args.en is None:
        raise UsageError("Give the costume's text, --en with its English text, or both.")
    with open_project(args.dir) as store:
        character = resolve_character(store, args.name)
        if args.scene:
            scene = resolve_scene(store, args.scene)
            series.set_costume(store, character.id, "scene", scene.id, args.text,
                               costume_en=args.en)
            where = f"scene {args.scene}"
        elif args.episode:
            episode = resolve_episode(store, args.episode)
            series.set_costume(store, character.id, "episode", episode.id, args.text,
                               costume_en=args.en)
            where = f"episode {episode.number}"
        else:
            fields = {k: v for k, v in (("costume", args.text), ("costume_en", args.en))
                      if v is not None}
            set_character_fields(store, character.id, **fields)
            where = "every scene without its own costume"
    shown = " / ".join(t.strip() for t in (args.text, args.en) if t and t.strip()) \
        or "the default costume"
    print(f"{character.name} wears {shown} in {where}.")
    return 0


def _character_actions(subparsers: Any) -> Any:
    """The ``character`` command's ACTION subparsers (made here when absent)."""
    parent = subparsers.choices.get("character")
    if parent is None:
        parent = subparsers.add_parser("character", help="manage characters")
    for action in parent._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return parent.add_subparsers(dest="character_command", metavar="ACTION",
                                 parser_class=subparsers._parser_class)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("episode", help="the episodes of a series")
    esub = p.add_subparsers(dest="episode_command", metavar="ACTION",
                            parser_class=subparsers._parser_class)
    el = esub.add_parser("list", help="episodes: scenes, shots, length, approved")
    el.add_argument("dir")
    el.add_argument("--json", action="store_true")
    el.set_defaults(func=cmd_episode_list)
    es = esub.add_parser("set", help="an episode's title or logline")
    es.add_argument("dir")
    es.add_argument("episode", help="the episode number (2 or E2)")
    es.add_argument("--title", help="the episode's title (E01_TITLE.mp4 on export)")
    es.add_argument("--logline", help="the episode in one sentence")
    es.set_defaults(func=cmd_episode_set)
    ea = esub.add_parser("add", help="add an empty episode")
    ea.add_argument("dir")
    ea.add_argument("number", nargs="?", type=int, help="its number (default: the next)")
    ea.add_argument("--title", help="the episode's title")
    ea.set_defaults(func=cmd_episode_add)

    p = subparsers.add_parser("location", help="the places of the series")
    lsub = p.add_subparsers(dest="location_command", metavar="ACTION",
                            parser_class=subparsers._parser_class)
    ll = lsub.add_parser("list", help="locations, the scenes set there, references")
    ll.add_argument("dir")
    ll.add_argument("--json", action="store_true")
    ll.set_defaults(func=cmd_location_list)
    ls = lsub.add_parser("set", help="a location's description, reference images or name")
    ls.add_argument("dir")
    ls.add_argument("name", help="the location's name as the scene headings write it")
    ls.add_argument("--description", help="what the place looks like (added to prompts)")
    ls.add_argument("--ref", nargs="+", metavar="IMG", help="reference images (replace)")
    ls.add_argument("--rename", metavar="NAME", help="a new name")
    ls.set_defaults(func=cmd_location_set)

    cc = _character_actions(subparsers).add_parser(
        "costume", help="what a character wears: by default, in a scene or an episode")
    cc.add_argument("dir")
    cc.add_argument("name", help="the character's name")
    cc.add_argument("text", nargs="?",
                    help="the costume ('' with --en '' removes a scene/episode variant)")
    cc.add_argument("--en", metavar="TEXT",
                    help="the costume in English (CLIP-family prompts of a Chinese project)")
    cc.add_argument("--scene", metavar="SCENE", help='a scene: "E2 1" (or 2:1), or 3')
    cc.add_argument("--episode", metavar="N", help="an episode number")
    cc.set_defaults(func=cmd_character_costume)


__all__ = ["register", "OpError"]
