"""The ``storyreel`` commands for teams: share, join, team grant/list, review, notes,
assign. Thin: parse, call the operation, print the result."""

from __future__ import annotations

import argparse
from typing import Any

from engine.commands.common import open_project, print_json
from engine.model.review import ROLE_NOTES, ROLES
from engine.ops import review as review_ops
from engine.ops import team as sharing
from engine.ops.addressing import resolve_shot, shot_label


def cmd_share(args: argparse.Namespace) -> int:
    link = sharing.share(args.dir, args.server, args.media)
    print(f"Shared on {link.server}; media in {link.media}. This folder is now a linked "
          "working copy; teammates run `storyreel join`.")
    return 0


def cmd_join(args: argparse.Namespace) -> int:
    store = sharing.join(args.url, args.dir, args.media)
    try:
        print(f"Joined {store.project.title} as {store.author}: {store.root}")
    finally:
        store.close()
    return 0


def cmd_team_grant(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        member = sharing.grant(store, args.user, args.role)
    print(f"{member.user} is now {member.role} ({ROLE_NOTES[member.role]}).")
    return 0


def cmd_team_list(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        people = sharing.members(store) if store.is_linked else []
        if args.json:
            print_json([{"user": m.user, "role": m.role, "granted_by": m.granted_by,
                         "since": m.created_at} for m in people])
        elif not people:
            print(f"{store.root.name} is a local project: only you ({store.author}).")
        else:
            for m in people:
                print(f"{m.user:<16} {m.role:<9} {ROLE_NOTES.get(m.role, '')}")
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        shot = resolve_shot(store, args.shot)
        review_ops.review(store, shot.id, status=args.status, note=args.note or "", at=args.at)
        state = review_ops.review_of(store, shot.id)
        print(f"Shot {shot_label(store, shot.id)}: {state.status}"
              + (f" (note at {args.at:g} s)" if args.at is not None else ""))
    return 0


def cmd_notes(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        shot_id = resolve_shot(store, args.shot).id if args.shot else None
        found = review_ops.notes(store, shot_id)
        rows: list[dict[str, Any]] = [{
            "shot": shot_label(store, n.shot_id), "author": n.author, "at": n.created_at,
            "timecode": n.at, "status": n.status or None, "text": n.text} for n in found]
        if args.json:
            print_json(rows)
        elif not rows:
            print("No notes yet.")
        for r in [] if args.json else rows:
            when = f" @{r['timecode']:g}s" if r["timecode"] is not None else ""
            status = f" [{r['status']}]" if r["status"] else ""
            print(f"{r['shot']}{when} {r['author']}{status}: {r['text']}")
    return 0


def cmd_assign(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        shot = resolve_shot(store, args.shot)
        review_ops.assign(store, shot.id, args.user)
        print(f"Shot {shot_label(store, shot.id)} is assigned to {args.user or 'nobody'}.")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import os

    from engine.jobs import nodes

    device = args.device
    if device.startswith("cuda:"):
        os.environ["CUDA_VISIBLE_DEVICES"] = device.split(":", 1)[1]
        device = "cuda"
    families = [f.strip() for f in args.families.split(",") if f.strip()] if args.families \
        else None
    root = sharing.node_copy(args.server, args.media)
    ran = nodes.run_node(root, name=args.name, device=device, families=families,
                         until_empty=args.until_empty)
    print(f"Node {args.name or 'this machine'} ran {len(ran)} job(s).")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("worker", help="a render node: run the team queue's generation jobs")
    p.add_argument("--server", required=True, help="the team server URL")
    p.add_argument("--name", help="this node's name (default: the host name)")
    p.add_argument("--media", required=True, help="the shared media folder on this machine")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--families", help="only these model families, e.g. wan-vace,animatic")
    p.add_argument("--until-empty", action="store_true",
                   help="stop when the queue is empty (scripts, tests)")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("share", help="move the project onto a PostgreSQL team server")
    p.add_argument("dir")
    p.add_argument("--server", required=True,
                   help="postgresql+psycopg://USER@HOST:PORT/DB (passwords from ~/.pgpass "
                        "or PGPASSWORD, never kept in the folder)")
    p.add_argument("--media", required=True, help="the shared media folder (NAS/SMB mount)")
    p.set_defaults(func=cmd_share)

    p = sub.add_parser("join", help="make a linked working copy of a shared project")
    p.add_argument("url", help="postgresql+psycopg://USER@HOST:PORT/DB")
    p.add_argument("dir", help="the new project folder")
    p.add_argument("--media", required=True, help="the shared media folder on this machine")
    p.set_defaults(func=cmd_join)

    team = sub.add_parser("team", help="people and roles on a shared project")
    team_sub = team.add_subparsers(dest="team_command", required=True)
    p = team_sub.add_parser("grant", help="give a person a role (made on the server)")
    p.add_argument("dir")
    p.add_argument("user", help="the person's PostgreSQL role name (made when absent)")
    p.add_argument("--role", required=True, choices=list(ROLES),
                   help="owner, editor, reviewer (status and notes only) or viewer (read)")
    p.set_defaults(func=cmd_team_grant)
    p = team_sub.add_parser("list", help="who is on the team, with which role")
    p.add_argument("dir")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_team_list)

    p = sub.add_parser("review", help="review a shot: set its status, leave a note")
    p.add_argument("dir")
    p.add_argument("shot", help="shot label like 1-2, or id")
    p.add_argument("--status", help="todo, wip, review, retake, approved (or the project's)")
    p.add_argument("--note", help="the note")
    p.add_argument("--at", type=float, metavar="SECONDS", help="a moment in the shot")
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("notes", help="review notes of the project or one shot")
    p.add_argument("dir")
    p.add_argument("shot", nargs="?", help="only this shot's notes")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_notes)

    p = sub.add_parser("assign", help="assign a shot to a person")
    p.add_argument("dir")
    p.add_argument("shot", help="shot label like 1-2, or id")
    p.add_argument("user", help="the person (\"\" unassigns)")
    p.set_defaults(func=cmd_assign)
