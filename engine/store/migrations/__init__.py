"""Alembic migrations of project.db. Revision ids are the integer schema versions."""
