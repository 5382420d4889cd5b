"""What every operation shares: the Changes it returns, validation helpers, the author."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeVar

from engine.errors import StoryreelError
from engine.store.project import ProjectStore

EnumT = TypeVar("EnumT", bound=Enum)


class OpError(StoryreelError):
    """An operation refused its input; the message is one sentence, nothing changed."""


@dataclass(frozen=True)
class Changes:
    """What one operation changed (like Anki's OpChanges): the log entry's sequence number
    (None when nothing changed) and the (entity, id) of every row it touched."""

    seq: int | None
    rows: list[tuple[str, str]] = field(default_factory=list)
    result: Any = None  # the operation's own product (a new shot, an imported take, ...)

    @property
    def empty(self) -> bool:
        return self.seq is None

    def touched(self, entity: str) -> set[str]:
        return {key for name, key in self.rows if name == entity}


@contextlib.contextmanager
def operation(store: ProjectStore, label: str, author: str | None = None,
              undoable: bool = True) -> Iterator[list[Changes]]:
    """One transaction and one log entry; yields a one-item list the caller reads after
    the block: ``with operation(...) as out: ...`` then ``out[0]`` is the Changes."""
    mark = store.commit_mark()
    out: list[Changes] = []
    with store.transaction(label, author=author, undoable=undoable):
        yield out
    entry = store.entry_since(mark)
    if entry is None:
        out.insert(0, Changes(None, []))
    else:
        # in order, once each (a dict: a 10,000-scene import touches ~50,000 rows)
        rows = list(dict.fromkeys((c.entity, c.key) for c in entry.changes))
        out.insert(0, Changes(entry.seq, rows))


def with_result(changes: Changes, result: Any) -> Changes:
    return Changes(changes.seq, changes.rows, result)


def parse_enum(enum_cls: type[EnumT], value: Any, what: str,
               aliases: dict[str, str] | None = None) -> EnumT:
    """An enum member from its value, name or alias (case-insensitive); one sentence if
    none matches, listing the accepted values."""
    if isinstance(value, enum_cls):
        return value
    text = str(value).strip()
    low = text.lower().replace("_", "-")
    if aliases and low in aliases:
        low = aliases[low]
    for member in enum_cls:
        if low in (str(member.value).lower().replace("_", "-"),
                   member.name.lower().replace("_", "-")):
            return member
    accepted = ", ".join(str(m.value) for m in enum_cls)
    raise OpError(f"{what} {text!r} is not one of: {accepted}.")


def number(value: Any, what: str, lo: float, hi: float, *, integer: bool = False) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise OpError(f"{what} must be a number, not {value!r}.") from None
    if not math.isfinite(x) or not lo <= x <= hi:
        raise OpError(f"{what} {value} is outside {lo:g}–{hi:g}.")
    if integer:
        if x != int(x):
            raise OpError(f"{what} must be a whole number, not {value}.")
        return int(x)
    return x


def text(value: Any, what: str, *, blank_ok: bool = True, limit: int = 20000) -> str:
    if not isinstance(value, str):
        raise OpError(f"{what} must be text.")
    if not blank_ok and not value.strip():
        raise OpError(f"{what} cannot be blank.")
    if len(value) > limit:
        raise OpError(f"{what} is {len(value)} characters long; the limit is {limit}.")
    return value
