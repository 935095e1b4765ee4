"""The embedded backend's own promises: shards, group commit, history, retention, migration."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.domain.notices import Notice
from bot.domain.records import TaskState, UserProfile
from bot.domain.settings import GenerationSettings
from bot.domain.transitions import EditCard, Ended
from bot.domain.usage import day_of
from bot.storage import StorageCorruptError, tinydb
from bot.storage.tinydb import TinyDBStorage, repair, task_shard, user_shard
from tests.factories import claim_change, make_record

DAY = 86400.0
NOW = 20_000 * DAY + 3600  # one o'clock, UTC


def storage_at(tmp_path: Path, now: float = NOW, **options: int) -> TinyDBStorage:
    return TinyDBStorage(tmp_path, clock=lambda: now, **options)


def mtimes(root: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


async def test_a_write_rewrites_one_shard_not_the_history(tmp_path: Path) -> None:
    storage = storage_at(tmp_path)
    for n in range(200):
        await storage.save_user(UserProfile(n))
        await storage.add_task(make_record(f"t{n}", user_id=n, card_message_id=n))
    before = mtimes(storage.root)
    await storage.update_task("t7", EditCard(prompt="a cat"))
    after = mtimes(storage.root)
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed == {task_shard("t7"), task_shard("t7") + ".bak"}
    await storage.save_user(UserProfile(7, GenerationSettings(duration=9)))
    assert {n for n, m in mtimes(storage.root).items() if m != after.get(n)} == {
        user_shard(7),
        user_shard(7) + ".bak",
    }


async def test_concurrent_writes_share_flushes_and_each_waits_for_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = storage_at(tmp_path)
    flushes: list[int] = []
    write = storage._write

    def counting(contents: dict[str, str], history: dict[str, list[str]]) -> None:
        flushes.append(len(contents))
        write(contents, history)

    monkeypatch.setattr(storage, "_write", counting)
    await asyncio.gather(*(storage.save_user(UserProfile(n)) for n in range(50)))
    assert 1 <= len(flushes) <= 3  # one round in flight, the rest share the next
    reopened = storage_at(tmp_path)
    assert [await reopened.get_user(n) for n in range(50)] == [UserProfile(n) for n in range(50)]


async def test_an_awaited_write_is_on_disk(tmp_path: Path) -> None:
    """The money-guarding states rely on it: `submitting` is stored before the POST."""
    storage = storage_at(tmp_path)
    await storage.add_task(make_record("t1"))
    await storage.update_task("t1", claim_change())
    shard = json.loads((storage.root / task_shard("t1")).read_text())
    [row] = shard["tasks"].values()
    assert row["state"] == "submitting"


async def test_ended_tasks_move_to_history_and_stats_survive_pruning(tmp_path: Path) -> None:
    storage = storage_at(tmp_path, retention_days=30)
    old = NOW - 40 * DAY
    await storage.add_task(
        make_record(
            "old",
            created_at=old,
            state=TaskState.DELIVERING,
            apimart_task_id="x",
            submitted_at=old,
        )
    )
    await storage.update_task("old", Ended(state=TaskState.DONE, finished_at=old))
    await storage.add_task(
        make_record(
            "new",
            created_at=NOW,
            state=TaskState.DELIVERING,
            apimart_task_id="y",
            submitted_at=NOW,
        )
    )
    await storage.update_task("new", Ended(state=TaskState.DONE, finished_at=NOW))
    assert [p.name for p in sorted((storage.root / "history").iterdir())] == [
        "2024-08-25.jsonl",
        "2024-10-04.jsonl",
    ]
    assert not any("old" in p.read_text() for p in storage.root.glob("tasks-*.json"))
    before = await storage.stats(NOW)
    assert before.total["done"] == 2 and before.today["done"] == 1
    assert await storage.prune(NOW) == 1
    assert [p.name for p in (storage.root / "history").iterdir()] == ["2024-10-04.jsonl"]
    after = await storage_at(tmp_path).stats(NOW)
    assert after.total == before.total and after.charged_seconds == before.charged_seconds
    assert await storage.get_task("new") is not None  # still found the day it ended


async def test_history_wins_over_a_stale_live_copy(tmp_path: Path) -> None:
    """`--repair` may restore a shard from its backup, one write behind: a task still
    `delivering` there whose delivery history already holds must not be delivered again."""
    storage = storage_at(tmp_path)
    await storage.add_task(make_record("t1", state=TaskState.DELIVERING, video_url="https://v"))
    shard = storage.root / task_shard("t1")
    stale = shard.read_text()
    await storage.update_task(
        "t1", Ended(state=TaskState.DONE, finished_at=NOW, video_message_id=9)
    )
    shard.write_text(stale)  # what a restored backup looks like
    reopened = storage_at(tmp_path)
    assert await reopened.tasks_in({TaskState.DELIVERING}) == []
    done = await reopened.get_task("t1")
    assert done is not None and done.state is TaskState.DONE


async def test_a_schema_1_file_migrates_once_and_is_then_deleted(tmp_path: Path) -> None:
    users = {
        str(n): UserProfile(n, GenerationSettings(duration=n % 14 + 2), "ru").to_dict()
        for n in range(1, 41)
    }
    tasks = {
        "1": make_record(
            "live", user_id=3, state=TaskState.RUNNING, apimart_task_id="a", submitted_at=NOW
        ).to_dict(),
        "2": make_record(
            "done",
            user_id=4,
            state=TaskState.DONE,
            apimart_task_id="b",
            submitted_at=NOW - 3 * DAY,
            finished_at=NOW - 3 * DAY,
        ).to_dict(),
        "3": make_record(
            "failed", user_id=5, state=TaskState.FAILED, notice=Notice.API_FAILED
        ).to_dict()
        | {"obsolete_field": 1},
    }
    for row in tasks.values():  # rows as the previous release wrote them: no newer fields
        for newer in ("soundtrack_title", "lease_owner", "lease_until"):
            del row[newer]
    legacy = {"users": users, "tasks": tasks, "access": {"1": {"allowed": [7], "denied": [8]}}}
    (tmp_path / "bot.json").write_text(json.dumps(legacy))
    (tmp_path / "bot.json.bak").write_text(json.dumps(legacy))
    storage = storage_at(tmp_path)
    # Its content lives in db/ now: a copy beside would outlive the retention and /forget.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db"]
    for n in range(1, 41):
        profile = await storage.get_user(n)
        assert profile.settings.duration == n % 14 + 2 and profile.language == "ru"
    assert {r.id for r in await storage.tasks_in(set(TaskState) - {TaskState.DONE})} == {
        "live",
        "failed",
    }
    assert (await storage.get_access()).allowed == {7}
    assert (await storage.stats(NOW)).total["done"] == 1
    assert (await storage.usage(3, NOW - 3600)).used_today == 5
    # a second start reads the new layout, and deletes the copy an older release kept
    (tmp_path / "bot.json.v1").write_text(json.dumps(legacy))
    again = storage_at(tmp_path)
    assert (await again.get_user(40)).language == "ru"
    assert not (tmp_path / "bot.json.v1").exists()


async def test_forget_after_a_migration_leaves_no_copy_of_the_old_file(tmp_path: Path) -> None:
    """The proof of the audit's L2 inverted: `bot.json.v1` kept the prompt past /forget."""
    secret = "a zebra crossing at dawn"
    done = make_record(
        "old",
        user_id=5,
        prompt=secret,
        state=TaskState.DONE,
        attempt=1,
        apimart_task_id="a",
        submitted_at=NOW - 3 * DAY,
        finished_at=NOW - 3 * DAY,
    )
    legacy = {"users": {"1": UserProfile(5).to_dict()}, "tasks": {"1": done.to_dict()}}
    (tmp_path / "bot.json").write_text(json.dumps(legacy))
    storage = storage_at(tmp_path)
    kept = await storage.kept_task("old")
    assert kept is not None and kept.prompt == secret  # migrated into db/
    await storage.forget_user(5)
    assert [p for p in tmp_path.rglob("*") if p.is_file() and secret in p.read_text()] == []


