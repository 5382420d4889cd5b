"""Schema 5: identity scores kept with each take (character consistency, issue 14)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# the store reads schema versions as integers: the revision id is the number
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("takes") as batch:
        batch.add_column(sa.Column("identity", sa.JSON, nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("takes") as batch:
        batch.drop_column("identity")
