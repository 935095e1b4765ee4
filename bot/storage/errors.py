"""What a store's errors mean for the user: a database that is down, restarting or out of
reach is a passing state (asyncpg's pool reconnects by itself once it is back), not a bug."""

from __future__ import annotations

from asyncpg.exceptions import OperatorInterventionError, PostgresConnectionError


def is_unreachable(error: BaseException | None) -> bool:
    """The server closed the connection, refuses new ones while it starts or stops, or
    cannot be reached at all (the socket, the network, a timeout)."""
    return isinstance(
        error, OSError | TimeoutError | PostgresConnectionError | OperatorInterventionError
    )
