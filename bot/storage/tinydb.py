"""The embedded backend: TinyDB files under DATA_DIR/db, small enough that a write stays cheap.

Layout (schema 2):
- `users-NN.json`: profiles, in 32 shards by user id;
- `tasks-NN.json`: live tasks (drafts, running, retryable), in 16 shards by task id;
- `state.json`: access lists, quota counters per day, and the /stats totals of tasks that
  left the live set (so pruning history never changes them);
- `history/YYYY-MM-DD.jsonl`: ended tasks, append-only, one file per day, deleted after
  `retention_days`.

Everything is read once at start-up and served from memory; a write changes memory at once
and then waits for the group commit that puts it on disk (one flush serves every write that
arrived meanwhile). So a write's cost is one shard, not the whole history, and a read never
waits behind a write. Each JSON file is replaced atomically and keeps a `.bak`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from bot.domain.access import AccessLists
from bot.domain.billing import Movement, admissible
from bot.domain.groups import GroupSettings, in_group
from bot.domain.history import HistoryEntry, entry_from_row, entry_of, in_history, newest_first
from bot.domain.records import ACTIVE_STATES, ENDED_STATES, TaskRecord, TaskState, UserProfile
from bot.domain.transitions import TaskChange, apply_change
from bot.domain.usage import Stats, Usage, day_of, stats_of
from bot.storage.base import Snapshot, belongs, may_take, soundtracks_in_use
from bot.storage.files import (
    AtomicJSONStorage,
    append_lines,
    backup_path,
    read_lines,
    repair_file,
    write_atomically,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

SCHEMA = 2
USER_SHARDS = 32
TASK_SHARDS = 16
LEDGER_FILE = "ledger.jsonl"
RECENT_DAYS = 2  # ended tasks still found by id and card, for late presses and replies
LEGACY_FILE = "bot.json"  # schema 1: everything in one file
DB_DIR = "db"
STATE_FILE = "state.json"


def user_shard(user_id: int) -> str:
    return f"users-{user_id % USER_SHARDS:02}.json"


def task_shard(task_id: str) -> str:
    return f"tasks-{zlib.crc32(task_id.encode()) % TASK_SHARDS:02}.json"


def _document(table: str, rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """TinyDB's file format: {table: {doc_id: row}}."""
    return {table: {str(n): row for n, row in enumerate(rows, start=1)}}


def _rows(data: dict[str, Any] | None, table: str) -> list[dict[str, Any]]:
    return list(((data or {}).get(table) or {}).values())


@dataclass
class _Pending:
    """What the next flush writes."""

    files: set[str] = field(default_factory=set)
    history: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    done: asyncio.Future[None] | None = None


