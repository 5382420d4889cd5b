"""Entry point for frozen builds: `storyreel` with no arguments opens the studio."""

from __future__ import annotations

import sys

from engine.cli import main

if __name__ == "__main__":
    argv = sys.argv[1:] or ["gui"]
    raise SystemExit(main(argv))
