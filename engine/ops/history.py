"""History operations: the per-author undo/redo over the persistent log."""

from __future__ import annotations

from engine.ops import derived
from engine.ops.base import Changes
from engine.store.history import LogEntry
from engine.store.project import ProjectStore


def undo(store: ProjectStore, author: str | None = None) -> Changes:
    """Undo the author's last operation (refused, changing nothing, when a field it set
    was changed since); derived state is refreshed in the same step."""
    return _step(store, author, reverse=True)


def redo(store: ProjectStore, author: str | None = None) -> Changes:
    return _step(store, author, reverse=False)


def _step(store: ProjectStore, author: str | None, *, reverse: bool) -> Changes:
    def refresh(changes: list[tuple[str, str, str]]) -> None:
        derived.refresh_for_entry(store, changes)

    entry = (store.undo if reverse else store.redo)(author, refresh=refresh)
    if entry is None:
        return Changes(None, [])
    rows = list(dict.fromkeys((c.entity, c.key) for c in entry.changes))
    return Changes(entry.seq, rows, entry)


def history(store: ProjectStore, *, limit: int | None = None) -> list[LogEntry]:
    return store.history(limit=limit)
