"""PostgreSQL beyond the shared contract: the copy from the embedded files."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.access import AccessLists
from bot.domain.records import TaskState, UserProfile
from bot.domain.settings import GenerationSettings
from bot.domain.transitions import Ended
from bot.storage.migrate import copy_to_postgres
from bot.storage.postgres import PostgresStorage
from bot.storage.tinydb import TinyDBStorage
from tests.factories import make_record
from tests.postgres import fresh_database

NOW = 20_000 * 86400.0 + 3600


async def test_migrate_to_postgres_copies_everything_and_keeps_the_stats(
    tmp_path: Path, postgres_server: str
) -> None:
    source = TinyDBStorage(tmp_path, clock=lambda: NOW, retention_days=30)
    for n in range(1, 31):
        await source.save_user(UserProfile(n, GenerationSettings(duration=n % 14 + 2), "es"))
    await source.save_access(AccessLists().allow(5))
    old = NOW - 40 * 86400
    for task_id, finished in (("pruned", old), ("kept", NOW - 60)):
        await source.add_task(
            make_record(
                task_id, state=TaskState.DELIVERING, apimart_task_id=task_id, created_at=finished
            )
        )
        await source.update_task(task_id, Ended(state=TaskState.DONE, finished_at=finished))
    await source.add_task(
        make_record(
            "live", user_id=3, state=TaskState.RUNNING, apimart_task_id="a", submitted_at=NOW
        )
    )
    await source.prune(NOW)
    expected = await source.stats(NOW)
    await source.close()

    url = await fresh_database(postgres_server)
    message = await copy_to_postgres(tmp_path, url)
    assert "copied 30 users and 2 tasks" in message
    await copy_to_postgres(tmp_path, url)  # twice: harmless

    target = await PostgresStorage.connect(url)
    try:
        for n in range(1, 31):
            profile = await target.get_user(n)
            assert profile.settings.duration == n % 14 + 2 and profile.language == "es"
        assert (await target.get_access()).allowed == {5}
        live = await target.get_task("live")
        assert live is not None and live.state is TaskState.RUNNING and live.lease_owner is None
        stats = await target.stats(NOW)
        assert stats.total == expected.total and stats.users == expected.users
        assert stats.charged_seconds == expected.charged_seconds
        assert [r.id for r in await target.take_leases("p1", NOW + 30, NOW)] == ["live"]
    finally:
        await target.close()


async def test_two_replicas_cannot_credit_one_charge_twice_or_overspend(
    postgres_server: object,
) -> None:
    """Two bot processes on one database: the same payment and two reservations at once."""
    import asyncio as aio

    from bot.domain.billing import Movement, Reason

    url = await fresh_database(postgres_server)
    first, second = await PostgresStorage.connect(url), await PostgresStorage.connect(url)
    try:
        paid = Movement(5, 30, Reason.PURCHASE, "charge-x", stars=30)
        results = await aio.gather(*(s.ledger_apply(paid) for s in (first, second) * 5))
        assert results.count(True) == 1
        holds = [Movement(5, -20, Reason.RESERVE, f"t{n}:1") for n in range(6)]
        held = await aio.gather(
            *(s.ledger_apply(h) for s, h in zip((first, second) * 3, holds, strict=True))
        )
        assert held.count(True) == 1  # 30 credits: one hold of 20, never two
        assert sum(m.amount for m in await first.ledger(5)) == 10
    finally:
        await first.close()
        await second.close()


async def test_a_claim_cut_short_before_its_unlock_never_blocks_the_other_replica(
    postgres_server: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool does not reset connections (one round trip fewer per query), so a claim whose
    unlock never reached the server (cancelled right then) must release the session lock
    another way: its session is closed, and both replicas claim again at once."""
    import asyncio as aio

    import asyncpg

    url = await fresh_database(postgres_server)
    first, second = await PostgresStorage.connect(url), await PostgresStorage.connect(url)
    execute = asyncpg.Connection.execute
    cut: list[str] = []

    async def cut_short_once(self: asyncpg.Connection, query: str, *args: object) -> str:
        if "advisory_unlock" in query and not cut:
            cut.append(query)
            raise aio.CancelledError
        return await execute(self, query, *args)

    async def claim(storage: PostgresStorage) -> None:
        async with storage.claims():
            pass

    try:
        monkeypatch.setattr(asyncpg.Connection, "execute", cut_short_once)
        with pytest.raises(aio.CancelledError):
            await claim(first)
        assert cut
        for _ in range(3):
            await aio.wait_for(claim(second), 10)
            await aio.wait_for(claim(first), 10)
    finally:
        await first.close()
        await second.close()


