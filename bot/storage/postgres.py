"""PostgreSQL through asyncpg: the backend several bot processes share (DATABASE_URL).

Every transition is one transaction on one row (`SELECT … FOR UPDATE`, then `UPDATE`), so a
compare-and-set holds across processes. Leases are handed out with `FOR UPDATE SKIP LOCKED`,
so two processes never take the same task. Ended tasks stay as rows until `retention_days`;
their /stats totals move into `archived_totals` when they are pruned.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import asyncpg

from bot.domain.access import AccessLists
from bot.domain.billing import Movement, Reason, admissible
from bot.domain.groups import GroupSettings
from bot.domain.history import HistoryEntry, entry_of, in_history
from bot.domain.pricing import price_kind
from bot.domain.records import ACTIVE_STATES, ENDED_STATES, TaskRecord, TaskState, UserProfile
from bot.domain.transitions import TaskChange, apply_change
from bot.domain.usage import Stats, Usage, day_of, start_of_day
from bot.storage.base import Snapshot

# Each entry runs once, in order; the version reached is kept in schema_version.
MIGRATIONS = (
    """
    CREATE TABLE users (user_id BIGINT PRIMARY KEY, data JSONB NOT NULL);
    CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        user_id BIGINT NOT NULL,
        chat_id BIGINT NOT NULL,
        card_message_id BIGINT,
        state TEXT NOT NULL,
        duration INT NOT NULL,
        charged BOOLEAN NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        submitted_at DOUBLE PRECISION,
        finished_at DOUBLE PRECISION,
        lease_owner TEXT,
        lease_until DOUBLE PRECISION NOT NULL DEFAULT 0,
        data JSONB NOT NULL
    );
    CREATE INDEX tasks_card ON tasks (chat_id, card_message_id);
    CREATE INDEX tasks_user_state ON tasks (user_id, state);
    CREATE INDEX tasks_live ON tasks (state) WHERE state NOT IN ('done', 'cancelled', 'closed');
    CREATE INDEX tasks_finished ON tasks (finished_at) WHERE finished_at IS NOT NULL;
    CREATE TABLE access (id INT PRIMARY KEY, allowed BIGINT[] NOT NULL, denied BIGINT[] NOT NULL);
    CREATE TABLE archived_totals (id INT PRIMARY KEY, data JSONB NOT NULL);
    """,
    """
    CREATE TABLE ledger (
        seq BIGSERIAL PRIMARY KEY,
        user_id BIGINT NOT NULL,
        amount BIGINT NOT NULL,
        reason TEXT NOT NULL,
        ref TEXT NOT NULL,
        at DOUBLE PRECISION NOT NULL,
        stars BIGINT NOT NULL DEFAULT 0,
        UNIQUE (reason, ref)
    );
    CREATE INDEX ledger_user ON ledger (user_id);
    """,
    """
    CREATE TABLE soundtracks (
        name TEXT PRIMARY KEY,
        data BYTEA NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE albums (
        id TEXT PRIMARY KEY,
        photos INT NOT NULL,
        first_seen DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE replicas (owner TEXT PRIMARY KEY, seen_at DOUBLE PRECISION NOT NULL);
    CREATE TABLE chat_sends (chat_id BIGINT PRIMARY KEY, due DOUBLE PRECISION NOT NULL);
    -- One chat's flood budget shared by replicas, as GCRA on the database's clock: `due` is
    -- when the chat's bucket is full again. 0: counted, send now; else the seconds to wait.
    CREATE FUNCTION take_chat_send(chat BIGINT, step DOUBLE PRECISION, slack DOUBLE PRECISION)
    RETURNS DOUBLE PRECISION AS $$
    DECLARE
        at DOUBLE PRECISION := extract(epoch FROM clock_timestamp());
        full_at DOUBLE PRECISION;
    BEGIN
        INSERT INTO chat_sends VALUES (chat, at) ON CONFLICT (chat_id) DO NOTHING;
        SELECT greatest(c.due, at) INTO full_at FROM chat_sends c WHERE c.chat_id = chat
        FOR UPDATE;
        IF full_at - at > slack THEN
            RETURN full_at - at - slack;
        END IF;
        UPDATE chat_sends SET due = full_at + step WHERE chat_id = chat;
        RETURN 0;
    END $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TABLE chat_groups (chat_id BIGINT PRIMARY KEY, data JSONB NOT NULL);
    CREATE INDEX tasks_chat ON tasks (chat_id, created_at);
    """,
)
# A soundtrack is saved a moment before a card refers to it: a sweep on another replica in
# that moment must not take it.
SOUNDTRACK_GRACE = 3600.0
# The two-key form: a lock space of its own, apart from the ledger's per-user keys.
CLAIM_LOCK = (1, 1)
_ACTIVE = [s.value for s in ACTIVE_STATES]
_ENDED = [s.value for s in ENDED_STATES]
_COLUMNS = (
    "id, user_id, chat_id, card_message_id, state, duration, charged, created_at, "
    "submitted_at, finished_at, lease_owner, lease_until, data"
)


async def _init_connection(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Nothing to undo when a connection goes back to the pool (asyncpg still rolls back an
    open transaction first): no query here sets, listens or opens a cursor, and the one
    session lock (`claims`) is released there or its connection closed. asyncpg's default
    reset is one more round trip per query, a third of all of them (docs/benchmarks.md)."""


async def migrate(pool: asyncpg.Pool) -> int:
    """Bring the schema up to date (one process at a time); returns the version reached."""
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock(4711)")
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (id INT PRIMARY KEY, version INT NOT NULL)"
        )
        version = await connection.fetchval("SELECT version FROM schema_version WHERE id = 1")
        for step in MIGRATIONS[version or 0 :]:
            await connection.execute(step)
        await connection.execute(
            "INSERT INTO schema_version VALUES (1, $1) "
            "ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version",
            len(MIGRATIONS),
        )
    return len(MIGRATIONS)


def _row(record: TaskRecord) -> tuple[Any, ...]:
    return (
        record.id,
        record.user_id,
        record.chat_id,
        record.card_message_id,
        record.state.value,
        record.settings.duration,
        record.apimart_task_id is not None,
        record.created_at,
        record.submitted_at,
        record.finished_at,
        record.lease_owner,
        record.lease_until,
        record.to_dict(),
    )


def _records(rows: Iterable[asyncpg.Record]) -> list[TaskRecord]:
    return [TaskRecord.from_dict(row["data"]) for row in rows]


class PostgresStorage:
    """Keeps the Storage contract for any number of processes on one database."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        retention_days: int = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._pool = pool
        self._claims = asyncio.Lock()
        self.retention_days = retention_days
        self.clock = clock

    @classmethod
    async def connect(cls, dsn: str, **options: Any) -> PostgresStorage:
        pool = await asyncpg.create_pool(
            dsn, min_size=1, max_size=10, init=_init_connection, reset=_keep_session
        )
        await migrate(pool)
        return cls(pool, **options)

    def soundtracks(self) -> PostgresSoundtracks:
        """Uploaded soundtracks in the database: every replica serves every one."""
        return PostgresSoundtracks(self._pool, self.clock)

    async def arrivals_before(self, key: str, keep_seconds: float) -> int:
        """How many times `key` arrived within `keep_seconds` before now, on any replica (an
        album's photos, a button pressed twice); an older count starts again. Keys a day old
        are forgotten on the way."""
        now = self.clock()
        count: int = await self._pool.fetchval(
            "WITH gone AS (DELETE FROM albums WHERE first_seen < $2 - 86400 AND id <> $1) "
            "INSERT INTO albums AS a VALUES ($1, 1, $2) ON CONFLICT (id) DO UPDATE SET "
            "photos = CASE WHEN a.first_seen < $3 THEN 1 ELSE a.photos + 1 END, "
            "first_seen = CASE WHEN a.first_seen < $3 THEN $2 ELSE a.first_seen END "
            "RETURNING a.photos",
            key,
            now,
            now - keep_seconds,
        )
        return count - 1

    async def replica_heartbeat(self, owner: str, ttl: float) -> int:
        """This replica is alive; how many are (those seen within `ttl`, this one included).
        Replicas gone longer than a day are forgotten on the way."""
        now = self.clock()
        others: int = await self._pool.fetchval(
            "WITH me AS (INSERT INTO replicas AS r VALUES ($1, $2) "
            "ON CONFLICT (owner) DO UPDATE SET seen_at = EXCLUDED.seen_at), "
            "gone AS (DELETE FROM replicas WHERE seen_at < $2 - 86400 AND owner <> $1) "
            "SELECT count(*) FROM replicas WHERE seen_at >= $3 AND owner <> $1",
            owner,
            now,
            now - ttl,
        )
        return others + 1

    async def take_chat_send(self, chat_id: int, step: float, burst: int) -> float:
        """Count one message to a chat in the budget every replica shares (`burst` at once,
        then one every `step` seconds): 0 when it may go now, else the seconds to wait."""
        wait: float = await self._pool.fetchval(
            "SELECT take_chat_send($1, $2, $3)", chat_id, step, step * (burst - 1)
        )
        return wait

    async def leave_replicas(self, owner: str) -> None:
        """A clean stop: the others take its share of the flood budget at their next beat."""
        await self._pool.execute("DELETE FROM replicas WHERE owner = $1", owner)

    async def get_user(self, user_id: int) -> UserProfile:
        data = await self._pool.fetchval("SELECT data FROM users WHERE user_id = $1", user_id)
        return UserProfile.from_dict(data) if data else UserProfile(user_id)

    async def save_user(self, profile: UserProfile) -> None:
        await self._pool.execute(
            "INSERT INTO users VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE SET data = $2",
            profile.user_id,
            profile.to_dict(),
        )

    async def add_task(self, record: TaskRecord) -> None:
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute(
                f"INSERT INTO tasks ({_COLUMNS}) VALUES "
                "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                *_row(record),
            )
            await connection.execute(  # everyone who opened a card is a user
                "INSERT INTO users VALUES ($1, $2) ON CONFLICT DO NOTHING",
                record.user_id,
                UserProfile(record.user_id).to_dict(),
            )

    async def get_task(self, task_id: str) -> TaskRecord | None:
        data = await self._pool.fetchval("SELECT data FROM tasks WHERE id = $1", task_id)
        return TaskRecord.from_dict(data) if data else None

    async def history(
        self, user_id: int, offset: int, limit: int
    ) -> tuple[list[HistoryEntry], int]:
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(
                "SELECT data FROM tasks WHERE user_id = $1 AND state <> 'draft' "
                "ORDER BY created_at DESC, id DESC",
                user_id,
            )
        # Filtered here: "ever submitted" lives in the JSON (attempt), and one user's list
        # is short (RETENTION_DAYS of their own videos).
        records = [TaskRecord.from_dict(row["data"]) for row in rows]
        mine = [entry_of(record) for record in records if in_history(record)]
        return mine[offset : offset + limit], len(mine)

    async def ledger_apply(self, movement: Movement) -> bool:
        async with self._pool.acquire() as connection, connection.transaction():
            # One movement of a user at a time, whichever process: the rules read the
            # user's ledger and must see every row added before this one.
            await connection.execute("SELECT pg_advisory_xact_lock($1)", movement.user_id)
            mine = await self._ledger_of(connection, movement.user_id)
            if not admissible(mine, movement):
                return False
            inserted = await connection.fetchval(
                "INSERT INTO ledger (user_id, amount, reason, ref, at, stars) "
                "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (reason, ref) DO NOTHING "
                "RETURNING seq",
                movement.user_id,
                movement.amount,
                movement.reason.value,
                movement.ref,
                movement.at,
                movement.stars,
            )
            return inserted is not None

    async def ledger(self, user_id: int) -> list[Movement]:
        async with self._pool.acquire() as connection:
            return await self._ledger_of(connection, user_id)

    async def ledger_rows(self) -> list[Movement]:
        rows = await self._pool.fetch("SELECT * FROM ledger ORDER BY seq")
        return [_movement(row) for row in rows]

    @staticmethod
    async def _ledger_of(connection: asyncpg.Connection, user_id: int) -> list[Movement]:
        rows = await connection.fetch(
            "SELECT * FROM ledger WHERE user_id = $1 ORDER BY seq", user_id
        )
        return [_movement(row) for row in rows]

    async def forget_user(self, user_id: int) -> list[TaskRecord]:
        async with self._pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(
                "DELETE FROM tasks WHERE user_id = $1 AND NOT (state = ANY($2::text[])) "
                "RETURNING data",
                user_id,
                _ACTIVE,
            )
            await connection.execute("DELETE FROM users WHERE user_id = $1", user_id)
            groups = await connection.fetch(
                "SELECT data FROM chat_groups WHERE data->'allowed' @> to_jsonb($1::bigint) "
                "FOR UPDATE",
                user_id,
            )
            for row in groups:
                group = GroupSettings.from_dict(row["data"]).allowing(user_id, False)
                await connection.execute(
                    "UPDATE chat_groups SET data = $2 WHERE chat_id = $1",
                    group.chat_id,
                    group.to_dict(),
                )
        return [TaskRecord.from_dict(row["data"]) for row in rows]

    async def get_group(self, chat_id: int) -> GroupSettings:
        data = await self._pool.fetchval(
            "SELECT data FROM chat_groups WHERE chat_id = $1", chat_id
        )
        return GroupSettings.from_dict(data) if data else GroupSettings(chat_id)

    async def change_group(
        self, chat_id: int, change: Callable[[GroupSettings], GroupSettings]
    ) -> GroupSettings:
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "INSERT INTO chat_groups VALUES ($1, $2) ON CONFLICT (chat_id) DO NOTHING",
                chat_id,
                GroupSettings(chat_id).to_dict(),
            )
            data = await connection.fetchval(
                "SELECT data FROM chat_groups WHERE chat_id = $1 FOR UPDATE", chat_id
            )
            group = change(GroupSettings.from_dict(data))
            await connection.execute(
                "UPDATE chat_groups SET data = $2 WHERE chat_id = $1", chat_id, group.to_dict()
            )
        return group

    async def usage_in_chat(self, user_id: int, chat_id: int, since: float) -> int:
        used = await self._pool.fetchval(
            "SELECT coalesce(sum(duration), 0) FROM tasks WHERE user_id = $1 AND chat_id = $2 "
            "AND (state = 'submitting' OR (charged AND submitted_at >= $3))",
            user_id,
            chat_id,
            since,
        )
        return int(used)

    async def chat_history(self, chat_id: int, since: float) -> list[HistoryEntry]:
        rows = await self._pool.fetch(
            "SELECT data FROM tasks WHERE chat_id = $1 AND created_at >= $2 AND state <> 'draft'",
            chat_id,
            since,
        )
        records = [TaskRecord.from_dict(row["data"]) for row in rows]
        return [entry_of(record) for record in records if in_history(record)]

    async def kept_task(self, task_id: str) -> TaskRecord | None:
        return await self.get_task(task_id)  # ended tasks stay in the table until pruned

    async def find_card(self, chat_id: int, card_message_id: int) -> TaskRecord | None:
        data = await self._pool.fetchval(
            "SELECT data FROM tasks WHERE chat_id = $1 AND card_message_id = $2 "
            "ORDER BY created_at DESC LIMIT 1",
            chat_id,
            card_message_id,
        )
        return TaskRecord.from_dict(data) if data else None

    async def tasks_in(
        self,
        states: Iterable[TaskState],
        *,
        user_id: int | None = None,
        chat_id: int | None = None,
    ) -> list[TaskRecord]:
        rows = await self._pool.fetch(
            "SELECT data FROM tasks WHERE state = ANY($1::text[]) "
            "AND ($2::bigint IS NULL OR user_id = $2) AND ($3::bigint IS NULL OR chat_id = $3)",
            [s.value for s in states],
            user_id,
            chat_id,
        )
        return _records(rows)

    async def usage(self, user_id: int, since: float) -> Usage:
        row = await self._pool.fetchrow(
            """
            SELECT count(*) FILTER (WHERE state = ANY($3::text[])) AS total_active,
                   count(*) FILTER (WHERE state = ANY($3::text[]) AND user_id = $1) AS mine,
                   coalesce(sum(duration) FILTER (WHERE user_id = $1 AND (
                       state = 'submitting' OR (charged AND submitted_at >= $2))), 0) AS used
            FROM tasks WHERE state = ANY($3::text[]) OR (user_id = $1 AND submitted_at >= $2)
            """,
            user_id,
            since,
            _ACTIVE,
        )
        return Usage(int(row["mine"]), int(row["total_active"]), int(row["used"]))

    async def stats(self, now: float) -> Stats:
        today = start_of_day(now)
        async with self._pool.acquire() as connection:
            base = await connection.fetchval("SELECT data FROM archived_totals WHERE id = 1")
            stats = Stats.from_dict(base).on(day_of(now))
            stats.users = await connection.fetchval("SELECT count(*) FROM users")
            rows = await connection.fetch(
                """
                SELECT state, created_at >= $1 AS today, data->'settings'->>'resolution' AS res,
                       (data->'settings'->>'audio')::boolean AS audio, charged,
                       nullif(data->>'notice', '') AS notice, count(*) AS n,
                       sum(duration) AS seconds
                FROM tasks WHERE state <> 'draft' GROUP BY 1, 2, 3, 4, 5, 6
                """,
                today,
            )
        for row in rows:
            _count_group(stats, row)
        return stats

    async def soundtrack_files(self, kept_since: float = 0.0) -> set[str]:
        rows = await self._pool.fetch(
            "SELECT data->>'soundtrack_file' AS name FROM tasks "
            "WHERE state <> ALL($1::text[]) AND data->>'soundtrack_file' IS NOT NULL "
            "UNION SELECT data->'soundtrack'->>'file' FROM users "
            "WHERE data->'soundtrack'->>'file' IS NOT NULL "
            "AND coalesce((data->'soundtrack'->>'saved_at')::float8, 0) >= $2",
            _ENDED,
            kept_since,
        )
        return {row["name"] for row in rows}

    async def get_access(self) -> AccessLists:
        row = await self._pool.fetchrow("SELECT allowed, denied FROM access WHERE id = 1")
        if row is None:
            return AccessLists()
        return AccessLists(frozenset(row["allowed"]), frozenset(row["denied"]))

    async def save_access(self, lists: AccessLists) -> None:
        await self._pool.execute(
            "INSERT INTO access VALUES (1, $1, $2) "
            "ON CONFLICT (id) DO UPDATE SET allowed = $1, denied = $2",
            sorted(lists.allowed),
            sorted(lists.denied),
        )

    async def update_task(
        self, task_id: str, change: TaskChange, *, expect_version: int | None = None
    ) -> TaskRecord | None:
        async with self._pool.acquire() as connection, connection.transaction():
            data = await connection.fetchval(
                "SELECT data FROM tasks WHERE id = $1 FOR UPDATE", task_id
            )
            current = TaskRecord.from_dict(data) if data else None
            updated = apply_change(current, change, expect_version)
            if updated is not None:
                await self._write(connection, updated)
            return updated

    @asynccontextmanager
    async def claims(self) -> AsyncIterator[None]:
        # One connection per process waits for the lock (the in-process lock first), so
        # claims waiting in line never take the pool's connections from the claim that runs.
        async with self._claims, self._pool.acquire() as connection:
            released = False
            try:
                await connection.execute("SELECT pg_advisory_lock($1, $2)", *CLAIM_LOCK)
                try:
                    yield
                finally:
                    await connection.execute("SELECT pg_advisory_unlock($1, $2)", *CLAIM_LOCK)
                    released = True
            finally:
                if not released:
                    # Cancelled or failed while the lock may be held: closing the session is
                    # the one sure release (the pool does not reset connections; see above).
                    connection.terminate()

    async def take_leases(
        self, owner: str, until: float, now: float, *, include_own: bool = False, limit: int = 100
    ) -> list[TaskRecord]:
        async with self._pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(
                """
                SELECT data FROM tasks
                WHERE state = ANY($1::text[]) AND (
                    (lease_owner = $2 AND $4) OR (
                        lease_owner IS DISTINCT FROM $2
                        AND (lease_owner IS NULL OR lease_until <= $3)))
                ORDER BY created_at LIMIT $5 FOR UPDATE SKIP LOCKED
                """,
                _ACTIVE,
                owner,
                now,
                include_own,
                limit,
            )
            taken = [replace(r, lease_owner=owner, lease_until=until) for r in _records(rows)]
            for record in taken:
                await self._write(connection, record)
        return taken

    async def renew_leases(self, owner: str, until: float) -> int:
        result = await self._pool.execute(
            """
            UPDATE tasks SET lease_until = $2,
                data = jsonb_set(data, '{lease_until}', to_jsonb($2::double precision))
            WHERE lease_owner = $1 AND state = ANY($3::text[])
            """,
            owner,
            until,
            _ACTIVE,
        )
        return int(result.split()[-1])

    async def release_leases(self, owner: str) -> None:
        await self.renew_leases(owner, 0.0)

    async def prune(self, now: float) -> int:
        """Ended tasks past the retention leave; their /stats totals stay in archived_totals."""
        cutoff = now - self.retention_days * 86400
        # Chats quiet for an hour have full buckets: their rows say nothing any more.
        await self._pool.execute(
            "DELETE FROM chat_sends WHERE due < extract(epoch FROM clock_timestamp()) - 3600"
        )
        async with self._pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(
                "DELETE FROM tasks WHERE state = ANY($1::text[]) AND finished_at < $2 "
                "RETURNING data",
                _ENDED,
                cutoff,
            )
            if not rows:
                return 0
            base = await connection.fetchval(
                "SELECT data FROM archived_totals WHERE id = 1 FOR UPDATE"
            )
            totals = Stats.from_dict(base)
            for record in _records(rows):
                totals.count(record)
            await connection.execute(
                "INSERT INTO archived_totals VALUES (1, $1) "
                "ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data",
                totals.to_dict(),
            )
        return len(rows)

    async def close(self) -> None:
        await self._pool.close()

    async def import_snapshot(self, snapshot: Snapshot) -> None:
        """Copy another backend's content in, in one transaction; rows already here win, so
        running it twice changes nothing. The ledger goes in the snapshot's order, so `seq`
        keeps the order the movements were written in."""
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.executemany(
                "INSERT INTO users VALUES ($1, $2) ON CONFLICT DO NOTHING",
                [(p.user_id, p.to_dict()) for p in snapshot.users],
            )
            await connection.executemany(
                f"INSERT INTO tasks ({_COLUMNS}) VALUES "
                "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
                "ON CONFLICT DO NOTHING",
                [_row(replace(r, lease_owner=None, lease_until=0.0)) for r in snapshot.tasks],
            )
            if await connection.fetchval("SELECT count(*) FROM archived_totals") == 0:
                await connection.execute(
                    "INSERT INTO archived_totals VALUES (1, $1)",
                    snapshot.pruned_totals.to_dict(),
                )
            if await connection.fetchval("SELECT count(*) FROM access") == 0:
                await connection.execute(
                    "INSERT INTO access VALUES (1, $1, $2)",
                    sorted(snapshot.access.allowed),
                    sorted(snapshot.access.denied),
                )
            await connection.executemany(
                "INSERT INTO chat_groups VALUES ($1, $2) ON CONFLICT DO NOTHING",
                [(g.chat_id, g.to_dict()) for g in snapshot.groups],
            )
            # Row by row (executemany keeps the order): a (reason, ref) already here stays.
            await connection.executemany(
                "INSERT INTO ledger (user_id, amount, reason, ref, at, stars) "
                "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (reason, ref) DO NOTHING",
                [
                    (m.user_id, m.amount, m.reason.value, m.ref, m.at, m.stars)
                    for m in snapshot.ledger
                ],
            )

    async def _write(self, connection: asyncpg.Connection, record: TaskRecord) -> None:
        await connection.execute(
            """
            UPDATE tasks SET state = $5, duration = $6, charged = $7, submitted_at = $9,
                finished_at = $10, lease_owner = $11, lease_until = $12, data = $13,
                card_message_id = $4, user_id = $2, chat_id = $3, created_at = $8
            WHERE id = $1
            """,
            *_row(record),
        )


def _movement(row: asyncpg.Record) -> Movement:
    return Movement(
        row["user_id"], row["amount"], Reason(row["reason"]), row["ref"], row["at"], row["stars"]
    )


def _count_group(stats: Stats, row: asyncpg.Record) -> None:
    """Add one GROUP BY row of tasks to the totals, the way Stats.count adds one task."""
    state, n, seconds = row["state"], int(row["n"]), int(row["seconds"] or 0)
    stats.total[state] += n
    if row["today"]:
        stats.today[state] += n
    if state == TaskState.DONE:
        stats.seconds_by_resolution[row["res"]] += seconds
    if state in (TaskState.FAILED, TaskState.UNKNOWN, TaskState.TIMED_OUT):
        stats.failures[row["notice"] or state] += n
    if row["charged"]:
        stats.charged_seconds[price_kind(row["res"], bool(row["audio"]))] += seconds


class PostgresSoundtracks:
    """The soundtrack store of replicas that share nothing but the database (at most 15 MB
    each, gone when their card is)."""

    def __init__(self, pool: asyncpg.Pool, clock: Callable[[], float] = time.time) -> None:
        self._pool = pool
        self._clock = clock

    async def save(self, name: str, data: bytes) -> None:
        await self._pool.execute(
            "INSERT INTO soundtracks VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
            name,
            data,
            self._clock(),
        )

    async def read(self, name: str) -> bytes | None:
        data: bytes | None = await self._pool.fetchval(
            "SELECT data FROM soundtracks WHERE name = $1", name
        )
        return data

    async def delete(self, name: str) -> None:
        await self._pool.execute("DELETE FROM soundtracks WHERE name = $1", name)

    async def sweep(self, in_use: set[str]) -> int:
        deleted = await self._pool.fetch(
            "DELETE FROM soundtracks WHERE name <> ALL($1::text[]) AND created_at < $2 "
            "RETURNING name",
            sorted(in_use),
            self._clock() - SOUNDTRACK_GRACE,
        )
        return len(deleted)
