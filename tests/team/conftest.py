"""The team tests run against a real PostgreSQL server started for the session. They fail,
not skip, when it cannot start."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from tests.pgserver import PgServer

_names = itertools.count()


@pytest.fixture(scope="session")
def pg() -> Iterator[PgServer]:
    server = PgServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server_url(pg: PgServer) -> str:
    """A new, empty database on the server for one test."""
    return pg.create_database(f"film_{next(_names)}")
