"""House rule 1: the engine never imports Qt or the studio."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "engine"

SCRIPT = r"""
import importlib, pkgutil, sys
import engine
failed = []
for mod in pkgutil.walk_packages(engine.__path__, "engine."):
    name = mod.name
    if ".migrations" in name:
        continue  # alembic env/versions run only inside alembic
    try:
        importlib.import_module(name)
    except ImportError as exc:  # optional heavy deps (torch) may be absent in a base install
        if "torch" in str(exc) or "diffusers" in str(exc) or "transformers" in str(exc):
            continue
        failed.append(f"{name}: {exc}")
bad = sorted(m for m in sys.modules if m == "PySide6" or m.startswith(("PySide6.", "studio")))
print("IMPORTED", len([m for m in sys.modules if m.startswith("engine")]))
print("FAILED", failed)
print("QT", bad)
"""


def test_engine_modules_never_import_qt() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True,
        cwd=ENGINE.parent, timeout=600,
    ).stdout
    lines = dict(line.split(" ", 1) for line in out.strip().splitlines())
    assert int(lines["IMPORTED"]) >= 10
    assert lines["FAILED"] == "[]"
    assert lines["QT"] == "[]"


QT_IMPORTS = ("import PySide6", "from PySide6", "import studio", "from studio")


def test_no_qt_import_statements_in_engine_sources() -> None:
    offenders = []
    for path in ENGINE.rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith(QT_IMPORTS):
                offenders.append(f"{path}: {stripped}")
    assert offenders == []
