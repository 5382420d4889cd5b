"""Schema 9: a local job (export, voice, mix, plan, import, preview sound…) names the
process that runs it (``jobs.owner``, "host:pid"), so rows left queued or running by a
studio or CLI that ended without finishing them are told apart from live ones and ended
with a reason, and the worker's restart never takes them over."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("owner", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("owner")