class TinyDBStorage:
    """Keeps the Storage contract for one process on one machine."""

    def __init__(
        self, data_dir: Path, *, retention_days: int = 30, clock: Callable[[], float] = time.time
    ) -> None:
        self.root = data_dir / DB_DIR
        self.retention_days = retention_days
        self.clock = clock
        self._users: dict[int, UserProfile] = {}
        self._tasks: dict[str, TaskRecord] = {}  # live
        self._recent: dict[str, TaskRecord] = {}  # ended in the last RECENT_DAYS
        # /history of ended tasks within RETENTION_DAYS, small entries: user -> id -> entry
        # Built from the day files at the first /history, not at start-up (it costs a read
        # of the whole history): None until then; tasks archived meanwhile wait aside.
        self._history: dict[int, dict[str, HistoryEntry]] | None = None
        # Built with it: id -> the day file holding the task (every ended task, generation or
        # not), so an old id costs one day file and an unknown one none (`kept_task`).
        self._days: dict[str, str] = {}
        self._history_since: list[tuple[TaskRecord, str]] | None = None
        self._history_built: asyncio.Future[None] | None = None
        # Credits (BILLING=stars): an append-only file of movements, kept in memory.
        self._ledger: dict[int, list[Movement]] = {}
        self._ledger_keys: set[tuple[str, str]] = set()
        self._cards: dict[tuple[int, int], str] = {}
        self._access = AccessLists()
        self._groups: dict[int, GroupSettings] = {}  # /groupsettings, in state.json
        self._charged: dict[str, Counter[str]] = {}  # day -> user id -> seconds
        self._archived = Stats()
        self._pending = _Pending()
        self._flusher: asyncio.Task[None] | None = None
        self._claims = asyncio.Lock()
        legacy = data_dir / LEGACY_FILE
        if legacy.exists() and not (self.root / STATE_FILE).exists():
            self._migrate(legacy)
        else:
            self._load()
            _scrub_legacy(data_dir)  # kept by an older release: it is all in DATA_DIR/db now
        self._load_ledger()

    # -- reads: from memory, never waiting --------------------------------------------------

    async def get_user(self, user_id: int) -> UserProfile:
        return self._users.get(user_id) or UserProfile(user_id)

    async def get_task(self, task_id: str) -> TaskRecord | None:
        return self._tasks.get(task_id) or self._recent.get(task_id)

    async def history(
        self, user_id: int, offset: int, limit: int
    ) -> tuple[list[HistoryEntry], int]:
        live = [
            entry_of(r) for r in self._tasks.values() if r.user_id == user_id and in_history(r)
        ]
        index = await self._history_index()
        ended = [e for e in index.get(user_id, {}).values() if e.id not in self._tasks]
        mine = newest_first([*live, *ended])
        return mine[offset : offset + limit], len(mine)

    async def ledger_apply(self, movement: Movement) -> bool:
        # Checked and appended with no await in between: one process, one event loop.
        mine = self._ledger.get(movement.user_id, [])
        if movement.key in self._ledger_keys or not admissible(mine, movement):
            return False
        append_lines(self.root / LEDGER_FILE, [json.dumps(movement.to_dict())])
        self._ledger.setdefault(movement.user_id, []).append(movement)
        self._ledger_keys.add(movement.key)
        return True

    async def ledger(self, user_id: int) -> list[Movement]:
        return list(self._ledger.get(user_id, []))

    async def ledger_rows(self) -> list[Movement]:
        return [m for rows in self._ledger.values() for m in rows]

    def _load_ledger(self) -> None:
        for movement in self._ledger_in_order():
            self._ledger.setdefault(movement.user_id, []).append(movement)
            self._ledger_keys.add(movement.key)

    async def forget_user(self, user_id: int) -> list[TaskRecord]:
        if self._history_built is not None:
            await self._history_built  # a scan under way would put back what goes here
        await self._commit(set())  # every pending history line on disk before the rewrite
        gone = [
            r for r in self._all_kept() if r.user_id == user_id and r.state not in ACTIVE_STATES
        ]
        files = {STATE_FILE, user_shard(user_id)}
        for record in gone:
            self._tasks.pop(record.id, None)
            self._recent.pop(record.id, None)
            self._cards.pop((record.chat_id, record.card_message_id or 0), None)
            files.add(task_shard(record.id))
        self._users.pop(user_id, None)
        if self._history is not None:
            self._history.pop(user_id, None)
        self._forget_in_state(user_id)
        gone += self._forget_in_history(user_id)
        for record in gone:
            self._days.pop(record.id, None)
        # One write is enough: it rewrites each file's `.bak` too (write_atomically), so no
        # backup keeps the user.
        await self._commit(files)
        return gone

    def _forget_in_state(self, user_id: int) -> None:
        """The user's quota counters (in every chat) and place on groups' allowed lists."""
        for counter in self._charged.values():
            for key in [k for k in counter if k.partition("@")[0] == str(user_id)]:
                del counter[key]
        for group in list(self._groups.values()):
            self._groups[group.chat_id] = group.allowing(user_id, False)

    def _forget_in_history(self, user_id: int) -> list[TaskRecord]:
        """Rewrite the day files without the user's rows; returns the tasks taken out."""
        gone: list[TaskRecord] = []
        for path in sorted((self.root / "history").glob("*.jsonl")):
            rows = list(read_lines(path))
            mine = [row for row in rows if row.get("user_id") == user_id]
            if not mine:
                continue
            gone += [TaskRecord.from_dict(row) for row in mine]
            kept = "".join(
                json.dumps(row, ensure_ascii=False) + "\n"
                for row in rows
                if row.get("user_id") != user_id
            )
            write_atomically(path, kept)
            backup_path(path).unlink(missing_ok=True)
        return gone

    async def kept_task(self, task_id: str) -> TaskRecord | None:
        found = await self.get_task(task_id)
        if found is not None:
            return found
        # Ended before the last RECENT_DAYS: the index says which day file holds it. An id it
        # does not know (a tampered button) is answered without reading any file.
        await self._history_index()
        day = self._days.get(task_id)
        if day is None:
            return None
        return await asyncio.to_thread(self._from_day, day, task_id)

    def _from_day(self, day: str, task_id: str) -> TaskRecord | None:
        rows = [row for row in read_lines(self._day_file(day)) if row.get("id") == task_id]
        return TaskRecord.from_dict(rows[-1]) if rows else None

    def _day_file(self, day: str) -> Path:
        return self.root / "history" / f"{day}.jsonl"

    async def find_card(self, chat_id: int, card_message_id: int) -> TaskRecord | None:
        task_id = self._cards.get((chat_id, card_message_id))
        return await self.get_task(task_id) if task_id else None

    async def tasks_in(
        self,
        states: Iterable[TaskState],
        *,
        user_id: int | None = None,
        chat_id: int | None = None,
    ) -> list[TaskRecord]:
        wanted = set(states)
        pool = self._tasks.values() if not wanted & ENDED_STATES else self._all_kept()
        return [r for r in pool if r.state in wanted and belongs(r, user_id, chat_id)]

    async def usage(self, user_id: int, since: float) -> Usage:
        active = [r for r in self._tasks.values() if r.state in ACTIVE_STATES]
        mine = [r for r in active if r.user_id == user_id]
        # Being submitted counts too: it is about to be charged (and the counter has it not).
        submitting = sum(r.settings.duration for r in mine if r.state is TaskState.SUBMITTING)
        charged = self._charged.get(day_of(since), Counter())[str(user_id)]
        return Usage(len(mine), len(active), submitting + charged)

    async def usage_in_chat(self, user_id: int, chat_id: int, since: float) -> int:
        mine = [r for r in self._tasks.values() if r.user_id == user_id and r.chat_id == chat_id]
        submitting = sum(r.settings.duration for r in mine if r.state is TaskState.SUBMITTING)
        charged = self._charged.get(day_of(since), Counter())[_in_chat(user_id, chat_id)]
        return submitting + charged

    async def chat_history(self, chat_id: int, since: float) -> list[HistoryEntry]:
        live = [
            entry_of(r)
            for r in self._tasks.values()
            if r.chat_id == chat_id and r.created_at >= since and in_history(r)
        ]
        index = await self._history_index()
        ended = [
            e
            for entries in index.values()
            for e in entries.values()
            if e.chat_id == chat_id and e.created_at >= since and e.id not in self._tasks
        ]
        return [*live, *ended]

    async def get_group(self, chat_id: int) -> GroupSettings:
        return self._groups.get(chat_id) or GroupSettings(chat_id)

    async def change_group(
        self, chat_id: int, change: Callable[[GroupSettings], GroupSettings]
    ) -> GroupSettings:
        # Read and replaced with nothing awaited between: one process holds this store.
        group = change(self._groups.get(chat_id) or GroupSettings(chat_id))
        self._groups[chat_id] = group
        await self._commit({STATE_FILE})
        return group

    async def stats(self, now: float) -> Stats:
        users = len(self._users)
        return stats_of(self._tasks.values(), users, now, self._archived)

    async def soundtrack_files(self, kept_since: float = 0.0) -> set[str]:
        return soundtracks_in_use(self._tasks.values(), self._users.values(), kept_since)

    async def get_access(self) -> AccessLists:
        return self._access

    # -- writes: memory at once, then the group commit -------------------------------------

    async def save_user(self, profile: UserProfile) -> None:
        self._users[profile.user_id] = profile
        await self._commit({user_shard(profile.user_id)})

    async def add_task(self, record: TaskRecord) -> None:
        files = {task_shard(record.id), STATE_FILE}
        if record.user_id not in self._users:  # everyone who opened a card is a user
            self._users[record.user_id] = UserProfile(record.user_id)
            files.add(user_shard(record.user_id))
        self._insert(record)
        await self._commit(files)

    async def update_task(
        self, task_id: str, change: TaskChange, *, expect_version: int | None = None
    ) -> TaskRecord | None:
        current = self._tasks.get(task_id)
        updated = apply_change(current, change, expect_version)
        if current is None or updated is None:
            return None
        files = {task_shard(task_id)}
        if updated.apimart_task_id and not current.apimart_task_id:
            self._charge(updated)
            files.add(STATE_FILE)
        if updated.state in ENDED_STATES:
            self._archive(updated)
            files.add(STATE_FILE)
        else:
            self._tasks[task_id] = updated
        self._index(updated)
        await self._commit(files)
        return updated

    async def save_access(self, lists: AccessLists) -> None:
        self._access = lists
        await self._commit({STATE_FILE})

    async def take_leases(
        self, owner: str, until: float, now: float, *, include_own: bool = False, limit: int = 100
    ) -> list[TaskRecord]:
        taken = [
            replace(r, lease_owner=owner, lease_until=until)
            for r in self._tasks.values()
            if may_take(r, owner, now, include_own)
        ][:limit]
        await self._put(taken)
        return taken

    async def renew_leases(self, owner: str, until: float) -> int:
        mine = [
            replace(r, lease_until=until)
            for r in self._tasks.values()
            if r.lease_owner == owner and r.state in ACTIVE_STATES
        ]
        await self._put(mine)
        return len(mine)

    async def release_leases(self, owner: str) -> None:
        await self.renew_leases(owner, 0.0)

    async def _put(self, records: list[TaskRecord]) -> None:
        for record in records:
            self._tasks[record.id] = record
        if records:
            await self._commit({task_shard(r.id) for r in records})

    async def prune(self, now: float) -> int:
        """Delete history past the retention; returns how many day files went."""
        oldest_kept = day_of(now - self.retention_days * 86400)
        history = self.root / "history"
        gone = [p for p in history.glob("*.jsonl") if p.stem < oldest_kept]
        for path in gone:
            path.unlink(missing_ok=True)
        self._prune_index(now - self.retention_days * 86400, oldest_kept)
        self._forget_old(now)
        await self._commit({STATE_FILE})
        return len(gone)

    def _prune_index(self, cutoff: float, oldest_kept: str) -> None:
        """/history's entries created before `cutoff`, and the days of deleted day files."""
        for entries in (self._history or {}).values():
            for task_id in [i for i, e in entries.items() if e.created_at < cutoff]:
                del entries[task_id]
        self._days = {i: day for i, day in self._days.items() if day >= oldest_kept}

    def claims(self) -> AbstractAsyncContextManager[None]:
        return self._claims  # one process owns the files

    async def close(self) -> None:
        await self._commit(set())

    def export(self) -> Snapshot:
        """Everything, for a copy into another backend (`python -m bot migrate-to-postgres`)."""
        history = [
            TaskRecord.from_dict(row)
            for path in sorted((self.root / "history").glob("*.jsonl"))
            for row in read_lines(path)
        ]
        pruned = self._archived.on(self._archived.day)
        for record in history:  # the copy keeps these one by one
            pruned.count(record, -1)
        return Snapshot(
            list(self._users.values()),
            [*self._tasks.values(), *history],
            self._access,
            pruned,
            self._ledger_in_order(),
            list(self._groups.values()),
        )

    def _ledger_in_order(self) -> list[Movement]:
        """Every movement in the order it was written (`ledger_rows` groups them by user),
        each key once."""
        seen: set[tuple[str, str]] = set()
        movements: list[Movement] = []
        for row in read_lines(self.root / LEDGER_FILE):
            movement = Movement.from_dict(row)
            if movement.key not in seen:
                seen.add(movement.key)
                movements.append(movement)
        return movements

    # -- inside -----------------------------------------------------------------------------

    def _insert(self, record: TaskRecord) -> None:
        if record.apimart_task_id:
            self._charge(record)
        if record.state in ENDED_STATES:
            self._archive(record)
        else:
            self._tasks[record.id] = record
        self._index(record)

    def _index(self, record: TaskRecord) -> None:
        if record.card_message_id is not None:
            self._cards[(record.chat_id, record.card_message_id)] = record.id

    def _all_kept(self) -> Iterable[TaskRecord]:
        return [*self._tasks.values(), *self._recent.values()]

    def _charge(self, record: TaskRecord) -> None:
        day = day_of(record.submitted_at or self.clock())
        counter = self._charged.setdefault(day, Counter())
        counter[str(record.user_id)] += record.settings.duration
        if in_group(record.chat_id):  # a group's allowance counts each member there
            counter[_in_chat(record.user_id, record.chat_id)] += record.settings.duration

    def _archive(self, record: TaskRecord) -> None:
        """An ended task leaves the live set: its row goes to the day's history file."""
        self._tasks.pop(record.id, None)
        self._recent[record.id] = record
        day = day_of(record.finished_at or self.clock())
        self._remember_history(record, day)
        today = day_of(self.clock())
        if self._archived.day != today:
            self._archived = self._archived.on(today)
        self._archived.count(record)
        self._pending.history[day].append(json.dumps(record.to_dict(), ensure_ascii=False))

    async def _commit(self, files: set[str]) -> None:
        """Wait until `files` (and everything changed before) are on disk."""
        self._pending.files |= files
        if self._pending.done is None:
            self._pending.done = asyncio.get_running_loop().create_future()
        done = self._pending.done
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await asyncio.shield(done)

    async def _flush(self) -> None:
        """Write what is pending; writes that arrive meanwhile go in the next round."""
        while self._pending.done is not None:
            batch, self._pending = self._pending, _Pending()
            assert batch.done is not None
            try:
                contents = {name: self._serialise(name) for name in batch.files}
                await asyncio.to_thread(self._write, contents, dict(batch.history))
            except BaseException as exc:
                log.exception("storage write failed")
                batch.done.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
            else:
                batch.done.set_result(None)

    def _write(self, contents: dict[str, str], history: dict[str, list[str]]) -> None:
        # History first: a task is never missing from both places.
        for day, lines in history.items():
            append_lines(self.root / "history" / f"{day}.jsonl", lines)
        for name, text in contents.items():
            write_atomically(self.root / name, text)

    def _serialise(self, name: str) -> str:
        if name == STATE_FILE:
            document: dict[str, Any] = {
                "meta": {"1": {"schema": SCHEMA}},
                "access": {
                    "1": {
                        "allowed": sorted(self._access.allowed),
                        "denied": sorted(self._access.denied),
                    }
                },
                "charged": {"1": {day: dict(c) for day, c in self._charged.items()}},
                "groups": {"1": {str(c): g.to_dict() for c, g in self._groups.items()}},
                "archived": {"1": self._archived.to_dict()},
            }
        elif name.startswith("users-"):
            rows = (p.to_dict() for p in self._users.values() if user_shard(p.user_id) == name)
            document = _document("users", rows)
        else:
            rows = (r.to_dict() for r in self._tasks.values() if task_shard(r.id) == name)
            document = _document("tasks", rows)
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"))

    def _load(self) -> None:
        for profile in _all_rows(self.root.glob("users-*.json"), "users", UserProfile.from_dict):
            self._users[profile.user_id] = profile
        for record in _all_rows(self.root.glob("tasks-*.json"), "tasks", TaskRecord.from_dict):
            self._tasks[record.id] = record
            self._index(record)
        state = _read(self.root / STATE_FILE) or {}
        self._access = _access_of(state)
        self._groups = _groups_of(state)
        charged = (state.get("charged") or {}).get("1") or {}
        self._charged = {day: Counter(c) for day, c in charged.items()}
        self._archived = Stats.from_dict((state.get("archived") or {}).get("1"))
        self._load_recent()

    def _migrate(self, legacy: Path) -> None:
        """Schema 1 (one `bot.json`) to schema 2, once. The old file is deleted once its
        content is in the new files: a copy kept beside would keep every user's prompts past
        the retention and past /forget."""
        data = _read(legacy) or {}
        for row in _rows(data, "users"):
            profile = UserProfile.from_dict(row)
            self._users[profile.user_id] = profile
        self._access = _access_of(data)
        for row in _rows(data, "tasks"):
            record = TaskRecord.from_dict(row)
            self._users.setdefault(record.user_id, UserProfile(record.user_id))
            self._insert(record)
        files = {STATE_FILE, *map(user_shard, self._users), *map(task_shard, self._tasks)}
        self._write({name: self._serialise(name) for name in files}, dict(self._pending.history))
        self._pending = _Pending()
        self._forget_old(self.clock())
        legacy.unlink()
        _scrub_legacy(legacy.parent)
        log.info("migrated %s to %s and deleted it", legacy, self.root)

    def _forget_old(self, now: float) -> None:
        """Keep only the last RECENT_DAYS of ended tasks (and quota days) in memory."""
        recent = {day_of(now - n * 86400) for n in range(RECENT_DAYS)}
        for task_id, record in list(self._recent.items()):
            if day_of(record.finished_at or now) not in recent:
                del self._recent[task_id]
                if self._cards.get((record.chat_id, record.card_message_id or 0)) == task_id:
                    del self._cards[(record.chat_id, record.card_message_id or 0)]
        self._charged = {day: c for day, c in self._charged.items() if day in recent}

    def _remember_history(self, record: TaskRecord, day: str) -> None:
        if self._history is None:
            if self._history_since is not None:  # being built: added once it is
                self._history_since.append((record, day))
            return
        self._days[record.id] = day
        if in_history(record):
            self._history.setdefault(record.user_id, {})[record.id] = entry_of(record)

    async def _history_index(self) -> dict[int, dict[str, HistoryEntry]]:
        if self._history is not None:
            return self._history
        if self._history_built is None:
            self._history_built = asyncio.get_running_loop().create_future()
            self._history_since = []
            await self._commit(set())  # every archived task in its day file first
            index, days = await asyncio.to_thread(self._scan_history)
            for record, day in self._history_since:
                days[record.id] = day
                if in_history(record):
                    index.setdefault(record.user_id, {})[record.id] = entry_of(record)
            self._history, self._days, self._history_since = index, days, None
            self._history_built.set_result(None)
        await self._history_built
        assert self._history is not None
        return self._history

    def _scan_history(self) -> tuple[dict[int, dict[str, HistoryEntry]], dict[str, str]]:
        """/history's entries from every kept day file, and the day of every task in them
        (the newest, when a task is in two)."""
        index: dict[int, dict[str, HistoryEntry]] = {}
        days: dict[str, str] = {}
        for path in sorted((self.root / "history").glob("*.jsonl")):
            day = path.stem
            for row in read_lines(path):
                days[str(row.get("id"))] = day
                entry = entry_from_row(row)
                if entry is not None:
                    index.setdefault(entry.user_id, {})[entry.id] = entry
        return index, days

    def _load_recent(self) -> None:
        """The last days' history, and the rule that history wins: a live copy of a task
        that history already holds is a stale one (a file restored from its backup)."""
        now = self.clock()
        for n in range(RECENT_DAYS):
            for row in read_lines(self.root / "history" / f"{day_of(now - n * 86400)}.jsonl"):
                record = TaskRecord.from_dict(row)
                self._recent[record.id] = record
                self._index(record)
                if self._tasks.pop(record.id, None) is not None:
                    log.warning(
                        "task %s: ended in history, dropping its stale live copy", record.id
                    )


