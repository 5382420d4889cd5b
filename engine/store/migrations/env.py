"""Alembic environment: runs on the connection handed over by engine.store.schema."""

from __future__ import annotations

from alembic import context

from engine.store.orm import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
