"""Team review, as in Kitsu: a status per shot, notes with author and timecode, who is
assigned, who is editing now, and who is on the team with which role."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from engine.model.entities import new_id, utc_now

# the statuses a project starts with; a project may configure its own in
# settings["review_statuses"] (the first is the default, "retake" marks the shot stale)
DEFAULT_STATUSES: tuple[str, ...] = ("todo", "wip", "review", "retake", "approved")
RETAKE = "retake"

ROLES: tuple[str, ...] = ("owner", "editor", "reviewer", "viewer")
ROLE_NOTES = {
    "owner": "everything, and grants roles",
    "editor": "every edit",
    "reviewer": "review status, notes and assignments only",
    "viewer": "read only",
}


@dataclass
class ShotReview:
    """A shot's review state; one per shot, made on its first review or assignment."""

    shot_id: str
    status: str = DEFAULT_STATUSES[0]
    assignee: str = ""
    version: int = field(default=0, compare=False, repr=False)


@dataclass
class ReviewNote:
    """A comment on a shot; it may set the shot's status and point at a moment in it."""

    shot_id: str
    author: str
    text: str = ""
    status: str = ""  # the status this note set, "" when it set none
    at: float | None = None  # seconds into the shot
    # to the microsecond: notes written in the same second keep their order
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(
        timespec="microseconds"))
    id: str = field(default_factory=new_id)
    version: int = field(default=0, compare=False, repr=False)


@dataclass
class ShotLock:
    """A soft lock: ``user`` has the shot open in an inspector until ``until`` (UTC ISO,
    renewed by a heartbeat). Others see it and may still edit."""

    shot_id: str
    user: str
    until: str
    version: int = field(default=0, compare=False, repr=False)


@dataclass
class TeamMember:
    """A person on a shared project: their PostgreSQL role name and their role."""

    user: str
    role: str
    granted_by: str = ""
    created_at: str = field(default_factory=utc_now)
    version: int = field(default=0, compare=False, repr=False)
