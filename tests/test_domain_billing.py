"""The credit ledger's arithmetic (bot/domain/billing.py): what a user sees of their account,
what the operator's totals add up to, what a price costs in credits, and the refs of refund
attempts (a charge id has no "#", see `refund_charge`). The admission rules themselves:
tests/test_ledger.py."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.domain.billing import (
    LedgerTotals,
    Movement,
    Reason,
    account_of,
    admissible,
    credits_for,
    next_refund_ref,
    open_refund,
    refund_charge,
    refunded,
)


def test_an_account_lists_its_ten_newest_movements_newest_first() -> None:
    rows = [Movement(1, 5, Reason.GRANT, f"g{n}", at=float(n)) for n in range(12)]
    account = account_of(reversed(rows))
    assert [m.ref for m in account.recent] == [f"g{n}" for n in range(11, 1, -1)]
    assert account.balance == 60


def test_a_hold_may_take_the_balance_down_to_zero_and_not_below() -> None:
    rows = [Movement(1, 30, Reason.PURCHASE, "ch1", 1.0, stars=30)]
    hold = Movement(1, -30, Reason.RESERVE, "t1:1", 2.0)
    assert admissible(rows, hold)
    assert not admissible(rows, replace(hold, amount=-31))
    assert admissible(rows, Movement(1, -30, Reason.GRANT, "grant:x", 2.0))


def test_the_operators_totals_add_up_to_what_was_bought_less_what_was_spent() -> None:
    rows = [
        Movement(1, 100, Reason.PURCHASE, "ch1", 1.0, stars=50),
        Movement(2, 40, Reason.PURCHASE, "ch2", 1.0, stars=20),
        Movement(2, 10, Reason.WELCOME, "welcome:2", 1.0),
        Movement(1, -10, Reason.RESERVE, "t1:1", 2.0),  # delivered
        Movement(1, 0, Reason.SPEND, "t1:1", 3.0),
        Movement(1, -5, Reason.RESERVE, "t2:1", 2.0),  # failed: returned
        Movement(1, 5, Reason.RELEASE, "t2:1", 3.0),
        Movement(2, -8, Reason.RESERVE, "t3:1", 2.0),  # still being made
        Movement(2, -7, Reason.RESERVE, "t4:1", 2.0),  # delivered
        Movement(2, 0, Reason.SPEND, "t4:1", 4.0),
    ]
    totals = LedgerTotals.of(rows)
    assert totals.stars_received == 70
    assert totals.stars_refunded == 0
    assert totals.credits_spent == 17
    assert totals.credits_returned == 5
    # Every credit ever given is still someone's (free or held) unless a video spent it.
    assert totals.outstanding == 100 + 40 + 10 - 17
    assert totals.outstanding == sum(
        account.balance + account.reserved for account in map(account_of, _by_user(rows))
    )


def _by_user(rows: list[Movement]) -> list[list[Movement]]:
    return [[m for m in rows if m.user_id == user] for user in sorted({m.user_id for m in rows})]


@pytest.mark.parametrize(
    ("price", "per_unit", "credits"),
    [
        (0.25, 100, 25),  # a whole number of credits
        (0.123, 100, 13),  # part of a credit is a credit
        (0.0375 * 3, 100, 12),  # 11.25 → 12
        (0.07 * 3, 100, 21),  # 21.000000000000004 in floats: still 21
        (0.001, 100, 1),  # under one credit: one
        (0.0, 100, 1),
    ],
)
def test_a_price_costs_whole_credits_rounded_up_never_below_one(
    price: float, per_unit: int, credits: int
) -> None:
    assert credits_for(price, per_unit) == credits


def test_a_movement_written_before_times_and_stars_were_kept_reads_as_zero() -> None:
    row = {"user_id": "1", "amount": "-5", "reason": "reserve", "ref": "t1:1"}
    assert Movement.from_dict(row) == Movement(1, -5, Reason.RESERVE, "t1:1", 0.0, 0)
    full = Movement(2, 50, Reason.PURCHASE, "ch9", 12.5, stars=25)
    assert Movement.from_dict(full.to_dict()) == full


@pytest.mark.parametrize("charge", ["stxAbC-_9", "1234567"])
def test_each_refund_attempt_has_its_own_ref_and_leads_back_to_its_charge(charge: str) -> None:
    purchase = Movement(1, 50, Reason.PURCHASE, charge, 1.0, stars=50)
    first = Movement(1, -50, Reason.REFUND, next_refund_ref([purchase], charge), 2.0, stars=50)
    assert admissible([purchase], first)
    assert refund_charge(first.ref) == charge
    undone = Movement(1, 50, Reason.REFUND_UNDONE, first.ref, 3.0, stars=50)
    rows = [purchase, first, undone]
    assert not refunded(rows, charge)
    second_ref = next_refund_ref(rows, charge)
    assert second_ref != first.ref and refund_charge(second_ref) == charge
    second = replace(first, ref=second_ref, at=4.0)
    assert admissible(rows, second)
    assert open_refund([*rows, second], charge) == second
    assert LedgerTotals.of([*rows, second]).stars_refunded == 50


def test_a_task_spent_what_its_spent_attempts_held() -> None:
    """/history with billing: a failed attempt (returned) costs nothing, a retry that made the
    video costs its hold; another task's holds stay its own."""
    from bot.domain.billing import hold_ref, spent_by_task

    first, retry, other = hold_ref("t1", 1, "aa"), hold_ref("t1", 2, "bb"), hold_ref("t2", 1, "cc")
    rows = [
        Movement(7, -25, Reason.RESERVE, first),
        Movement(7, 25, Reason.RELEASE, first),
        Movement(7, -38, Reason.RESERVE, retry),
        Movement(7, 0, Reason.SPEND, retry),
        Movement(7, -25, Reason.RESERVE, other),  # still being made
    ]
    assert spent_by_task(rows) == {"t1": 38}