async def test_replicas_share_soundtracks_and_count_an_albums_photos_once(
    postgres_server: str,
) -> None:
    """Soundtracks and album counts live in the database: what one replica saved another
    reads; an album's photos are counted across both, at the same instant too; a sweep never
    takes a soundtrack saved a moment ago (its card may be about to refer to it)."""
    import asyncio as aio

    from bot.storage.postgres import SOUNDTRACK_GRACE

    url = await fresh_database(postgres_server)
    now = [NOW]
    first = await PostgresStorage.connect(url, clock=lambda: now[0])
    second = await PostgresStorage.connect(url, clock=lambda: now[0])
    try:
        mine, theirs = first.soundtracks(), second.soundtracks()
        await mine.save("a" * 32 + ".mp3", b"ID3 one")
        await mine.save("b" * 32 + ".mp3", b"ID3 two")
        assert await theirs.read("a" * 32 + ".mp3") == b"ID3 one"
        assert await theirs.read("c" * 32 + ".mp3") is None
        assert await theirs.sweep({"b" * 32 + ".mp3"}) == 0  # within the grace
        now[0] += SOUNDTRACK_GRACE + 1
        assert await theirs.sweep({"b" * 32 + ".mp3"}) == 1
        assert await mine.read("a" * 32 + ".mp3") is None
        await theirs.delete("b" * 32 + ".mp3")
        assert await mine.read("b" * 32 + ".mp3") is None

        counts = await aio.gather(*(s.arrivals_before("g1", 120) for s in (first, second) * 3))
        assert sorted(counts) == [0, 1, 2, 3, 4, 5]
        assert await first.arrivals_before("press", 3) == 0
        now[0] += 2
        assert await second.arrivals_before("press", 3) == 1  # a double tap
        now[0] += 2  # a press past the window counts afresh; an album's own window is its own
        assert await first.arrivals_before("press", 3) == 0
        assert await first.arrivals_before("g1", 120) == 6
        now[0] += 121  # an old album counts afresh
        assert await first.arrivals_before("g2", 120) == 0
        assert await second.arrivals_before("g2", 120) == 1
        assert await second.arrivals_before("g1", 120) == 0
    finally:
        await first.close()
        await second.close()


async def test_replicas_alive_are_those_whose_heartbeat_is_recent(postgres_server: str) -> None:
    url = await fresh_database(postgres_server)
    now = [NOW]
    first = await PostgresStorage.connect(url, clock=lambda: now[0])
    second = await PostgresStorage.connect(url, clock=lambda: now[0])
    try:
        assert await first.replica_heartbeat("a", 30) == 1
        assert await second.replica_heartbeat("b", 30) == 2
        assert await first.replica_heartbeat("a", 30) == 2  # a beat again is not one more
        now[0] += 31  # b stopped beating (killed): a alone
        assert await first.replica_heartbeat("a", 30) == 1
        assert await second.replica_heartbeat("b", 30) == 2
        await second.leave_replicas("b")  # a clean stop
        assert await first.replica_heartbeat("a", 30) == 1
    finally:
        await first.close()
        await second.close()


async def test_replicas_writing_to_one_chat_share_its_burst(postgres_server: str) -> None:
    """Telegram's ~1 a second per chat, a burst of 3, whichever replica sends: counted on the
    database's clock, so two replicas together get the burst once, not twice."""
    url = await fresh_database(postgres_server)
    first, second = await PostgresStorage.connect(url), await PostgresStorage.connect(url)
    try:
        waits = [await s.take_chat_send(77, 1.0, 3) for s in (first, second, first, second)]
        assert waits[:3] == [0.0, 0.0, 0.0] and 0.9 < waits[3] <= 1.0
        assert await first.take_chat_send(78, 1.0, 3) == 0.0  # another chat, its own burst
        group = [await second.take_chat_send(-100, 3.0, 20) for _ in range(21)]
        assert group[:20] == [0.0] * 20 and group[20] > 2.9  # 20 a minute: then one per 3 s
        await first.prune(NOW)
    finally:
        await first.close()
        await second.close()


def test_a_dead_connection_is_unreachable_even_behind_a_transactions_error() -> None:
    from asyncpg.exceptions import ConnectionDoesNotExistError, InterfaceError

    from bot.storage.errors import is_unreachable

    assert is_unreachable(ConnectionRefusedError()) and is_unreachable(TimeoutError())
    assert is_unreachable(ConnectionDoesNotExistError("closed in the middle of operation"))
    try:
        try:
            raise ConnectionDoesNotExistError("closed in the middle of operation")
        except ConnectionDoesNotExistError:
            raise InterfaceError("cannot call Transaction.__aexit__(): connection is closed")  # noqa: B904 (asyncpg raises it so)
    except InterfaceError as exc:
        assert is_unreachable(exc)
    assert not is_unreachable(InterfaceError("another operation is in progress"))
    assert not is_unreachable(ValueError()) and not is_unreachable(None)
