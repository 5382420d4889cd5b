"""Schema 8: a wardrobe variant keeps its English text too (``costumes.text_en``), so a
Chinese project's CLIP-family prompts dress a character in the scene's costume."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("costumes") as batch:
        batch.add_column(sa.Column("text_en", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("costumes") as batch:
        batch.drop_column("text_en")
