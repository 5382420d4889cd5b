"""Schema 7: each voice clip keeps the delivery it was given (emotion cues, prosody,
phone / off-screen placement)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("voice_clips") as batch:
        batch.add_column(sa.Column("delivery", sa.JSON().with_variant(JSONB(), "postgresql"),
                                   nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("voice_clips") as batch:
        batch.drop_column("delivery")
