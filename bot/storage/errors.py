"""What a store's errors mean for the user: a database that is down, restarting or out of
reach is a passing state (asyncpg's pool reconnects by itself once it is back), not a bug."""

from __future__ import annotations

from asyncpg.exceptions import (
    InterfaceError,
    OperatorInterventionError,
    PostgresConnectionError,
)

_UNREACHABLE = (OSError, TimeoutError, PostgresConnectionError, OperatorInterventionError)


def is_unreachable(error: BaseException | None) -> bool:
    """The server closed the connection, refuses new ones while it starts or stops, or
    cannot be reached at all (the socket, the network, a timeout). A transaction whose
    connection died ends in asyncpg's InterfaceError raised while handling that: its cause
    says which it was."""
    if isinstance(error, InterfaceError):
        return is_unreachable(error.__cause__ or error.__context__)
    return isinstance(error, _UNREACHABLE)
