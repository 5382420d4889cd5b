"""SQLAlchemy 2.0 typed ORM rows. These never leave engine/store: callers get domain objects.

Column names match the domain dataclass fields one to one, so ``codec.py`` can map them
generically. Enums are stored as their string values, nested objects as JSON.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON as _PlainJSON
from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# one model for SQLite and PostgreSQL: JSON text on SQLite, JSONB on a team server
JSON = _PlainJSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class ProjectRow(Base):
    __tablename__ = "project"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    aspect: Mapped[str] = mapped_column(String(8))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    fps: Mapped[str] = mapped_column(String(32))
    style: Mapped[str] = mapped_column(Text, default="")
    logline: Mapped[str] = mapped_column(Text, default="")
    script_text: Mapped[str] = mapped_column(Text, default="")
    narrator_voice: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class MediaRow(Base):
    __tablename__ = "media_assets"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    ext: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(8))
    original_name: Mapped[str] = mapped_column(Text, default="")
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fps: Mapped[float | None] = mapped_column(Float, nullable=True)
    has_audio: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[str] = mapped_column(String(40))


class CharacterRow(Base):
    __tablename__ = "characters"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    age: Mapped[str] = mapped_column(Text, default="")
    gender: Mapped[str] = mapped_column(Text, default="")
    appearance: Mapped[str] = mapped_column(Text, default="")
    costume: Mapped[str] = mapped_column(Text, default="")
    personality: Mapped[str] = mapped_column(Text, default="")
    role: Mapped[str] = mapped_column(Text, default="")
    appearance_en: Mapped[str] = mapped_column(Text, default="")
    costume_en: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    voice: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reference_images: Mapped[list[Any]] = mapped_column(JSON, default=list)
    lora_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class EpisodeRow(Base):
    __tablename__ = "episodes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    title: Mapped[str] = mapped_column(Text, default="")
    logline: Mapped[str] = mapped_column(Text, default="")
    script_text: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class LocationRow(Base):
    __tablename__ = "locations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    reference_images: Mapped[list[Any]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class CostumeRow(Base):
    __tablename__ = "costumes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    character_id: Mapped[str] = mapped_column(
        ForeignKey("characters.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(8))
    scope_id: Mapped[str] = mapped_column(String(36), index=True)
    text: Mapped[str] = mapped_column(Text, default="")
    text_en: Mapped[str] = mapped_column(Text, default="", server_default="")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class SceneRow(Base):
    __tablename__ = "scenes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[int] = mapped_column(Integer)
    heading: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(Text, default="")
    setting: Mapped[str] = mapped_column(String(8))
    time_of_day: Mapped[str] = mapped_column(String(16), default="")
    weather: Mapped[str] = mapped_column(Text, default="")
    lighting: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    order: Mapped[int] = mapped_column(Integer, default=0)
    episode_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    location_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class ShotRow(Base):
    __tablename__ = "shots"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    scene_id: Mapped[str] = mapped_column(ForeignKey("scenes.id", ondelete="CASCADE"), index=True)
    order: Mapped[int] = mapped_column(Integer, default=0)
    size: Mapped[str] = mapped_column(String(8))
    angle: Mapped[str] = mapped_column(String(24))
    camera_move: Mapped[str] = mapped_column(String(16))
    duration: Mapped[float] = mapped_column(Float)
    action: Mapped[str] = mapped_column(Text, default="")
    characters: Mapped[list[Any]] = mapped_column(JSON, default=list)
    dialogue: Mapped[list[Any]] = mapped_column(JSON, default=list)
    narration: Mapped[str] = mapped_column(Text, default="")
    prompt: Mapped[str] = mapped_column(Text, default="")
    prompt_override: Mapped[str] = mapped_column(Text, default="")
    negative_prompt: Mapped[str] = mapped_column(Text, default="")
    seed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    seed_locked: Mapped[bool] = mapped_column(Boolean, default=False)
    first_keyframe: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_keyframe: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    generation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    approved_take_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class TakeRow(Base):
    __tablename__ = "takes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    shot_id: Mapped[str] = mapped_column(ForeignKey("shots.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    media: Mapped[str] = mapped_column(ForeignKey("media_assets.sha256"))
    record: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    cache_key: Mapped[str] = mapped_column(String(64), default="", index=True)
    thumbnail: Mapped[str | None] = mapped_column(String(64), nullable=True)
    approved: Mapped[bool] = mapped_column(Boolean, default=False)
    identity: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    created_at: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class VoiceClipRow(Base):
    __tablename__ = "voice_clips"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    shot_id: Mapped[str] = mapped_column(ForeignKey("shots.id", ondelete="CASCADE"), index=True)
    line_index: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    media: Mapped[str] = mapped_column(ForeignKey("media_assets.sha256"))
    duration: Mapped[float] = mapped_column(Float)
    profile_key: Mapped[str] = mapped_column(String(64), default="")
    timings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    delivery: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class AudioPlacementRow(Base):
    __tablename__ = "audio_placements"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    media: Mapped[str] = mapped_column(ForeignKey("media_assets.sha256"))
    from_shot: Mapped[str | None] = mapped_column(String(36), nullable=True)
    to_shot: Mapped[str | None] = mapped_column(String(36), nullable=True)
    offset: Mapped[float] = mapped_column(Float, default=0.0)
    gain_db: Mapped[float] = mapped_column(Float, default=0.0)
    fade_in: Mapped[float] = mapped_column(Float, default=0.0)
    fade_out: Mapped[float] = mapped_column(Float, default=0.0)
    loop: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class ClipEditRow(Base):
    __tablename__ = "clip_edits"
    shot_id: Mapped[str] = mapped_column(
        ForeignKey("shots.id", ondelete="CASCADE"), primary_key=True
    )
    trim_in: Mapped[int] = mapped_column(Integer, default=0)
    trim_out: Mapped[int] = mapped_column(Integer, default=0)
    speed: Mapped[float] = mapped_column(Float, default=1.0)
    transition: Mapped[str] = mapped_column(String(16), default="cut")
    transition_frames: Mapped[int] = mapped_column(Integer, default=0)
    gain_db: Mapped[float] = mapped_column(Float, default=0.0)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class JobRow(Base):
    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    shot_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    model_key: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    finished_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    node: Mapped[str] = mapped_column(Text, default="", server_default="")
    owner: Mapped[str] = mapped_column(Text, default="", server_default="")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class OpLogRow(Base):
    """One operation in the project's history: who did what, when; its fields are in
    ``op_fields``. ``kind`` is op (the user's, undoable), undo, redo or engine (derived
    state, generated media: never undone). ``target`` is the op an undo/redo applies to."""

    __tablename__ = "op_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    op: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(Text, index=True)
    at: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(8))
    target: Mapped[int | None] = mapped_column(Integer, nullable=True)


class OpFieldRow(Base):
    """One field of one row changed by an operation: ``field`` "*" means the whole row
    was added (before null) or deleted (after null). ``row_version`` is the row's version
    after the change."""

    __tablename__ = "op_fields"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(ForeignKey("op_log.seq", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    entity: Mapped[str] = mapped_column(String(32))
    row_id: Mapped[str] = mapped_column(String(64), index=True)
    field: Mapped[str] = mapped_column(String(64))
    before: Mapped[Any] = mapped_column(JSON, nullable=True)
    after: Mapped[Any] = mapped_column(JSON, nullable=True)
    row_version: Mapped[int] = mapped_column(Integer, default=0)
    derived: Mapped[bool] = mapped_column(Boolean, default=False)


class ShotReviewRow(Base):
    __tablename__ = "shot_reviews"
    shot_id: Mapped[str] = mapped_column(
        ForeignKey("shots.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(32), default="todo")
    assignee: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class ReviewNoteRow(Base):
    __tablename__ = "review_notes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    shot_id: Mapped[str] = mapped_column(ForeignKey("shots.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(32), default="")
    at: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class ShotLockRow(Base):
    __tablename__ = "shot_locks"
    shot_id: Mapped[str] = mapped_column(
        ForeignKey("shots.id", ondelete="CASCADE"), primary_key=True
    )
    user: Mapped[str] = mapped_column(Text)
    until: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class TeamMemberRow(Base):
    __tablename__ = "team_members"
    user: Mapped[str] = mapped_column(Text, primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    granted_by: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
