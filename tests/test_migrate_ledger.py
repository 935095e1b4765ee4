"""`python -m bot migrate-to-postgres` copies the credits ledger: balances, used welcome gifts
and the holds of queued tasks survive the move (security review 2026-11, M2)."""

from __future__ import annotations

from pathlib import Path

from bot.domain.billing import Movement, Reason, account_of
from bot.domain.records import TaskState, UserProfile
from bot.domain.transitions import Ended
from bot.storage.migrate import copy_to_postgres
from bot.storage.postgres import PostgresStorage
from bot.storage.tinydb import TinyDBStorage
from tests.factories import make_record
from tests.postgres import fresh_database

NOW = 20_000 * 86400.0 + 3600
BUYER, OTHER = 5, 6
QUEUED_HOLD = "queued:1:a"
SETTLED_HOLD = "done:1:a"


async def fill(data_dir: Path) -> TinyDBStorage:
    """A TinyDB store with every kind of movement, two users' rows interleaved."""
    source = TinyDBStorage(data_dir, clock=lambda: NOW)
    for user_id in (BUYER, OTHER):
        await source.save_user(UserProfile(user_id))
    movements = [
        Movement(BUYER, 100, Reason.PURCHASE, "charge-1", NOW - 500, stars=50),
        Movement(OTHER, 10, Reason.WELCOME, f"welcome:{OTHER}", NOW - 400),
        Movement(BUYER, 10, Reason.WELCOME, f"welcome:{BUYER}", NOW - 300),
        Movement(BUYER, -15, Reason.RESERVE, SETTLED_HOLD, NOW - 200),
        Movement(OTHER, -4, Reason.RESERVE, "other:1:a", NOW - 150),
        Movement(BUYER, 0, Reason.SPEND, SETTLED_HOLD, NOW - 100),
        Movement(BUYER, -20, Reason.RESERVE, QUEUED_HOLD, NOW - 50),
    ]
    for movement in movements:
        assert await source.ledger_apply(movement)
    await source.add_task(
        make_record(
            "done",
            user_id=BUYER,
            state=TaskState.DELIVERING,
            apimart_task_id="a",
            submitted_at=NOW - 200,
            reservation=SETTLED_HOLD,
        )
    )
    await source.update_task("done", Ended(state=TaskState.DONE, finished_at=NOW - 100))
    await source.add_task(
        make_record(
            "queued",
            user_id=BUYER,
            card_message_id=3,
            state=TaskState.QUEUED,
            reservation=QUEUED_HOLD,
        )
    )
    return source


async def test_the_ledger_moves_to_postgres_whole_and_in_order(
    tmp_path: Path, postgres_server: str
) -> None:
    source = await fill(tmp_path)
    written = source.export().ledger  # the order of ledger.jsonl
    assert len(written) == 7 and [m.reason for m in written][:2] == [
        Reason.PURCHASE,
        Reason.WELCOME,
    ]
    assert sorted(written, key=repr) == sorted(await source.ledger_rows(), key=repr)
    balances = {u: account_of(await source.ledger(u)) for u in (BUYER, OTHER)}
    await source.close()

    url = await fresh_database(postgres_server)
    message = await copy_to_postgres(tmp_path, url)
    assert "7 ledger movements" in message
    assert f"{tmp_path / 'db'} still holds the old copy" in message  # the operator deletes it

    target = await PostgresStorage.connect(url)
    try:
        assert await target.ledger_rows() == written  # the same rows, in the same order
        for user_id in (BUYER, OTHER):
            assert account_of(await target.ledger(user_id)) == balances[user_id]
        assert balances[BUYER].balance == 100 + 10 - 15 - 20
        assert balances[BUYER].reserved == 20

        queued = await target.get_task("queued")
        assert queued is not None and queued.state is TaskState.QUEUED
        done = await target.get_task("done")
        assert done is not None and done.state is TaskState.DONE

        # The welcome gift was given already: not a second time.
        again = Movement(BUYER, 10, Reason.WELCOME, f"welcome:{BUYER}", NOW)
        assert await target.ledger_apply(again) is False
        # The settled hold cannot be spent or released again.
        assert not await target.ledger_apply(Movement(BUYER, 15, Reason.RELEASE, SETTLED_HOLD))
        # The queued task's hold is still open: its delivery can spend it.
        assert await target.ledger_apply(Movement(BUYER, 0, Reason.SPEND, QUEUED_HOLD, NOW))
        after_use = await target.ledger_rows()
    finally:
        await target.close()

    # Twice: nothing changes, not even the row the bot added since.
    await copy_to_postgres(tmp_path, url)
    await copy_to_postgres(tmp_path, url)
    target = await PostgresStorage.connect(url)
    try:
        assert await target.ledger_rows() == after_use
        assert after_use == [*written, Movement(BUYER, 0, Reason.SPEND, QUEUED_HOLD, NOW)]
    finally:
        await target.close()


async def test_running_the_migration_twice_leaves_exactly_the_same_rows(
    tmp_path: Path, postgres_server: str
) -> None:
    await (await fill(tmp_path)).close()
    url = await fresh_database(postgres_server)
    await copy_to_postgres(tmp_path, url)
    target = await PostgresStorage.connect(url)
    try:
        first = await target.ledger_rows()
        seqs = [r["seq"] for r in await target._pool.fetch("SELECT seq FROM ledger ORDER BY seq")]
    finally:
        await target.close()
    await copy_to_postgres(tmp_path, url)
    target = await PostgresStorage.connect(url)
    try:
        assert await target.ledger_rows() == first and len(first) == 7
        again = [r["seq"] for r in await target._pool.fetch("SELECT seq FROM ledger ORDER BY seq")]
        assert again == seqs
    finally:
        await target.close()
