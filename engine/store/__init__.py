"""Persistence: the project folder, its SQLite database and the media store."""

from __future__ import annotations

from engine.store.project import Change, ProjectStore, find_project_dir, replace

__all__ = ["Change", "ProjectStore", "find_project_dir", "replace"]