def _all_rows(paths: Iterable[Path], table: str, parse: Callable[[dict[str, Any]], T]) -> list[T]:
    return [parse(row) for path in sorted(paths) for row in _rows(_read(path), table)]


def _scrub_legacy(data_dir: Path) -> None:
    """Delete what is left of a schema-1 database once DATA_DIR/db holds its content: the
    copy an older release kept as `bot.json.v1`, and the backup of `bot.json`."""
    if (data_dir / LEGACY_FILE).exists():  # not migrated yet: its backup may be needed
        return
    for name in (LEGACY_FILE + ".v1", LEGACY_FILE + ".bak"):
        path = data_dir / name
        if path.exists():
            path.unlink()
            log.info("deleted %s: its content is in %s", path, data_dir / DB_DIR)


def _access_of(document: dict[str, Any]) -> AccessLists:
    access = (document.get("access") or {}).get("1") or {}
    return AccessLists(frozenset(access.get("allowed", [])), frozenset(access.get("denied", [])))


def _read(path: Path) -> dict[str, Any] | None:
    return AtomicJSONStorage(str(path)).read()


def check_readable(data_dir: Path) -> None:
    """StorageCorruptError naming the first file that exists but cannot be read."""
    for path in _database_files(data_dir):
        _read(path)


def repair(data_dir: Path) -> str:
    """Set damaged files aside and restore their last good copies; say what was done."""
    done = [line for path in _database_files(data_dir) if (line := repair_file(path))]
    return "\n".join(done) if done else f"{data_dir}: every file is readable: nothing to repair."


def _database_files(data_dir: Path) -> list[Path]:
    legacy = data_dir / LEGACY_FILE
    return [*([legacy] if legacy.exists() else []), *sorted((data_dir / DB_DIR).glob("*.json"))]


def _groups_of(state: dict[str, Any]) -> dict[int, GroupSettings]:
    groups = (state.get("groups") or {}).get("1") or {}
    return {int(chat): GroupSettings.from_dict(data) for chat, data in groups.items()}


def _in_chat(user_id: int, chat_id: int) -> str:
    """A quota counter's key for one member in one group (a plain user id counts them all)."""
    return f"{user_id}@{chat_id}"
