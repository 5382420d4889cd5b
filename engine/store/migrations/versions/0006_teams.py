"""Schema 6: team review (shot status, notes, assignees), soft locks, team members; on a
PostgreSQL server, JSONB columns and a NOTIFY of every new operation."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# the channel open studios LISTEN on; the payload is the new entry's seq
CHANNEL = "storyreel_ops"


def upgrade() -> None:
    op.create_table(
        "shot_reviews",
        sa.Column("shot_id", sa.String(36), sa.ForeignKey("shots.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("status", sa.String(32), nullable=False, server_default="todo"),
        sa.Column("assignee", sa.Text, nullable=False, server_default=""),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_table(
        "review_notes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("shot_id", sa.String(36), sa.ForeignKey("shots.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("author", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.String(32), nullable=False, server_default=""),
        sa.Column("at", sa.Float, nullable=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_table(
        "shot_locks",
        sa.Column("shot_id", sa.String(36), sa.ForeignKey("shots.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("user", sa.Text, nullable=False),
        sa.Column("until", sa.String(40), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_table(
        "team_members",
        sa.Column("user", sa.Text, primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("granted_by", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("node", sa.Text, nullable=False, server_default=""))
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_upgrade()


def _postgresql_upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND data_type = 'json'")).all()
    for table, column in rows:
        op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE JSONB '
                   f'USING "{column}"::jsonb')
    op.execute(f"""
        CREATE OR REPLACE FUNCTION storyreel_notify_op() RETURNS trigger AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', NEW.seq::text);
            RETURN NEW;
        END $$ LANGUAGE plpgsql""")
    op.execute("CREATE TRIGGER op_log_notify AFTER INSERT ON op_log "
               "FOR EACH ROW EXECUTE FUNCTION storyreel_notify_op()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS op_log_notify ON op_log")
        op.execute("DROP FUNCTION IF EXISTS storyreel_notify_op()")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("node")
    for table in ("team_members", "shot_locks", "review_notes", "shot_reviews"):
        op.drop_table(table)
