"""The storage contract (bot/storage/base.py), run against every backend."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.domain.access import AccessLists
from bot.domain.billing import Movement, Reason
from bot.domain.groups import Delivery, GroupSettings, WhoGenerates
from bot.domain.notices import Notice
from bot.domain.records import Soundtrack, TaskState, UserProfile
from bot.domain.settings import GenerationSettings
from bot.domain.transitions import EditCard, Ended
from bot.storage import Storage
from bot.storage.memory import MemoryStorage
from bot.storage.postgres import PostgresStorage
from bot.storage.tinydb import TinyDBStorage
from tests.factories import accepted_change, claim_change, make_record
from tests.postgres import fresh_database


async def open_backend(name: str, path: Path, request: pytest.FixtureRequest) -> Storage:
    """`path` is the place a persistent backend keeps its data (the same path: the same data)."""
    if name == "memory":
        return MemoryStorage()
    if name == "tinydb":
        return TinyDBStorage(path)
    urls: dict[Path, str] = request.session.__dict__.setdefault("pg_urls", {})
    if path not in urls:
        urls[path] = await fresh_database(request.getfixturevalue("postgres_server"))
    return await PostgresStorage.connect(urls[path])


BACKENDS = ("memory", "tinydb", "postgres")
PERSISTENT = ("tinydb", "postgres")


@pytest.fixture(params=BACKENDS)
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    opened = await open_backend(request.param, tmp_path, request)
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


async def test_a_transition_is_a_compare_and_set_on_the_states_it_may_leave(
    storage: Storage,
) -> None:
    await storage.add_task(make_record("t1"))
    results = await asyncio.gather(*(storage.update_task("t1", claim_change()) for _ in range(5)))
    assert sum(r is not None for r in results) == 1
    assert await storage.update_task("missing", claim_change()) is None
    # A card that left DRAFT takes no edit; a submitting one takes its acceptance.
    assert await storage.update_task("t1", EditCard(notice=Notice.BUSY)) is None
    updated = await storage.update_task("t1", accepted_change("api-9"))
    assert updated is not None and updated.state is TaskState.RUNNING
    assert updated.apimart_task_id == "api-9" and updated.version == 2
    assert await storage.get_task("t1") == updated


async def test_a_change_since_the_version_read_refuses_the_transition(storage: Storage) -> None:
    await storage.add_task(make_record("t1"))
    read = await storage.get_task("t1")
    assert read is not None
    assert await storage.update_task("t1", EditCard(prompt="edited")) is not None
    assert await storage.update_task("t1", claim_change(), expect_version=read.version) is None
    current = await storage.get_task("t1")
    assert current is not None and current.state is TaskState.DRAFT
    claimed = await storage.update_task("t1", claim_change(), expect_version=current.version)
    assert claimed is not None and claimed.prompt == "edited"


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


async def test_a_members_seconds_count_in_each_group_apart(storage: Storage) -> None:
    day, group, other = 11 * 86400.0, -100555, -100777
    for task_id, chat, state, submitted in (
        ("a", group, TaskState.RUNNING, day + 5),  # 5 s today in the group
        ("b", group, TaskState.SUBMITTING, None),  # about to be charged: counts
        ("c", group, TaskState.DONE, day - 5),  # yesterday
        ("d", other, TaskState.DONE, day + 9),  # another group
        ("e", 1, TaskState.DONE, day + 9),  # in private
    ):
        charged = {"apimart_task_id": f"x{task_id}"} if submitted else {}
        await storage.add_task(
            make_record(task_id, chat_id=chat, state=state, submitted_at=submitted, **charged)
        )
    await storage.add_task(
        make_record("f", user_id=2, chat_id=group, state=TaskState.DONE, apimart_task_id="y",
                    submitted_at=day + 1)
    )  # fmt: skip
    assert await storage.usage_in_chat(1, group, day) == 10
    assert await storage.usage_in_chat(1, other, day) == 5
    assert await storage.usage_in_chat(2, group, day) == 5
    assert (await storage.usage(1, day)).used_today == 20  # the user's own quota: every chat


async def test_a_groups_settings_round_trip_and_forget_takes_a_member_off(
    storage: Storage,
) -> None:
    assert await storage.get_group(-100555) == GroupSettings(-100555)
    group = GroupSettings(
        -100555, WhoGenerates.ALLOWED, frozenset({7, 8}), 60, "1080p", 10, False, Delivery.PRIVATE
    )
    assert await storage.change_group(-100555, lambda _: group) == group
    await storage.change_group(-100777, lambda _: GroupSettings(-100777, allowed=frozenset({7})))
    assert await storage.get_group(-100555) == group
    await storage.forget_user(7)
    assert (await storage.get_group(-100555)).allowed == {8}
    assert (await storage.get_group(-100777)).allowed == frozenset()
    assert (await storage.get_group(-100555)).delivery is Delivery.PRIVATE


@pytest.mark.parametrize("backend", BACKENDS)
async def test_two_admins_changing_a_group_at_once_both_land(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Each change applied to the settings as they are, not as they were read before: on
    PostgreSQL from two replicas at once, the second waiting for the first's row."""
    first = await open_backend(backend, tmp_path, request)
    second = first if backend != "postgres" else await open_backend(backend, tmp_path, request)
    group = -100555
    try:
        for n in range(10):
            await asyncio.gather(
                first.change_group(group, lambda g, n=n: replace(g, allowance=60 + n)),
                second.change_group(group, lambda g, n=n: g.allowing(n, True)),
            )
            stored = await first.get_group(group)
            assert stored.allowance == 60 + n and n in stored.allowed
        assert (await second.get_group(group)).allowed == frozenset(range(10))
    finally:
        if second is not first:
            await second.close()
        await first.close()


