"""The credit ledger on every backend: a random run of 500 operations (buys, replays,
generations, failures, restarts, grants, refunds) keeps the balance equal to the ledger's
sum, never below zero, and counts no charge twice. And the rules of refunds, one by one."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from bot.domain.billing import LedgerTotals, Movement, Reason, account_of, admissible
from bot.storage import Storage
from tests.test_storage_contract import PERSISTENT, open_backend


@pytest.fixture(params=("memory", *PERSISTENT))
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_random_operations_keep_the_ledger_exact(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    rng = random.Random(20261124)
    storage: Storage = await open_backend(backend, tmp_path, request)
    charges: list[tuple[int, str]] = []
    reservations: list[tuple[int, str]] = []
    applied: Counter[tuple[str, str]] = Counter()
    users = (1, 2, 3)
    # The test's own model, kept from the movements it saw accepted: each user's free
    # credits, the holds not yet settled (ref: user, credits), the charges refunded.
    free = dict.fromkeys(users, 0)
    holds: dict[str, tuple[int, int]] = {}
    refunded: set[str] = set()

    def admitted(m: Movement) -> bool:
        """What the ledger must say to `m`, by the model alone."""
        if m.key in applied:
            return False  # the same reason for the same charge or task: never twice
        if m.reason in (Reason.SPEND, Reason.RELEASE):
            user, credits = holds.get(m.ref, (None, 0))
            return user == m.user_id and m.amount == (credits if m.reason is Reason.RELEASE else 0)
        if m.reason is Reason.REFUND:
            return m.ref not in refunded and free[m.user_id] >= -m.amount
        return free[m.user_id] + m.amount >= 0 or m.amount >= 0  # buy, hold, grant

    def apply(m: Movement) -> None:
        free[m.user_id] += m.amount
        if m.reason is Reason.RESERVE:
            holds[m.ref] = (m.user_id, -m.amount)
        elif m.reason in (Reason.SPEND, Reason.RELEASE):
            del holds[m.ref]
        elif m.reason is Reason.REFUND:
            refunded.add(m.ref)

    try:
        for step in range(500):
            user = rng.choice(users)
            kind = rng.choice(
                ["buy", "replay", "reserve", "spend", "release", "grant", "refund", "restart"]
            )
            movement: Movement | None = None
            if kind == "buy":
                charge = f"charge-{step}"
                charges.append((user, charge))
                movement = Movement(user, 50, Reason.PURCHASE, charge, step, stars=50)
            elif kind == "replay" and charges:
                owner, charge = rng.choice(charges)
                movement = Movement(owner, 50, Reason.PURCHASE, charge, step, stars=50)
            elif kind == "reserve":
                ref = f"task{step}:1"
                reservations.append((user, ref))
                movement = Movement(user, -rng.choice((10, 25, 40)), Reason.RESERVE, ref, step)
            elif kind in ("spend", "release") and reservations:
                owner, ref = rng.choice(reservations)
                reserve = next(
                    (m for m in await storage.ledger(owner) if m.key == ("reserve", ref)), None
                )
                held = -reserve.amount if reserve else 10
                amount = 0 if kind == "spend" else held
                movement = Movement(owner, amount, Reason(kind), ref, step)
            elif kind == "grant":
                movement = Movement(user, rng.choice((5, -5, 20)), Reason.GRANT, f"g{step}", step)
            elif kind == "refund" and charges:
                owner, charge = rng.choice(charges)
                movement = Movement(owner, -50, Reason.REFUND, charge, step, stars=50)
            elif kind == "restart" and backend != "memory":
                await storage.close()
                storage = await open_backend(backend, tmp_path, request)
            if movement is not None:
                accepted = await storage.ledger_apply(movement)
                assert accepted == admitted(movement), (step, movement)
                if accepted:
                    applied[movement.key] += 1
                    apply(movement)
        rows = await storage.ledger_rows()
        assert Counter(m.key for m in rows) == applied and max(applied.values()) == 1
        for user in users:
            mine = await storage.ledger(user)
            account = account_of(mine)
            assert account.balance == free[user] >= 0
            assert account.reserved == sum(c for owner, c in holds.values() if owner == user)
            purchases = Counter(m.ref for m in mine if m.reason is Reason.PURCHASE)
            assert all(n == 1 for n in purchases.values())
            settled = Counter(m.ref for m in mine if m.reason in (Reason.SPEND, Reason.RELEASE))
            assert all(n == 1 for n in settled.values())  # spent or returned, never both
        assert sum(1 for m in rows if m.reason is Reason.PURCHASE) > 20  # the run did buy
    finally:
        await storage.close()


async def test_random_bot_operations_keep_balances_exact_through_the_lifecycle(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The same invariants with the real lifecycle moving the credits: purchases and their
    replays, generations that complete or fail upstream, refused submits, cancels, grants,
    refunds and restarts (a new service on the same storage, which reconciles)."""
    from bot.apimart import ApimartInvalidRequestError, TaskStatus
    from bot.domain.records import ACTIVE_STATES, TaskState
    from bot.lifecycle.billing import Billing
    from bot.lifecycle.service import GenerationService
    from bot.lifecycle.submit import Claimed
    from tests.factories import make_record
    from tests.fakes.lifecycle import FakeVideoApi, ManualScheduler, build_lifecycle

    rng = random.Random(7)
    PRICE = 25  # credits: the price of the default settings at 100 credits a dollar
    api, scheduler = FakeVideoApi(), ManualScheduler()
    storage: Storage = await open_backend(backend, tmp_path / "db", request)

    def service(store: Storage) -> tuple[GenerationService, Billing]:
        life = build_lifecycle(tmp_path, storage=store, api=api, scheduler=scheduler, billing=True)
        assert life.generation.ending.billing is not None
        return life.generation, life.generation.ending.billing

    generation, billing = service(storage)
    images = tmp_path / "images"
    images.mkdir()
    charges: list[tuple[int, str]] = []
    users = (1, 2, 3)
    # The test's own model: the credits its calls gave and took back, each user's tasks (a
    # video costs PRICE while in flight and once the provider made it), and the charges
    # whose Stars went back ("bot": a refund of the bot's still open, "telegram": reported).
    given = dict.fromkeys(users, 0)
    tasks: dict[int, list[str]] = {user: [] for user in users}
    stars_back: dict[str, str] = {}

    async def costs(user: int) -> int:
        total = 0
        for task_id in tasks[user]:
            record = await storage.kept_task(task_id)
            assert record is not None
            in_flight = record.state in ACTIVE_STATES and record.reservation is not None
            made = record.state is TaskState.DONE or (
                record.state is TaskState.CANCELLED and record.submitted_at is not None
            )
            total += PRICE if in_flight or made else 0
        return total

    async def free(user: int) -> int:
        return given[user] - await costs(user)

    try:
        for step in range(500):
            user = rng.choice(users)
            kind = rng.choice(
                ["buy", "replay", "generate", "poll", "cancel", "grant", "refund", "restart"]
            )
            if kind == "buy":
                charges.append((user, f"ch{step}"))
                assert await billing.purchase(user, f"ch{step}", 50, 50)
                given[user] += 50
            elif kind == "replay" and charges:
                assert not await billing.purchase(*rng.choice(charges), 50, 50)
            elif kind == "generate":
                record = make_record(f"t{step}", user_id=user, image_file=f"t{step}.jpg")
                tasks[user].append(record.id)
                (images / record.image_file).write_bytes(b"jpeg")
                await storage.add_task(record)
                claimed = await generation.claim(record)
                if isinstance(claimed, Claimed):
                    if rng.random() < 0.15:
                        api.submit_error = ApimartInvalidRequestError("refused", status=400)
                    running = await generation.submit(claimed.record)
                    if running is not None and running.apimart_task_id:
                        final = rng.choice(("completed", "failed"))
                        api.statuses[running.apimart_task_id] = [
                            TaskStatus(
                                running.apimart_task_id,
                                final,
                                progress=100,
                                video_url="https://cdn/v.mp4" if final == "completed" else None,
                            )
                        ]
            elif kind == "poll" and scheduler.due:
                task_id = next(iter(scheduler.due))
                del scheduler.due[task_id]
                await generation.poll(task_id)
            elif kind == "cancel":
                running = await storage.tasks_in({TaskState.RUNNING}, user_id=user)
                if running:
                    await generation.cancel(rng.choice(running))
            elif kind == "grant":
                credits = rng.choice((10, -10, 30))
                granted = await billing.grant(user, credits)
                assert granted == (credits > 0 or await free(user) >= -credits)
                given[user] += credits if granted else 0
            elif kind == "refund" and charges:
                owner, charge = rng.choice(charges)
                purchase = await billing.find_purchase(charge)
                assert purchase is not None
                if rng.random() < 0.3:  # Telegram reports a refund the bot did not make
                    left = max(0, min(50, await free(owner)))
                    followed = await billing.refunded_outside(owner, charge)
                    if charge in stars_back:
                        assert followed is None  # its Stars went back already
                    else:
                        assert followed is not None and followed.amount == -left
                        stars_back[charge] = "telegram"
                        given[owner] -= left
                    continue
                can_refund = charge not in stars_back and await free(owner) >= 50
                refund = await billing.take_back(purchase)
                assert (refund is not None) == can_refund
                if refund is not None:
                    given[owner] -= 50
                    stars_back[charge] = "bot"
                    if rng.random() < 0.4:
                        assert await billing.undo_refund(refund)  # Telegram refused it
                        given[owner] += 50
                        del stars_back[charge]
            elif kind == "restart":
                if backend != "memory":
                    await storage.close()
                    storage = await open_backend(backend, tmp_path / "db", request)
                generation, billing = service(storage)
                await generation.resume()
        rows = await storage.ledger_rows()
        keys = Counter(m.key for m in rows)
        assert max(keys.values()) == 1  # no movement twice, no charge counted twice
        for user in users:
            mine = await storage.ledger(user)
            account = account_of(mine)
            assert account.balance == await free(user) >= 0
            active = await storage.tasks_in(
                {TaskState.SUBMITTING, TaskState.RUNNING, TaskState.DELIVERING}, user_id=user
            )
            # What is held is exactly what the user's tasks in flight hold.
            assert account.reserved == sum(25 for r in active if r.reservation)
        assert len(api.submitted) > 20 and sum(m.reason is Reason.SPEND for m in rows) > 5
        assert sum(m.reason is Reason.RELEASE for m in rows) > 5  # failures returned
    finally:
        await storage.close()


