"""The storage contract (bot/storage/base.py), run against every backend."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.domain.access import AccessLists
from bot.domain.notices import Notice
from bot.domain.records import Soundtrack, TaskState, UserProfile
from bot.domain.settings import GenerationSettings
from bot.storage import Storage
from bot.storage.memory import MemoryStorage
from bot.storage.tinydb import TinyDBStorage
from tests.factories import make_record

BACKENDS: dict[str, Callable[[Path], Storage]] = {
    "memory": lambda path: MemoryStorage(),
    "tinydb": lambda path: TinyDBStorage(path),
}
PERSISTENT = ("tinydb",)


@pytest.fixture(params=sorted(BACKENDS))
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    opened = BACKENDS[request.param](tmp_path)
    yield opened
    await opened.close()


async def test_a_user_never_seen_has_the_defaults(storage: Storage) -> None:
    assert await storage.get_user(6) == UserProfile(6)


async def test_users_round_trip(storage: Storage) -> None:
    profile = UserProfile(5, GenerationSettings("1080p", 9, False), "ru")
    await storage.save_user(profile)
    assert await storage.get_user(5) == profile
    assert (await storage.stats(0.0)).users == 1


async def test_tasks_are_found_by_id_by_card_and_by_state(storage: Storage) -> None:
    a = make_record("a", user_id=1, card_message_id=2)
    b = make_record("b", user_id=2, card_message_id=3, state=TaskState.RUNNING)
    c = make_record("c", user_id=1, chat_id=-100, card_message_id=2)
    for record in (a, b, c):
        await storage.add_task(record)
    assert await storage.get_task("b") == b
    assert await storage.get_task("zz") is None
    assert await storage.find_card(1, 2) == a and await storage.find_card(-100, 2) == c
    assert await storage.find_card(1, 3) is None
    drafts = await storage.tasks_in({TaskState.DRAFT})
    assert sorted(r.id for r in drafts) == ["a", "c"]
    assert [r.id for r in await storage.tasks_in({TaskState.DRAFT}, user_id=1, chat_id=1)] == ["a"]
    assert [r.id for r in await storage.tasks_in({TaskState.RUNNING}, user_id=2)] == ["b"]


async def test_update_with_expected_state_is_a_compare_and_set(storage: Storage) -> None:
    await storage.add_task(make_record("t1"))
    results = await asyncio.gather(
        *(
            storage.update_task("t1", expect={TaskState.DRAFT}, state=TaskState.SUBMITTING)
            for _ in range(5)
        )
    )
    assert sum(r is not None for r in results) == 1
    assert await storage.update_task("missing", state=TaskState.DONE) is None
    updated = await storage.update_task("t1", notice=Notice.BUSY, progress=40)
    assert updated is not None and updated.state is TaskState.SUBMITTING
    assert await storage.get_task("t1") == updated


async def test_usage_counts_active_tasks_and_todays_seconds(storage: Storage) -> None:
    day = 11 * 86400.0  # a midnight, UTC: quotas count by day
    await storage.add_task(
        make_record("a", state=TaskState.RUNNING, apimart_task_id="x", submitted_at=day + 5)
    )
    await storage.add_task(make_record("b", state=TaskState.SUBMITTING))
    await storage.add_task(
        make_record("c", state=TaskState.DONE, apimart_task_id="y", submitted_at=day - 5)
    )
    await storage.add_task(
        make_record(
            "d", user_id=2, state=TaskState.RUNNING, apimart_task_id="z", submitted_at=day + 1
        )
    )
    usage = await storage.usage(1, day)
    assert (usage.user_active, usage.total_active, usage.used_today) == (2, 3, 10)


async def test_access_lists_round_trip(storage: Storage) -> None:
    assert await storage.get_access() == AccessLists()
    lists = AccessLists().allow(3).deny(4)
    await storage.save_access(lists)
    assert await storage.get_access() == lists


@pytest.mark.parametrize("backend", PERSISTENT)
async def test_everything_survives_a_reopen(backend: str, tmp_path: Path) -> None:
    first = BACKENDS[backend](tmp_path)
    await first.save_user(UserProfile(5, GenerationSettings(duration=9), "ru"))
    await first.add_task(make_record("t1", notice=Notice.API_FAILED))
    await first.save_access(AccessLists().allow(3))
    await first.close()
    second = BACKENDS[backend](tmp_path)
    assert (await second.get_user(5)).settings.duration == 9
    assert await second.get_task("t1") == make_record("t1", notice=Notice.API_FAILED)
    assert await second.get_access() == AccessLists().allow(3)
    await second.close()
    assert not list(tmp_path.glob(".db-*"))  # no temporary files left behind


async def test_soundtracks_in_use_are_on_live_tasks_and_profiles(storage: Storage) -> None:
    await storage.add_task(make_record("a", soundtrack_file="a.mp3"))
    await storage.add_task(make_record("b", soundtrack_file="b.mp3", state=TaskState.CANCELLED))
    await storage.add_task(make_record("c", soundtrack_file=None, state=TaskState.RUNNING))
    await storage.save_user(UserProfile(4, soundtrack=Soundtrack("https://x/p.wav", "p.wav")))
    await storage.save_user(UserProfile(5, soundtrack=Soundtrack("https://x/link.mp3")))
    assert await storage.soundtrack_files() == {"a.mp3", "p.wav"}
