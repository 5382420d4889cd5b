"""Helpers shared by the ``storyreel`` command's handlers.

Every command module imports these; this module imports none of them (nor
``engine.cli``), so there is no import cycle between the parser and the handlers.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from engine.errors import StoryreelError
from engine.store import ProjectStore


class UsageError(StoryreelError):
    """Bad input on the command line: one sentence on stderr, exit code 2."""


def open_project(path: str | Path) -> ProjectStore:
    return ProjectStore.open(path)


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")
