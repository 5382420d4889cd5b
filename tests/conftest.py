from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session", autouse=True)
def _tiny_kokoro(tmp_path_factory: pytest.TempPathFactory):
    """The default voice engine (Kokoro) runs a tiny random model built here, through the
    same loading code as the real one; tests marked realweights remove this override."""
    from tests.engine.audio import kokoro_tiny

    path = kokoro_tiny.write_model(tmp_path_factory.mktemp("kokoro") / "tiny-kokoro.onnx")
    old = os.environ.get("STORYREEL_KOKORO_MODEL")
    os.environ["STORYREEL_KOKORO_MODEL"] = str(path)
    yield path
    if old is None:
        os.environ.pop("STORYREEL_KOKORO_MODEL", None)
    else:
        os.environ["STORYREEL_KOKORO_MODEL"] = old


@pytest.fixture(autouse=True)
def _storyreel_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test gets its own per-user config dir (model registry, preferences)."""
    home = tmp_path_factory.mktemp("storyreel-home")
    monkeypatch.setenv("STORYREEL_HOME", str(home))
    return home


@pytest.fixture
def project(tmp_path: Path):
    """A new, empty project store in a temp folder."""
    from engine.model import Project
    from engine.store import ProjectStore

    store = ProjectStore.create(tmp_path / "test.storyreel", Project(title="测试"))
    yield store
    store.close()


_databases = itertools.count()


@pytest.fixture(scope="session")
def pg() -> Iterator[object]:
    """A real PostgreSQL server for the team tests (started once, only when asked for).
    They fail, not skip, when it cannot start."""
    from tests.pgserver import PgServer

    server = PgServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server_url(pg: object) -> str:
    """A new, empty database on the server for one test."""
    return pg.create_database(f"film_{next(_databases)}")  # type: ignore[attr-defined]
