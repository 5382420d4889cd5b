"""Schema 1: project, media, characters, scenes, shots, takes."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "project",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("aspect", sa.String(8), nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("fps", sa.String(32), nullable=False),
        sa.Column("style", sa.Text, nullable=False),
        sa.Column("logline", sa.Text, nullable=False),
        sa.Column("script_text", sa.Text, nullable=False),
        sa.Column("narrator_voice", sa.JSON, nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "media_assets",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("ext", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("original_name", sa.Text, nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("duration", sa.Float, nullable=True),
        sa.Column("width", sa.Integer, nullable=True),
        sa.Column("height", sa.Integer, nullable=True),
        sa.Column("fps", sa.Float, nullable=True),
        sa.Column("has_audio", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "characters",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("age", sa.Text, nullable=False),
        sa.Column("gender", sa.Text, nullable=False),
        sa.Column("appearance", sa.Text, nullable=False),
        sa.Column("costume", sa.Text, nullable=False),
        sa.Column("personality", sa.Text, nullable=False),
        sa.Column("voice", sa.JSON, nullable=False),
        sa.Column("reference_images", sa.JSON, nullable=False),
        sa.Column("lora_path", sa.Text, nullable=True),
        sa.Column("locked", sa.Boolean, nullable=False),
    )
    op.create_table(
        "scenes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("heading", sa.Text, nullable=False),
        sa.Column("location", sa.Text, nullable=False),
        sa.Column("setting", sa.String(8), nullable=False),
        sa.Column("time_of_day", sa.String(16), nullable=False),
        sa.Column("weather", sa.Text, nullable=False),
        sa.Column("lighting", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("order", sa.Integer, nullable=False),
    )
    op.create_table(
        "shots",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "scene_id", sa.String(36), sa.ForeignKey("scenes.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("order", sa.Integer, nullable=False),
        sa.Column("size", sa.String(8), nullable=False),
        sa.Column("angle", sa.String(24), nullable=False),
        sa.Column("camera_move", sa.String(16), nullable=False),
        sa.Column("duration", sa.Float, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("characters", sa.JSON, nullable=False),
        sa.Column("dialogue", sa.JSON, nullable=False),
        sa.Column("narration", sa.Text, nullable=False),
        sa.Column("prompt", sa.Text, nullable=False),
        sa.Column("prompt_override", sa.Text, nullable=False),
        sa.Column("negative_prompt", sa.Text, nullable=False),
        sa.Column("seed", sa.Integer, nullable=True),
        sa.Column("seed_locked", sa.Boolean, nullable=False),
        sa.Column("first_keyframe", sa.String(64), nullable=True),
        sa.Column("last_keyframe", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("locked", sa.Boolean, nullable=False),
        sa.Column("approved_take_id", sa.String(36), nullable=True),
    )
    op.create_index("ix_shots_scene_id", "shots", ["scene_id"])
    op.create_table(
        "takes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "shot_id", sa.String(36), sa.ForeignKey("shots.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column(
            "media", sa.String(64), sa.ForeignKey("media_assets.sha256"), nullable=False
        ),
        sa.Column("record", sa.JSON, nullable=False),
        sa.Column("cache_key", sa.String(64), nullable=False),
        sa.Column("thumbnail", sa.String(64), nullable=True),
        sa.Column("approved", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_takes_shot_id", "takes", ["shot_id"])
    op.create_index("ix_takes_cache_key", "takes", ["cache_key"])


def downgrade() -> None:
    for table in ("takes", "shots", "scenes", "characters", "media_assets", "project"):
        op.drop_table(table)
