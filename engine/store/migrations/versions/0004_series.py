"""Schema 4: a project is a series: episodes, locations, wardrobe variants, character roles
and English looks (for CLIP-based models in a Chinese project).

Every existing scene is filed under one episode (number 1); every distinct scene location
becomes a Location row the scenes point at.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "episodes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("number", sa.Integer, nullable=False, unique=True),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("logline", sa.Text, nullable=False, server_default=""),
        sa.Column("script_text", sa.Text, nullable=False, server_default=""),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_table(
        "locations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("reference_images", sa.JSON, nullable=False, server_default="[]"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_table(
        "costumes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("character_id", sa.String(36),
                  sa.ForeignKey("characters.id", ondelete="CASCADE"), nullable=False),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("scope_id", sa.String(36), nullable=False),
        sa.Column("text", sa.Text, nullable=False, server_default=""),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_index("ix_costumes_character_id", "costumes", ["character_id"])
    op.create_index("ix_costumes_scope_id", "costumes", ["scope_id"])
    with op.batch_alter_table("scenes") as batch:
        batch.add_column(sa.Column("episode_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("location_id", sa.String(36), nullable=True))
    # (no foreign key: SQLite would rebuild the table, and dropping the old scenes table
    # cascades to every shot; deleting an episode deletes its scenes through the store)
    op.create_index("ix_scenes_episode_id", "scenes", ["episode_id"])
    with op.batch_alter_table("characters") as batch:
        batch.add_column(sa.Column("role", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("appearance_en", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("costume_en", sa.Text, nullable=False, server_default=""))

    conn = op.get_bind()
    if conn.execute(sa.text("SELECT COUNT(*) FROM project")).scalar():
        episode_id = str(uuid.uuid4())
        conn.execute(sa.text("INSERT INTO episodes (id, number, title, logline, script_text, "
                             "version) VALUES (:id, 1, '', '', '', 1)"), {"id": episode_id})
        conn.execute(sa.text("UPDATE scenes SET episode_id = :id"), {"id": episode_id})
    names = [r[0] for r in conn.execute(sa.text(
        "SELECT DISTINCT TRIM(location) FROM scenes WHERE TRIM(location) != '' ORDER BY 1"))]
    for name in names:
        location_id = str(uuid.uuid4())
        conn.execute(sa.text("INSERT INTO locations (id, name, description, reference_images, "
                             "version) VALUES (:id, :name, '', '[]', 1)"),
                     {"id": location_id, "name": name})
        conn.execute(sa.text("UPDATE scenes SET location_id = :id WHERE TRIM(location) = :name"),
                     {"id": location_id, "name": name})


def downgrade() -> None:
    with op.batch_alter_table("characters") as batch:
        batch.drop_column("costume_en")
        batch.drop_column("appearance_en")
        batch.drop_column("role")
    op.drop_index("ix_scenes_episode_id", "scenes")
    with op.batch_alter_table("scenes") as batch:
        batch.drop_column("location_id")
        batch.drop_column("episode_id")
    op.drop_table("costumes")
    op.drop_table("locations")
    op.drop_table("episodes")
