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


def one_line(text: str, limit: int = 300) -> str:
    """``text`` as one line of printable characters (a refusal quotes damaged data, or a
    foreign library's message, without spilling control bytes or newlines)."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in str(text)).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
