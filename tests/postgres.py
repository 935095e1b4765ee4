"""A real PostgreSQL for the tests: the `pgserver` wheel starts one from pip, nothing by hand."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The server's base URL (a Unix socket in a temporary folder), for the whole session."""
    import pgserver  # imported here: only the tests that use PostgreSQL pay for it

    with tempfile.TemporaryDirectory(prefix="pg-") as folder:
        server = pgserver.get_server(Path(folder), cleanup_mode="stop")
        try:
            yield server.get_uri()
        finally:
            server.cleanup()


async def fresh_database(server_uri: str) -> str:
    """A new empty database on the session's server; returns its URL."""
    name = f"test_{next(_databases)}"
    connection = await asyncpg.connect(server_uri)
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {name}")
        await connection.execute(f"CREATE DATABASE {name}")
    finally:
        await connection.close()
    return server_uri.replace("/postgres?", f"/{name}?", 1)
