"""CLI: ``storyreel history``, ``undo``, ``redo`` over the project's persistent log.

Undo and redo act on the caller's own last operation (the author is ``STORYREEL_USER``,
else the OS login). An undo that would overwrite someone's later change is refused with
one sentence (exit 2) and changes nothing.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from engine.commands.common import UsageError, open_project, print_json
from engine.ops import history as history_ops
from engine.store.history import WHOLE_ROW


def _fields(entry: Any) -> list[str]:
    out: list[str] = []
    for c in entry.changes:
        if c.derived:
            continue
        name = (f"{c.entity.lower()} {'added' if c.before is None else 'deleted'}"
                if c.field == WHOLE_ROW else f"{c.entity.lower()}.{c.field}")
        if name not in out:
            out.append(name)
    return out


def cmd_history(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit {args.limit} must be 1 or more.")
    with open_project(args.dir) as store:
        entries = history_ops.history(store, limit=args.limit)
    if args.json:
        print_json([{**e.to_dict(), "fields": _fields(e)} for e in entries])
        return 0
    if not entries:
        print("No history yet.")
    for e in entries:
        kind = "" if e.kind == "op" else f" [{e.kind}{f' of #{e.target}' if e.target else ''}]"
        fields = ", ".join(_fields(e)[:6])
        more = len(_fields(e)) - 6
        extra = f" +{more} more" if more > 0 else ""
        print(f"#{e.seq:<5} {e.at}  {e.author:<12} {e.op}{kind}  ({fields}{extra})")
    return 0


def _step(args: argparse.Namespace, *, reverse: bool) -> int:
    verb = "undo" if reverse else "redo"
    with open_project(args.dir) as store:
        author = store.author
        changes = (history_ops.undo if reverse else history_ops.redo)(store)
    if changes.empty:
        print(f"Nothing to {verb} for {author} (set STORYREEL_USER to act as another "
              "author).", file=sys.stderr)
        return 1
    entry = changes.result
    done = "Undid" if reverse else "Redid"
    print(f"{done} “{entry.op}” (history #{entry.target}) as {author}; "
          f"{len(changes.rows)} row(s) changed (history #{entry.seq}).")
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    return _step(args, reverse=True)


def cmd_redo(args: argparse.Namespace) -> int:
    return _step(args, reverse=False)


def _limit(text: str) -> int:
    if not text.strip().isdigit():
        raise UsageError(f"--limit {text!r} is not a whole number.")
    return int(text)


def register(sub: Any) -> None:
    p = sub.add_parser("history", help="the project's edit history, newest first")
    p.add_argument("dir")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=_limit, metavar="N", help="only the newest N entries")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("undo", help="undo your own last edit (STORYREEL_USER)")
    p.add_argument("dir")
    p.set_defaults(func=cmd_undo)

    p = sub.add_parser("redo", help="redo your own last undone edit")
    p.add_argument("dir")
    p.set_defaults(func=cmd_redo)
