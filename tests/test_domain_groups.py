"""A group's rules (bot/domain/groups.py): each edge pinned by a case."""

from __future__ import annotations

import pytest

from bot.domain.access import LimitReached
from bot.domain.groups import (
    ALLOWANCES,
    GROUP_RULES,
    Delivery,
    GroupSettings,
    GroupVerdict,
    WhoGenerates,
    paying,
)
from bot.domain.settings import GenerationSettings

G = -100500


@pytest.mark.parametrize(
    ("who", "user", "admin", "refused"),
    [
        (WhoGenerates.EVERYONE, 1, False, None),
        (WhoGenerates.ADMINS, 1, True, None),
        (WhoGenerates.ADMINS, 1, False, LimitReached.GROUP_ADMINS),
        (WhoGenerates.ADMINS, 7, False, LimitReached.GROUP_ADMINS),  # allowed counts not here
        (WhoGenerates.ALLOWED, 7, False, None),
        (WhoGenerates.ALLOWED, 1, True, None),
        (WhoGenerates.ALLOWED, 1, False, LimitReached.GROUP_NOT_ALLOWED),
    ],
)
def test_who_may_generate(
    who: WhoGenerates, user: int, admin: bool, refused: LimitReached | None
) -> None:
    group = GroupSettings(G, who, frozenset({7}))
    assert group.who_refuses(user, admin=admin) is refused


@pytest.mark.parametrize(
    ("used", "billing", "wallet", "pays_self", "verdict"),
    [
        (0, False, True, False, GroupVerdict()),  # free bot: within the allowance
        (15, False, True, False, GroupVerdict()),  # exactly the allowance
        (16, False, True, False, GroupVerdict(LimitReached.GROUP_ALLOWANCE)),
        (16, False, True, True, GroupVerdict(LimitReached.GROUP_ALLOWANCE)),  # nothing to pay
        (0, True, True, False, GroupVerdict(payer=G)),  # the wallet pays
        (0, True, False, False, GroupVerdict()),  # wallet off: the member pays
        (0, True, True, True, GroupVerdict()),  # "I pay"
        (16, True, True, False, GroupVerdict(LimitReached.GROUP_ALLOWANCE)),
        (16, True, True, True, GroupVerdict()),  # past it, on the member's own credits
    ],
)
def test_who_pays_within_and_past_the_allowance(
    used: int, billing: bool, wallet: bool, pays_self: bool, verdict: GroupVerdict
) -> None:
    group = GroupSettings(G, allowance=30, wallet=wallet)
    assert (
        paying(group, used_today=used, duration=15, billing_on=billing, pays_self=pays_self)
        == verdict
    )


def test_no_allowance_means_no_limit() -> None:
    group = GroupSettings(G, allowance=0)
    assert paying(group, used_today=10**6, duration=15, billing_on=True, pays_self=False) == (
        GroupVerdict(payer=G)
    )


def test_the_groups_defaults_go_over_the_members_own() -> None:
    mine = GenerationSettings("720p", 5, True)
    assert GroupSettings(G).defaults_for(mine) == mine
    group = GroupSettings(G, resolution="1080p", duration=10, audio=False)
    assert group.defaults_for(mine) == GenerationSettings("1080p", 10, False)
    assert GroupSettings(G, audio=True).defaults_for(GenerationSettings(audio=False)).audio


@pytest.mark.parametrize(
    ("rule", "value", "field", "expected"),
    [
        ("who", "admins", "who", WhoGenerates.ADMINS),
        ("allowance", "300", "allowance", 300),
        ("resolution", "1080p", "resolution", "1080p"),
        ("resolution", "-", "resolution", None),
        ("duration", "15", "duration", 15),
        ("duration", "-", "duration", None),
        ("audio", "0", "audio", False),
        ("audio", "-", "audio", None),
        ("delivery", "private", "delivery", Delivery.PRIVATE),
        ("wallet", "0", "wallet", False),
    ],
)
def test_each_button_sets_its_rule(rule: str, value: str, field: str, expected: object) -> None:
    changed = GroupSettings(G, resolution="720p", duration=5, audio=True).with_rule(rule, value)
    assert changed is not None and getattr(changed, field) == expected


@pytest.mark.parametrize(
    ("rule", "value"),
    [
        ("who", "owner"),
        ("allowance", "31"),
        ("allowance", "x"),
        ("resolution", "4k"),
        ("duration", "16"),
        ("duration", "1"),
        ("duration", "²"),
        ("audio", "2"),
        ("delivery", "mail"),
        ("wallet", "-"),
        ("chat_id", "5"),  # not a rule: a forged button cannot move the group
        ("allowed", "5"),
    ],
)
def test_a_forged_button_changes_nothing(rule: str, value: str) -> None:
    assert GroupSettings(G).with_rule(rule, value) is None


def test_the_card_offers_every_rule_and_only_those() -> None:
    assert {
        "who", "allowance", "resolution", "duration", "audio", "delivery", "wallet",
    } == GROUP_RULES  # fmt: skip
    assert ALLOWANCES[0] == 0 and all(a > 0 for a in ALLOWANCES[1:])


def test_settings_round_trip_and_an_older_record_reads_the_defaults() -> None:
    group = GroupSettings(
        G, WhoGenerates.ALLOWED, frozenset({3, 1}), 60, "1080p", 10, False, Delivery.PRIVATE, False
    )
    assert GroupSettings.from_dict(group.to_dict()) == group
    assert group.to_dict()["allowed"] == [1, 3]
    assert GroupSettings.from_dict({"chat_id": G}) == GroupSettings(G)
    assert GroupSettings.from_dict({"chat_id": G, "duration": 99}).duration is None


def test_allowing_adds_and_takes_a_member_off() -> None:
    group = GroupSettings(G).allowing(5, True).allowing(6, True)
    assert group.allowed == {5, 6}
    assert group.allowing(5, False).allowed == {6}
    assert group.allowing(9, False).allowed == {5, 6}


def test_the_week_counts_made_videos_by_member_and_the_most_made_prompts() -> None:
    from bot.domain.groups import MemberWeek, group_week
    from bot.domain.history import HistoryEntry, entry_of
    from bot.domain.records import TaskState
    from tests.factories import make_record

    def made(
        task_id: str, user: int, prompt: str, seconds: int, charged: bool = True
    ) -> HistoryEntry:
        record = make_record(
            task_id, user_id=user, chat_id=G, prompt=prompt, state=TaskState.DONE, attempt=1,
            apimart_task_id="x" if charged else None,
            settings=GenerationSettings(duration=seconds),
        )  # fmt: skip
        return entry_of(record)

    entries = [
        made("a", 7, "fox", 5),
        made("b", 7, "fox", 10),
        made("c", 3, "whale", 5),
        made("d", 3, "", 5),  # no prompt: counted, not among the prompts
        made("e", 9, "never made", 15, charged=False),  # refused before the service: not made
    ]
    week = group_week(entries, {"b": 40, "c": 25})
    assert week.members == [(3, MemberWeek(2, 10, 25)), (7, MemberWeek(2, 15, 40))]  # ties: id
    assert week.prompts == [("fox", 7, 2), ("whale", 3, 1)]