PURCHASE = Movement(1, 50, Reason.PURCHASE, "ch1", 1.0, stars=50)
REFUND = Movement(1, -50, Reason.REFUND, "ch1", 2.0, stars=50)
UNDONE = Movement(1, 50, Reason.REFUND_UNDONE, "ch1", 3.0, stars=50)


def test_a_key_in_the_ledger_is_never_admitted_again_whatever_its_reasons_rule() -> None:
    """The same reason for the same charge or task, never twice: a row each rule alone would
    take (credits added, a hold settled) is refused once its key is in the user's ledger."""
    grant = Movement(1, 10, Reason.GRANT, "grant-1", 1.0)
    welcome = Movement(1, 20, Reason.WELCOME, "welcome:1", 1.0)
    hold = Movement(1, -10, Reason.RESERVE, "t1:1", 2.0)
    release = Movement(1, 10, Reason.RELEASE, "t1:1", 3.0)
    rows = [PURCHASE, grant, welcome, hold]
    for row in rows:
        assert not admissible(rows, row)
        assert not admissible(rows, replace(row, at=9.0))  # the same key, later
    assert not admissible(rows, replace(PURCHASE, amount=80, stars=80))  # a charge reused
    assert admissible(rows, release)
    assert not admissible([*rows, release], release)  # returned once
    assert not admissible([*rows, replace(release, amount=0, reason=Reason.SPEND)], release)
    spend = Movement(1, 0, Reason.SPEND, "t1:1", 3.0)
    assert admissible(rows, spend) and not admissible([*rows, spend], spend)


