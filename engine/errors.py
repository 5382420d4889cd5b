"""User-facing errors: each carries one sentence that tells the user what is wrong."""

from __future__ import annotations


class StoryreelError(Exception):
    """Bad input or a refused operation. The CLI prints the message and exits 2."""


class ProjectError(StoryreelError):
    """The project folder is missing, not a project, corrupt, or from a newer version."""


class MediaError(StoryreelError):
    """A media file cannot be read or is not what it claims to be."""


class Cancelled(StoryreelError):
    """A long task was cancelled by the user."""
