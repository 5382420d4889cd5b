"""Schema 3: row versions and the persistent, field-level operation log."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

VERSIONED = ("project", "characters", "scenes", "shots", "takes", "voice_clips",
             "audio_placements", "clip_edits", "jobs")


def upgrade() -> None:
    for table in VERSIONED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="1"))
    op.create_table(
        "op_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("op", sa.Text, nullable=False),
        sa.Column("author", sa.Text, nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("target", sa.Integer, nullable=True),
    )
    op.create_index("ix_op_log_author", "op_log", ["author"])
    op.create_table(
        "op_fields",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("seq", sa.Integer, sa.ForeignKey("op_log.seq", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("row_id", sa.String(64), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("before", sa.JSON, nullable=True),
        sa.Column("after", sa.JSON, nullable=True),
        sa.Column("row_version", sa.Integer, nullable=False),
        sa.Column("derived", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_op_fields_seq", "op_fields", ["seq"])
    op.create_index("ix_op_fields_row_id", "op_fields", ["row_id"])


def downgrade() -> None:
    op.drop_table("op_fields")
    op.drop_table("op_log")
    for table in VERSIONED:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("version")
