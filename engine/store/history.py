"""The project's persistent, field-level operation log: who changed which field, when.

Every committed write appends one entry (``op_log``) with the before/after of each field
it changed (``op_fields``), in the same transaction as the change itself. The log is the
undo history (per author), the change feed other processes follow by sequence number,
and the record a stale write is checked against.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from typing import Any

from engine.errors import StoryreelError

WHOLE_ROW = "*"  # a FieldChange of the whole row: added (before None) or deleted (after None)

OP = "op"  # a user's edit: undoable by its author
UNDO = "undo"
REDO = "redo"
ENGINE = "engine"  # derived state, generated media, jobs: never undone


def current_author() -> str:
    """Who is editing: ``STORYREEL_USER``, else the OS login name."""
    name = os.environ.get("STORYREEL_USER", "").strip()
    if name:
        return name
    try:
        return getpass.getuser() or "unknown"
    except (OSError, KeyError):  # no login name (a container with an unnamed uid)
        return "unknown"


class StaleWriteError(StoryreelError):
    """A write was based on a read that someone else has changed since."""


class UndoRefused(StoryreelError):
    """Undo/redo would overwrite a later change by someone (nothing was changed)."""


@dataclass(frozen=True)
class FieldChange:
    entity: str  # class name: "Shot"
    key: str
    field: str  # a column name, or WHOLE_ROW
    before: Any
    after: Any
    row_version: int = 0
    derived: bool = False  # written by the engine's refresh of derived state: never undone


@dataclass
class LogEntry:
    seq: int
    op: str
    author: str
    at: str
    kind: str
    target: int | None = None
    changes: list[FieldChange] = field(default_factory=list)

    @property
    def undoable(self) -> bool:
        return self.kind == OP

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "op": self.op, "author": self.author, "at": self.at,
            "kind": self.kind, "target": self.target,
            "changes": [
                {"entity": c.entity, "id": c.key, "field": c.field, "before": c.before,
                 "after": c.after}
                for c in self.changes
            ],
        }


@dataclass
class UndoStacks:
    """One author's undo and redo stacks, derived by replaying their log entries."""

    done: list[int] = field(default_factory=list)  # seqs of ops that can be undone, oldest first
    undone: list[int] = field(default_factory=list)  # seqs of ops that can be redone
    labels: dict[int, str] = field(default_factory=dict)


def replay(entries: list[tuple[int, str, int | None, str]]) -> UndoStacks:
    """Stacks from (seq, kind, target, op) rows of one author, in seq order."""
    stacks = UndoStacks()
    for seq, kind, target, op in entries:
        if kind == OP:
            stacks.done.append(seq)
            stacks.labels[seq] = op
            stacks.undone.clear()
        elif kind == UNDO and target is not None:
            if target in stacks.done:
                stacks.done.remove(target)
                stacks.undone.append(target)
        elif kind == REDO and target is not None:
            if target in stacks.undone:
                stacks.undone.remove(target)
                stacks.done.append(target)
    return stacks


def collapse(changes: list[FieldChange]) -> list[FieldChange]:
    """Merge repeated changes of one field inside one transaction: the first before, the
    last after. Whole-row changes keep their order."""
    out: list[FieldChange] = []
    index: dict[tuple[str, str, str], int] = {}
    for ch in changes:
        k = (ch.entity, ch.key, ch.field)
        if ch.field != WHOLE_ROW and k in index:
            first = out[index[k]]
            out[index[k]] = FieldChange(ch.entity, ch.key, ch.field, first.before, ch.after,
                                        ch.row_version, first.derived and ch.derived)
            continue
        if ch.field == WHOLE_ROW:
            # a row deleted again, or added and deleted: later field edits of it are moot
            index = {kk: i for kk, i in index.items() if kk[:2] != (ch.entity, ch.key)}
        else:
            index[k] = len(out)
        out.append(ch)
    return [c for c in out if c.field == WHOLE_ROW or c.before != c.after]
