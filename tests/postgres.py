"""A real PostgreSQL for the tests: the `pgserver` wheel starts one from pip, nothing by hand."""

from __future__ import annotations

import contextlib
import itertools
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The server's base URL (a Unix socket in a temporary folder), for the whole session."""
    import pgserver  # imported here: only the tests that use PostgreSQL pay for it

    # (In memory when the machine has room: see `pytest_configure` in tests/conftest.py.)
    with tempfile.TemporaryDirectory(prefix="pg-") as folder:
        server = pgserver.get_server(Path(folder), cleanup_mode=None)  # stopped below
        try:
            _throwaway(server)
            yield server.get_uri()
        finally:
            server.cleanup()
            _stop_at_once(server)


def _throwaway(server: Any) -> None:
    """A server whose data is deleted after the run need not survive a crash: no flush to
    disk per commit or per CREATE DATABASE (every test makes one)."""
    server.psql(
        "ALTER SYSTEM SET fsync = off; ALTER SYSTEM SET synchronous_commit = off; "
        "ALTER SYSTEM SET full_page_writes = off; SELECT pg_reload_conf();"
    )


def _stop_at_once(server: Any) -> None:
    """Stop without the shutdown checkpoint (seconds of writing what is deleted next)."""
    from pgserver._commands import pg_ctl

    with contextlib.suppress(subprocess.CalledProcessError):
        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=server.pgdata, user=server.system_user)


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
