"""bot.lifecycle.groups on the in-memory storage: who may generate in a group, the member's
allowance counted from the group's own tasks of today, and /groupstats' week. Telegram's admins
come from a fake `GroupRoles` that counts what it was asked."""

from __future__ import annotations

import datetime

from bot.domain.access import LimitReached
from bot.domain.groups import GroupSettings, GroupVerdict, WhoGenerates
from bot.domain.records import TaskRecord, TaskState
from bot.domain.settings import GenerationSettings
from bot.lifecycle.groups import WEEK, Groups
from bot.storage.memory import MemoryStorage
from tests.factories import make_record

GROUP = -100500
OTHER_GROUP = -100600
ADMIN, MEMBER, FRIEND = 1, 2, 3
NOW = datetime.datetime(2026, 12, 1, 15, 0, tzinfo=datetime.UTC).timestamp()
MIDNIGHT = datetime.datetime(2026, 12, 1, 0, 0, tzinfo=datetime.UTC).timestamp()


class Roles:
    def __init__(self, admins: set[tuple[int, int]]) -> None:
        self.admins = admins
        self.asked: list[tuple[int, int]] = []

    async def is_admin(self, chat_id: int, user_id: int) -> bool:
        self.asked.append((chat_id, user_id))
        return (chat_id, user_id) in self.admins


def groups(billing_on: bool = True) -> tuple[Groups, MemoryStorage, Roles]:
    storage, roles = MemoryStorage(), Roles({(GROUP, ADMIN)})
    return (
        Groups(storage=storage, roles=roles, billing_on=billing_on, clock=lambda: NOW),
        storage,
        roles,
    )


async def test_in_private_nobody_is_refused_and_telegram_is_not_asked() -> None:
    service, _, roles = groups()
    assert await service.member_refused(MEMBER, MEMBER) is None
    assert await service.who_refuses(make_record(user_id=MEMBER)) is None
    assert roles.asked == []


async def test_where_everyone_generates_telegram_is_not_asked() -> None:
    service, _, roles = groups()
    await service.change(GROUP, lambda _: GroupSettings(GROUP, who=WhoGenerates.EVERYONE))
    assert await service.member_refused(GROUP, MEMBER) is None
    assert roles.asked == []


async def test_where_admins_generate_a_member_is_refused_and_an_admin_is_not() -> None:
    service, _, roles = groups()
    await service.change(GROUP, lambda _: GroupSettings(GROUP, who=WhoGenerates.ADMINS))
    assert await service.member_refused(GROUP, MEMBER) is LimitReached.GROUP_ADMINS
    assert await service.member_refused(GROUP, ADMIN) is None
    record = make_record(user_id=MEMBER, chat_id=GROUP)
    assert await service.who_refuses(record) is LimitReached.GROUP_ADMINS
    assert roles.asked == [(GROUP, MEMBER), (GROUP, ADMIN), (GROUP, MEMBER)]
    assert await service.is_admin(GROUP, ADMIN) and not await service.is_admin(GROUP, MEMBER)


async def test_where_allowed_members_generate_an_allowed_one_needs_no_question() -> None:
    service, _, roles = groups()
    await service.change(
        GROUP, lambda _: GroupSettings(GROUP, who=WhoGenerates.ALLOWED).allowing(FRIEND, True)
    )
    assert await service.member_refused(GROUP, FRIEND) is None
    assert roles.asked == []
    assert await service.member_refused(GROUP, MEMBER) is LimitReached.GROUP_NOT_ALLOWED
    assert await service.member_refused(GROUP, ADMIN) is None
    assert (await service.settings(GROUP)).allowed == frozenset({FRIEND})


def made(
    task_id: str, *, chat_id: int, duration: int, at: float, user_id: int = MEMBER
) -> TaskRecord:
    """A generation the service accepted at `at`."""
    return make_record(
        task_id,
        user_id=user_id,
        chat_id=chat_id,
        settings=GenerationSettings("720p", duration, True),
        state=TaskState.DONE,
        attempt=1,
        apimart_task_id=f"api-{task_id}",
        created_at=at,
        submitted_at=at,
    )


async def test_the_allowance_counts_the_members_seconds_in_this_group_since_midnight() -> None:
    service, storage, _ = groups()
    await service.change(GROUP, lambda _: GroupSettings(GROUP, allowance=30))
    for record in (
        made("today", chat_id=GROUP, duration=10, at=MIDNIGHT + 1),
        made("yesterday", chat_id=GROUP, duration=15, at=MIDNIGHT - 1),
        made("elsewhere", chat_id=OTHER_GROUP, duration=15, at=NOW),
        made("private", chat_id=MEMBER, duration=15, at=NOW),
        made("another member", chat_id=GROUP, duration=15, at=NOW, user_id=FRIEND),
    ):
        await storage.add_task(record)
    card = make_record(
        "card", user_id=MEMBER, chat_id=GROUP, settings=GenerationSettings("720p", 15, True)
    )
    # 10 s used today here + 15 s: within 30, the wallet pays
    assert await service.paying(card) == GroupVerdict(payer=GROUP)
    longer = make_record(
        "long", user_id=MEMBER, chat_id=GROUP, settings=GenerationSettings("720p", 25, True)
    )
    assert await service.paying(longer) == GroupVerdict(LimitReached.GROUP_ALLOWANCE)
    own = make_record(
        "own",
        user_id=MEMBER,
        chat_id=GROUP,
        settings=GenerationSettings("720p", 25, True),
        pays_self=True,
    )
    assert await service.paying(own) == GroupVerdict()  # past it, on the member's credits


async def test_without_billing_the_wallet_never_pays_and_private_cards_have_no_verdict() -> None:
    service, _, _ = groups(billing_on=False)
    await service.change(GROUP, lambda _: GroupSettings(GROUP))
    assert await service.paying(make_record(user_id=MEMBER, chat_id=GROUP)) == GroupVerdict()
    billed, _, _ = groups()
    assert await billed.paying(make_record(user_id=MEMBER)) == GroupVerdict()


async def test_the_week_holds_this_groups_generations_of_the_last_seven_days() -> None:
    service, storage, _ = groups()
    for record in (
        made("recent", chat_id=GROUP, duration=5, at=NOW - 3600),
        made("six days", chat_id=GROUP, duration=5, at=NOW - WEEK + 60),
        made("eight days", chat_id=GROUP, duration=5, at=NOW - WEEK - 60),
        made("other group", chat_id=OTHER_GROUP, duration=5, at=NOW),
    ):
        await storage.add_task(record)
    assert sorted(entry.id for entry in await service.week(GROUP)) == ["recent", "six days"]
