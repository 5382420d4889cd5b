"""Review operations, as in Kitsu: a shot's status, notes with author and timecode,
assignments, and soft locks that say who has a shot open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.model import entities as E
from engine.model.review import DEFAULT_STATUSES, RETAKE, ReviewNote, ShotLock, ShotReview
from engine.ops import derived
from engine.ops.addressing import shot_label
from engine.ops.base import Changes, OpError, operation, text, with_result
from engine.store.project import ProjectStore

LOCK_SECONDS = 90.0  # a soft lock lapses unless its holder's heartbeat renews it


def statuses(store: ProjectStore) -> tuple[str, ...]:
    """The project's review statuses (settings["review_statuses"]), else the defaults."""
    configured = store.project.settings.get("review_statuses")
    if isinstance(configured, list) and configured and all(
            isinstance(s, str) and s.strip() for s in configured):
        return tuple(s.strip() for s in configured)
    return DEFAULT_STATUSES


def _status(store: ProjectStore, status: str) -> str:
    value = str(status).strip().lower()
    allowed = statuses(store)
    if value not in allowed:
        raise OpError(f"Review status {status!r} is not one of: {', '.join(allowed)}.")
    return value


def _set_review(store: ProjectStore, shot_id: str, **fields: str) -> None:
    if store.get(ShotReview, shot_id) is None:
        store.add(ShotReview(shot_id=shot_id, **fields))
    else:
        store.set_fields(ShotReview, shot_id, **fields)


def review(store: ProjectStore, shot_id: str, *, status: str | None = None, note: str = "",
           at: float | None = None, author: str | None = None) -> Changes:
    """A note on a shot that may set its status; a retake marks the shot stale."""
    shot = store.require(E.Shot, shot_id)
    new_status = _status(store, status) if status is not None else None
    body = text(note, "The note")
    if new_status is None and not body.strip():
        raise OpError("A review needs a status, a note, or both.")
    if at is not None and not (0.0 <= float(at) <= max(shot.duration, 0.0) + 1e-6):
        raise OpError(f"--at {at:g} s is outside shot {shot_label(store, shot.id)} "
                      f"(0–{shot.duration:g} s).")
    who = author or store.author
    label = f"Review shot {shot_label(store, shot.id)}"
    with operation(store, label + (f": {new_status}" if new_status else ""), author) as out:
        note_row = store.add(ReviewNote(shot_id=shot.id, author=who, text=body,
                                        status=new_status or "",
                                        at=None if at is None else float(at)))
        if new_status is not None:
            _set_review(store, shot.id, status=new_status)
            if new_status == RETAKE:
                derived.refresh(store, [shot.id], recompose=False)
    return with_result(out[0], note_row)


def assign(store: ProjectStore, shot_id: str, user: str, *,
           author: str | None = None) -> Changes:
    """Assign a shot to a person ("" unassigns)."""
    shot = store.require(E.Shot, shot_id)
    who = str(user).strip()
    with operation(store, f"Assign shot {shot_label(store, shot.id)} to {who or 'nobody'}",
                   author) as out:
        _set_review(store, shot.id, assignee=who)
    return out[0]


def notes(store: ProjectStore, shot_id: str | None = None) -> list[ReviewNote]:
    """Notes in the order they were written (of one shot, or of the whole project)."""
    found = store.all(ReviewNote, shot_id=shot_id) if shot_id else store.all(ReviewNote)
    return sorted(found, key=lambda n: (n.created_at, n.id))


def review_of(store: ProjectStore, shot_id: str) -> ShotReview:
    """The shot's review state (the defaults when nobody reviewed it yet)."""
    return store.get(ShotReview, shot_id) or ShotReview(shot_id=shot_id,
                                                       status=statuses(store)[0])


# ----------------------------------------------------------------------- soft locks
def _now() -> datetime:
    return datetime.now(UTC)


def hold(store: ProjectStore, shot_id: str, user: str | None = None) -> ShotLock:
    """Mark the shot as being edited by ``user`` (a heartbeat: call again to renew); a
    shot someone else has open keeps their lock (the caller may still edit it)."""
    store.require(E.Shot, shot_id)
    who = user or store.author
    holder = editing(store, shot_id)
    if holder is not None and holder != who:
        return store.require(ShotLock, shot_id)  # someone else has it open: they keep it
    until = (_now() + timedelta(seconds=LOCK_SECONDS)).isoformat()
    with store.transaction("Soft lock", undoable=False):
        if store.get(ShotLock, shot_id) is None:
            store.add(ShotLock(shot_id=shot_id, user=who, until=until))
        else:
            store.set_fields(ShotLock, shot_id, user=who, until=until)
    return store.require(ShotLock, shot_id)


def release(store: ProjectStore, shot_id: str, user: str | None = None) -> None:
    lock = store.get(ShotLock, shot_id)
    if lock is not None and lock.user == (user or store.author):
        with store.transaction("Soft lock released", undoable=False):
            store.delete(lock)


def editing(store: ProjectStore, shot_id: str) -> str | None:
    """Who has the shot open now (a lock that has not lapsed), or None."""
    lock = store.get(ShotLock, shot_id)
    if lock is None or datetime.fromisoformat(lock.until) <= _now():
        return None
    return lock.user


__all__ = ["LOCK_SECONDS", "OpError", "assign", "editing", "hold", "notes", "release",
           "review", "review_of", "statuses"]
