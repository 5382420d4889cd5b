"""Generic mapping between domain dataclasses and ORM rows (same field names)."""

from __future__ import annotations

import dataclasses
import enum
import json
import re
import typing
from fractions import Fraction
from functools import cache
from typing import Any

from engine.errors import ProjectError
from engine.model import entities as E
from engine.model import review as R
from engine.store import orm

# a shared project file is untrusted input: values that would name a file outside
# media/ (or not decode at all) are refused with one sentence, never a traceback
_SHA256 = re.compile(r"[0-9a-f]{64}")
_EXT = re.compile(r"(\.[a-z0-9]{1,8})?")
DAMAGED = "the project file is damaged or was changed by another program"


def load_json(text: str) -> Any:
    """JSON columns as SQLAlchemy reads them; bad JSON is a ProjectError."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ProjectError(f"A JSON value in project.db cannot be read ({exc}); "
                           f"{DAMAGED}.") from None

ROW_OF: dict[type, type[orm.Base]] = {
    E.Project: orm.ProjectRow,
    E.MediaAsset: orm.MediaRow,
    E.Character: orm.CharacterRow,
    E.Episode: orm.EpisodeRow,
    E.Location: orm.LocationRow,
    E.Costume: orm.CostumeRow,
    E.Scene: orm.SceneRow,
    E.Shot: orm.ShotRow,
    E.Take: orm.TakeRow,
    E.VoiceClip: orm.VoiceClipRow,
    E.AudioPlacement: orm.AudioPlacementRow,
    E.ClipEdit: orm.ClipEditRow,
    E.Job: orm.JobRow,
    R.ShotReview: orm.ShotReviewRow,
    R.ReviewNote: orm.ReviewNoteRow,
    R.ShotLock: orm.ShotLockRow,
    R.TeamMember: orm.TeamMemberRow,
}

ENTITY_OF: dict[type[orm.Base], type] = {row: ent for ent, row in ROW_OF.items()}

# the field that identifies each entity (its primary key)
KEY_OF: dict[type, str] = {cls: "id" for cls in ROW_OF}
KEY_OF[E.MediaAsset] = "sha256"
KEY_OF[E.ClipEdit] = "shot_id"
KEY_OF[R.ShotReview] = "shot_id"
KEY_OF[R.ShotLock] = "shot_id"
KEY_OF[R.TeamMember] = "user"


def key_of(entity: Any) -> str:
    return getattr(entity, KEY_OF[type(entity)])


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _encode(value: Any, hint: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, E.VoiceProfile):
        return value.to_dict()
    if isinstance(value, list):
        return [v.to_dict() if isinstance(v, E.DialogueLine) else v for v in value]
    if isinstance(value, dict):
        return dict(value)
    return value


def _decode(value: Any, hint: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        inner = [a for a in args if a is not type(None)]
        return _decode(value, inner[0]) if len(inner) == 1 else value
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    if hint is Fraction:
        return Fraction(value)
    if hint is E.VoiceProfile:
        return E.VoiceProfile.from_dict(value)
    if origin is list and args and args[0] is E.DialogueLine:
        return [E.DialogueLine.from_dict(v) for v in value]
    if origin is list:
        return list(value)
    if origin is dict:
        return dict(value)
    return value


def to_values(entity: Any) -> dict[str, Any]:
    """The column values of an entity, ready for the ORM row or JSON."""
    hints = _hints(type(entity))
    return {
        f.name: _encode(getattr(entity, f.name), hints[f.name])
        for f in dataclasses.fields(entity)
    }


def from_values(cls: type, values: dict[str, Any]) -> Any:
    hints = _hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in values:
            value = values[f.name]
            try:
                kwargs[f.name] = decoded = _decode(value, hints[f.name])
                if isinstance(decoded, Fraction) and decoded <= 0:
                    raise ValueError("not positive")
            except (ValueError, TypeError, KeyError, AttributeError, ZeroDivisionError):
                raise ProjectError(f"project.db holds a bad {cls.__name__} {f.name} "
                                   f"({str(value)[:40]!r}); {DAMAGED}.") from None
    if cls is E.MediaAsset and not (
        _SHA256.fullmatch(str(kwargs.get("sha256", ""))) and _EXT.fullmatch(kwargs.get("ext", ""))
    ):
        raise ProjectError(f"project.db names a media file "
                           f"{kwargs.get('sha256')!s:.16}…{kwargs.get('ext')!s:.40} that "
                           f"is not a Storyreel media name; {DAMAGED}.")
    if cls is E.Project and not all(
        isinstance(kwargs.get(k), int) and 16 <= kwargs[k] <= 8192 for k in ("width", "height")
    ):
        raise ProjectError(f"project.db holds a bad picture size {kwargs.get('width')!s:.12}×"
                           f"{kwargs.get('height')!s:.12}; {DAMAGED}.")
    return cls(**kwargs)


def to_row(entity: Any) -> orm.Base:
    return ROW_OF[type(entity)](**to_values(entity))


def update_row(row: orm.Base, entity: Any) -> None:
    for name, value in to_values(entity).items():
        setattr(row, name, value)


def from_row(row: orm.Base) -> Any:
    cls = ENTITY_OF[type(row)]
    values = {f.name: getattr(row, f.name) for f in dataclasses.fields(cls)}
    return from_values(cls, values)