def test_a_refund_takes_back_exactly_a_purchase_still_unspent() -> None:
    assert admissible([PURCHASE], REFUND)
    assert not admissible([], REFUND)  # no such purchase
    assert not admissible([PURCHASE], replace(REFUND, amount=-40))  # not its credits
    assert not admissible([PURCHASE], replace(REFUND, stars=10))
    assert not admissible([PURCHASE], replace(REFUND, ref="ch1#2"))  # not its first attempt
    held = Movement(1, -10, Reason.RESERVE, "t1:1", 1.5)
    assert not admissible([PURCHASE, held], REFUND)  # partly held or spent: refused


def test_a_refund_can_be_undone_once_and_then_tried_again() -> None:
    rows = [PURCHASE, REFUND]
    assert not admissible(rows, replace(REFUND, ref="ch1#2"))  # one open at a time
    assert not admissible(rows, replace(UNDONE, amount=40))  # not the refund's credits
    assert not admissible(rows, replace(UNDONE, stars=0))
    assert not admissible(rows, replace(UNDONE, ref="ch2"))  # no such refund
    assert not admissible([PURCHASE], UNDONE)
    assert admissible(rows, UNDONE)
    rows.append(UNDONE)
    assert not admissible(rows, UNDONE)  # undone once
    again = replace(REFUND, ref="ch1#2", at=4.0)
    assert not admissible(rows, replace(again, ref="ch1#3"))  # attempts are numbered in turn
    assert admissible(rows, again)
    rows.append(again)
    assert admissible(rows, replace(UNDONE, ref="ch1#2"))
    assert not admissible(rows, replace(again, ref="ch1#3"))
    # Stars: refunded once (the open attempt), whatever was undone before it.
    assert LedgerTotals.of(rows).stars_refunded == 50
    assert LedgerTotals.of([*rows, replace(UNDONE, ref="ch1#2")]).stars_refunded == 0


