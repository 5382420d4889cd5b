"""Fuzz suite settings: a small bounded budget in `make test`, a long one on request.

    STORYREEL_FUZZ_EXAMPLES=2000 pytest tests/fuzz     # a longer Hypothesis run
    python bench/fuzz.py                               # the ≥10,000-input campaign
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# the repository root, so `tests.fuzz.harness` imports (never tests/ itself: it holds a
# tests/engine package that would shadow the real engine)
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

settings.register_profile(
    "storyreel",
    max_examples=int(os.environ.get("STORYREEL_FUZZ_EXAMPLES", "25")),
    deadline=None,  # a project open is real disk I/O: timing varies, hangs are caught apart
    derandomize=not os.environ.get("STORYREEL_FUZZ_EXAMPLES"),  # CI runs the same inputs
    database=None,  # no .hypothesis folder left in the checkout
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.function_scoped_fixture],
    print_blob=True,
)
settings.load_profile("storyreel")


@pytest.fixture(scope="session")
def seed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A real generated project, its packed zip and small media files (built once)."""
    from tests.fuzz import harness as H

    root = tmp_path_factory.mktemp("fuzz-seed")
    project = H.build_project(root)
    return {"project": project, "db": (project / "project.db").read_bytes(),
            "zip": (root / "seed.zip").read_bytes(), "media": H.seed_media(root)}
