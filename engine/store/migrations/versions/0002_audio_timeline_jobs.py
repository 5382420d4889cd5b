"""Schema 2: character descriptions, per-shot generation settings, voices, audio
placements, timeline edits and the job queue."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("characters") as batch:
        batch.add_column(sa.Column("description", sa.Text, nullable=False, server_default=""))
    with op.batch_alter_table("shots") as batch:
        batch.add_column(sa.Column("generation", sa.JSON, nullable=False, server_default="{}"))
    op.create_table(
        "voice_clips",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "shot_id", sa.String(36), sa.ForeignKey("shots.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("line_index", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column(
            "media", sa.String(64), sa.ForeignKey("media_assets.sha256"), nullable=False
        ),
        sa.Column("duration", sa.Float, nullable=False),
        sa.Column("profile_key", sa.String(64), nullable=False),
        sa.Column("timings", sa.JSON, nullable=False),
    )
    op.create_index("ix_voice_clips_shot_id", "voice_clips", ["shot_id"])
    op.create_table(
        "audio_placements",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column(
            "media", sa.String(64), sa.ForeignKey("media_assets.sha256"), nullable=False
        ),
        sa.Column("from_shot", sa.String(36), nullable=True),
        sa.Column("to_shot", sa.String(36), nullable=True),
        sa.Column("offset", sa.Float, nullable=False),
        sa.Column("gain_db", sa.Float, nullable=False),
        sa.Column("fade_in", sa.Float, nullable=False),
        sa.Column("fade_out", sa.Float, nullable=False),
        sa.Column("loop", sa.Boolean, nullable=False),
    )
    op.create_table(
        "clip_edits",
        sa.Column(
            "shot_id", sa.String(36), sa.ForeignKey("shots.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("trim_in", sa.Integer, nullable=False),
        sa.Column("trim_out", sa.Integer, nullable=False),
        sa.Column("speed", sa.Float, nullable=False),
        sa.Column("transition", sa.String(16), nullable=False),
        sa.Column("transition_frames", sa.Integer, nullable=False),
        sa.Column("gain_db", sa.Float, nullable=False),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("shot_id", sa.String(36), nullable=True),
        sa.Column("model_key", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("result", sa.JSON, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("started_at", sa.String(40), nullable=True),
        sa.Column("finished_at", sa.String(40), nullable=True),
    )
    op.create_index("ix_jobs_status", "jobs", ["status"])


def downgrade() -> None:
    for table in ("jobs", "clip_edits", "audio_placements", "voice_clips"):
        op.drop_table(table)
    with op.batch_alter_table("shots") as batch:
        batch.drop_column("generation")
    with op.batch_alter_table("characters") as batch:
        batch.drop_column("description")