def test_a_refund_undone_the_old_way_counts_as_undone() -> None:
    """Before REFUND_UNDONE, a refused refund gave its credits back as a GRANT."""
    legacy = Movement(1, 50, Reason.GRANT, "refund-failed:ch1", 3.0)
    rows = [PURCHASE, REFUND, legacy]
    assert not admissible(rows, UNDONE)  # undone already
    assert admissible(rows, replace(REFUND, ref="ch1#2"))
    assert LedgerTotals.of(rows).stars_refunded == 0


def test_a_refund_telegram_reports_takes_back_what_is_still_free_once() -> None:
    held = Movement(1, -30, Reason.RESERVE, "t1:1", 1.5)
    outside = Movement(1, -20, Reason.EXTERNAL_REFUND, "ch1", 2.0, stars=50)
    rows = [PURCHASE, held]
    assert admissible(rows, outside)
    assert not admissible(rows, replace(outside, amount=-50))  # below zero
    assert not admissible(rows, replace(outside, amount=-10))  # less than is free
    assert not admissible(rows, replace(outside, ref="ch2"))  # no such purchase
    assert not admissible(rows, replace(outside, stars=0))
    assert admissible([PURCHASE], replace(outside, amount=-50))  # never more than bought
    spent = [PURCHASE, replace(held, amount=-50)]
    assert admissible(spent, replace(outside, amount=0))  # nothing left: recorded anyway
    rows.append(outside)
    assert not admissible(rows, outside)  # a replayed update
    assert not admissible(rows, replace(REFUND, amount=-50))  # the Stars are gone already
    assert LedgerTotals.of(rows).stars_refunded == 50


def test_a_refund_telegram_reports_after_the_bots_own_changes_nothing() -> None:
    outside = Movement(1, 0, Reason.EXTERNAL_REFUND, "ch1", 2.5, stars=50)
    assert not admissible([PURCHASE, REFUND], outside)  # the bot's refund took them back
    assert admissible([PURCHASE, REFUND, UNDONE], replace(outside, amount=-50))
