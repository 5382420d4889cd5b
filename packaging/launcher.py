"""Entry point for frozen builds: `storyreel` with no arguments opens the studio.

The studio starts helper processes as ``sys.executable -m MODULE ...`` (the generation
worker, the export process). In a frozen build ``sys.executable`` is this launcher, so
``-m MODULE`` is honoured here by running that module, as Python itself would.
"""

from __future__ import annotations

import runpy
import sys

from engine.cli import main

if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "-m":
        module = sys.argv[2]
        sys.argv = [module, *sys.argv[3:]]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        raise SystemExit(0)
    argv = sys.argv[1:] or ["gui"]
    raise SystemExit(main(argv))