async def test_a_groups_history_lists_its_generations_since_a_time(storage: Storage) -> None:
    day, group = 11 * 86400.0, -100555
    await storage.add_task(
        make_record("a", chat_id=group, state=TaskState.DONE, attempt=1, created_at=day + 1)
    )
    await storage.add_task(
        make_record("b", chat_id=group, state=TaskState.DONE, attempt=1, created_at=day - 1)
    )
    await storage.add_task(make_record("c", chat_id=group, created_at=day + 2))  # a draft
    await storage.add_task(make_record("d", state=TaskState.DONE, attempt=1, created_at=day + 3))
    assert [e.id for e in await storage.chat_history(group, day)] == ["a"]


async def test_access_lists_round_trip(storage: Storage) -> None:
    assert await storage.get_access() == AccessLists()
    lists = AccessLists().allow(3).deny(4)
    await storage.save_access(lists)
    assert await storage.get_access() == lists


@pytest.mark.parametrize("backend", PERSISTENT)
async def test_everything_survives_a_reopen(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    first = await open_backend(backend, tmp_path, request)
    await first.save_user(UserProfile(5, GenerationSettings(duration=9), "ru"))
    await first.add_task(make_record("t1", notice=Notice.API_FAILED))
    await first.save_access(AccessLists().allow(3))
    await first.change_group(
        -100555, lambda _: GroupSettings(-100555, WhoGenerates.ADMINS, allowance=30)
    )
    await first.close()
    second = await open_backend(backend, tmp_path, request)
    assert (await second.get_user(5)).settings.duration == 9
    assert await second.get_task("t1") == make_record("t1", notice=Notice.API_FAILED)
    assert await second.get_access() == AccessLists().allow(3)
    assert await second.get_group(-100555) == GroupSettings(
        -100555, WhoGenerates.ADMINS, allowance=30
    )
    await second.close()
    assert not list(tmp_path.glob(".db-*"))  # no temporary files left behind


async def test_soundtracks_in_use_are_on_live_tasks_and_profiles(storage: Storage) -> None:
    await storage.add_task(make_record("a", soundtrack_file="a.mp3"))
    await storage.add_task(make_record("b", soundtrack_file="b.mp3", state=TaskState.CANCELLED))
    await storage.add_task(make_record("c", soundtrack_file=None, state=TaskState.RUNNING))
    await storage.save_user(UserProfile(4, soundtrack=Soundtrack("https://x/p.wav", "p.wav")))
    await storage.save_user(UserProfile(5, soundtrack=Soundtrack("https://x/link.mp3")))
    assert await storage.soundtrack_files() == {"a.mp3", "p.wav"}


async def test_leases_go_to_one_owner_until_they_run_out(storage: Storage) -> None:
    for n in range(6):
        await storage.add_task(make_record(f"r{n}", state=TaskState.RUNNING, created_at=n))
    await storage.add_task(make_record("draft"))
    await storage.add_task(make_record("done", state=TaskState.DONE))
    a, b = await asyncio.gather(
        storage.take_leases("a", 100.0, 10.0, limit=4),
        storage.take_leases("b", 100.0, 10.0, limit=4),
    )
    ids_a, ids_b = {r.id for r in a}, {r.id for r in b}
    assert not ids_a & ids_b and ids_a | ids_b == {f"r{n}" for n in range(6)}
    assert all(r.lease_owner == "a" and r.lease_until == 100.0 for r in a)
    assert await storage.take_leases("c", 200.0, 50.0) == []  # held
    assert await storage.take_leases("a", 200.0, 50.0) == []  # own only when asked
    assert {r.id for r in await storage.take_leases("a", 200.0, 50.0, include_own=True)} == ids_a
    taken = await storage.take_leases("c", 400.0, 150.0)  # b's ran out at 100
    assert {r.id for r in taken} == ids_b
    assert await storage.renew_leases("c", 500.0) == len(ids_b)
    await storage.release_leases("c")
    again = await storage.take_leases("d", 600.0, 160.0)
    assert {r.id for r in again} == ids_b
    stored = await storage.get_task(next(iter(ids_b)))
    assert stored is not None and stored.lease_owner == "d"


@pytest.mark.parametrize("backend", PERSISTENT)
async def test_pruned_history_leaves_the_stats_totals_alone(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    storage = await open_backend(backend, tmp_path, request)
    now = 20_000 * 86400.0
    for n, finished in enumerate((now - 40 * 86400, now - 3600)):
        record = make_record(
            f"t{n}", state=TaskState.DELIVERING, apimart_task_id=f"x{n}", created_at=finished
        )
        await storage.add_task(record)
        await storage.update_task(record.id, Ended(state=TaskState.DONE, finished_at=finished))
    before = await storage.stats(now)
    assert before.total["done"] == 2 and sum(before.charged_seconds.values()) > 0
    assert await storage.prune(now) == 1
    after = await storage.stats(now)
    assert (after.total, after.seconds_by_resolution) == (
        before.total,
        before.seconds_by_resolution,
    )
    assert after.charged_seconds == before.charged_seconds
    await storage.close()


@pytest.mark.parametrize("backend", PERSISTENT)
async def test_history_lists_generations_newest_first_and_survives_a_restart(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    storage = await open_backend(backend, tmp_path, request)
    now = 1_700_000_000.0
    made = [
        make_record("d0", user_id=7, created_at=now - 50),  # a draft never generated: none
        make_record("q1", user_id=7, state=TaskState.QUEUED, created_at=now - 40),
        make_record("f2", user_id=7, state=TaskState.FAILED, attempt=1, created_at=now - 30),
        make_record("x9", user_id=8, state=TaskState.RUNNING, attempt=1, created_at=now - 5),
    ]
    for n in range(6):
        made.append(
            make_record(
                f"v{n}",
                user_id=7,
                state=TaskState.DELIVERING,
                attempt=1,
                apimart_task_id=f"a{n}",
                created_at=now - 20 + n,
            )
        )
    for record in made:
        await storage.add_task(record)
    for n in range(6):  # delivered: the ended ones leave the live set
        await storage.update_task(
            f"v{n}", Ended(state=TaskState.DONE, video_file_id=f"file{n}", finished_at=now)
        )
    await storage.close()
    storage = await open_backend(backend, tmp_path, request)
    try:
        page, total = await storage.history(7, 0, 5)
        assert total == 8
        assert [e.id for e in page] == ["v5", "v4", "v3", "v2", "v1"]
        assert page[0].delivered and page[0].video_file_id == "file5" and page[0].charged
        rest, _ = await storage.history(7, 5, 5)
        assert [e.id for e in rest] == ["v0", "f2", "q1"]
        assert not rest[1].delivered and rest[2].state is TaskState.QUEUED
        assert (await storage.history(8, 0, 5))[1] == 1
    finally:
        await storage.close()


async def test_forgetting_a_user_keeps_only_their_tasks_in_flight(storage: Storage) -> None:
    await storage.save_user(UserProfile(7, GenerationSettings(duration=9)))
    await storage.add_task(make_record("d", user_id=7))
    await storage.add_task(make_record("r", user_id=7, state=TaskState.RUNNING, attempt=1))
    await storage.add_task(make_record("x", user_id=7, state=TaskState.DELIVERING, attempt=1))
    await storage.update_task("x", Ended(state=TaskState.DONE, finished_at=0.0))
    await storage.add_task(make_record("o", user_id=8))
    gone = await storage.forget_user(7)
    assert {r.id for r in gone} >= {"d", "x"} and "r" not in {r.id for r in gone}
    assert (await storage.get_user(7)).settings == GenerationSettings()
    assert await storage.get_task("d") is None and await storage.kept_task("x") is None
    assert (await storage.get_task("r")) is not None and (await storage.get_task("o")) is not None
    assert (await storage.history(7, 0, 5))[1] == 1  # the one still running


async def test_a_ledger_key_is_taken_once_whoever_replays_it(storage: Storage) -> None:
    """One (reason, ref) is one row in the whole ledger: a charge or a task replayed for
    the same user or for another one (a forged or mixed-up update) moves nothing."""
    purchase = Movement(1, 50, Reason.PURCHASE, "charge-1", 1.0, stars=50)
    grant = Movement(2, 10, Reason.GRANT, "grant-1", 2.0)
    assert await storage.ledger_apply(purchase) and await storage.ledger_apply(grant)
    assert not await storage.ledger_apply(purchase)  # replayed for its user
    assert not await storage.ledger_apply(replace(purchase, user_id=2, at=3.0))  # another
    assert not await storage.ledger_apply(replace(grant, user_id=1, at=4.0))
    assert await storage.ledger(1) == [purchase] and await storage.ledger(2) == [grant]
    assert len(await storage.ledger_rows()) == 2


@pytest.mark.parametrize("backend", PERSISTENT)
async def test_ledger_keys_stay_taken_after_a_restart(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    purchase = Movement(1, 50, Reason.PURCHASE, "charge-1", 1.0, stars=50)
    first = await open_backend(backend, tmp_path, request)
    assert await first.ledger_apply(purchase)
    await first.close()
    second = await open_backend(backend, tmp_path, request)
    try:
        assert not await second.ledger_apply(replace(purchase, user_id=2, at=2.0))
        assert not await second.ledger_apply(purchase)
        assert await second.ledger_rows() == [purchase]
    finally:
        await second.close()