async def test_unknown_ids_read_no_history_file_and_a_kept_one_reads_its_day_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit's L8: tampered buttons with random ids made every press read every day."""
    finished = {f"old{n:02}": NOW - (n + 3) * DAY for n in range(30)}  # past RECENT_DAYS
    writer = storage_at(tmp_path, retention_days=60)
    for n, (task_id, day) in enumerate(finished.items()):
        await writer.add_task(
            make_record(
                task_id,
                user_id=n % 3 + 1,
                state=TaskState.DONE,
                attempt=1,
                apimart_task_id=f"a{n}",
                created_at=day,
                submitted_at=day,
                finished_at=day,
            )
        )
    await writer.add_task(make_record("closed", state=TaskState.CLOSED, finished_at=NOW - 9 * DAY))
    await writer.close()
    history = writer.root / "history"
    assert len(list(history.glob("*.jsonl"))) == 30
    reads: list[str] = []
    read_lines = tinydb.read_lines

    def counting(path: Path) -> Iterator[dict[str, Any]]:
        reads.append(path.name)
        return read_lines(path)

    monkeypatch.setattr(tinydb, "read_lines", counting)
    storage = storage_at(tmp_path, retention_days=60)
    reads.clear()
    found = await storage.kept_task("old17")  # the first one builds the index: one scan
    assert found is not None and found.user_id == 17 % 3 + 1
    reads.clear()
    for _ in range(100):
        assert await storage.kept_task(secrets.token_hex(8)) is None
    assert reads == []
    found = await storage.kept_task("old05")
    assert found is not None and reads == [f"{day_of(finished['old05'])}.jsonl"]
    closed = await storage.kept_task("closed")  # no generation, but kept: still found
    assert closed is not None and closed.state is TaskState.CLOSED
    await storage.forget_user(2)  # old01, old04, …
    reads.clear()
    assert await storage.kept_task("old01") is None and reads == []
    assert await storage.prune(NOW + 40 * DAY) == 12  # past the retention: old18…old29
    reads.clear()
    assert await storage.kept_task("old29") is None and reads == []
    assert await storage.kept_task("old09") is not None  # user 1's, within it


def test_a_damaged_file_stops_start_up_and_repair_restores_its_backup(tmp_path: Path) -> None:
    async def fill() -> None:
        storage = storage_at(tmp_path)
        await storage.save_user(UserProfile(1, language="ru"))
        await storage.save_user(UserProfile(1, language="uk"))

    asyncio.run(fill())
    shard = tmp_path / "db" / user_shard(1)
    shard.write_text('{"users": {"1": ')
    with pytest.raises(StorageCorruptError, match=user_shard(1)):
        storage_at(tmp_path)
    assert "restored from" in repair(tmp_path)
    assert asyncio.run(storage_at(tmp_path).get_user(1)).language == "uk"  # the last write
    assert "nothing to repair" in repair(tmp_path)


def test_a_history_row_reads_as_the_entry_its_record_would_give() -> None:
    from bot.domain.history import entry_from_row, entry_of
    from bot.domain.records import TaskState

    done = make_record(
        "h1",
        state=TaskState.DONE,
        attempt=1,
        apimart_task_id="a",
        video_file_id="F",
        prompt="p" * 90,
    )
    assert entry_from_row(done.to_dict()) == entry_of(done)
    assert entry_from_row(make_record("d0").to_dict()) is None  # a draft never generated


GARBAGE = b"\x00\xff not json at all {"


def test_repair_restores_the_last_write_not_the_one_before(tmp_path: Path) -> None:
    from bot.storage.files import backup_path, repair_file, write_atomically

    path = tmp_path / "doc.json"
    write_atomically(path, '{"t": {"1": {"v": "A"}}}')
    write_atomically(path, '{"t": {"1": {"v": "B"}}}')
    backup = backup_path(path)
    assert backup.read_text() == path.read_text()
    assert backup.stat().st_ino != path.stat().st_ino  # a copy, not a link to the same inode
    path.write_bytes(GARBAGE)
    assert backup.read_text() == '{"t": {"1": {"v": "B"}}}'  # damage does not reach it
    message = repair_file(path)
    assert message is not None and "as it was last written" in message
    assert json.loads(path.read_text()) == {"t": {"1": {"v": "B"}}}


def test_repair_of_every_file_keeps_the_last_settings_and_delivered_tasks(
    tmp_path: Path,
) -> None:
    """A user's last change survives (audio off stays off), and a task delivered and in
    history does not come back live from a backup to be delivered again."""

    async def fill() -> None:
        storage = storage_at(tmp_path)
        await storage.save_user(UserProfile(1, GenerationSettings().with_audio(True)))
        await storage.save_user(UserProfile(1, GenerationSettings().with_audio(False)))
        await storage.add_task(
            make_record("t1", state=TaskState.DELIVERING, video_url="https://v")
        )
        await storage.update_task(
            "t1", Ended(state=TaskState.DONE, finished_at=NOW, video_message_id=9)
        )
        await storage.close()

    asyncio.run(fill())
    files = sorted((tmp_path / "db").glob("*.json"))
    assert {user_shard(1), task_shard("t1"), "state.json"} <= {p.name for p in files}
    for path in files:
        path.write_bytes(GARBAGE)
    with pytest.raises(StorageCorruptError):
        storage_at(tmp_path)
    report = repair(tmp_path)
    assert report.count("restored from") == len(files)
    assert "t1" not in (tmp_path / "db" / task_shard("t1")).read_text()  # no live copy back

    async def check() -> None:
        reopened = storage_at(tmp_path)
        assert (await reopened.get_user(1)).settings.audio is False
        assert await reopened.tasks_in({TaskState.DELIVERING}) == []
        done = await reopened.get_task("t1")
        assert done is not None and done.state is TaskState.DONE

    asyncio.run(check())
    assert "nothing to repair" in repair(tmp_path)
