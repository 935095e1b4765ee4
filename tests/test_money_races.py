"""Money under races, replicas and restarts (issue 17: H1, M1, M3 of the security audit).

Each test is an attack from `../shared/reviews/security-2026-11.md` with its proof inverted:
what was priced and checked is what is submitted; what the provider billed is spent; a hold
nobody can tie to a task that ran goes back, at once where the bot can see it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.apimart import ApimartInvalidRequestError, SubmitOutcomeUnknownError, TaskStatus
from bot.domain.access import LimitReached, Limits
from bot.domain.actions import SetDuration
from bot.domain.billing import Movement, Reason, account_of
from bot.domain.records import TaskRecord, TaskState
from bot.domain.settings import GenerationSettings
from bot.domain.transitions import TaskChange
from bot.lifecycle.billing import Billing
from bot.lifecycle.ports import ChatUnreachableError, SentVideo
from bot.lifecycle.submit import Claimed, InLine, Refused, Taken
from bot.mp4 import VideoMeta
from bot.storage import Storage
from bot.storage.memory import MemoryStorage
from tests.factories import make_record
from tests.fakes.lifecycle import Lifecycle, RecordingMessenger, build_lifecycle
from tests.test_money_properties import YieldingStorage
from tests.test_storage_contract import BACKENDS, open_backend

CHEAP = GenerationSettings("1080p", 2, True)  # 15 credits at the default prices
BALANCE = 200


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def billing_of(life: Lifecycle) -> Billing:
    assert life.generation.ending.billing is not None
    return life.generation.ending.billing


async def add(life: Lifecycle, record: TaskRecord, tmp_path: Path) -> TaskRecord:
    (tmp_path / "images").mkdir(exist_ok=True)
    (tmp_path / "images" / record.image_file).write_bytes(b"\xff\xd8jpeg")
    await life.storage.add_task(record)
    return record


async def held_for(storage: Storage, user_id: int, ref: str | None) -> int:
    rows = await storage.ledger(user_id)
    return next(-m.amount for m in rows if m.key == (Reason.RESERVE.value, ref))


async def reasons(storage: Storage, user_id: int) -> list[Reason]:
    return [m.reason for m in await storage.ledger(user_id)]


class HookedStorage(MemoryStorage):
    """Runs `after_update` once, right after the first change that matches it."""

    def __init__(self) -> None:
        super().__init__()
        self.after_update: tuple[Callable[[TaskRecord], bool], Callable[[], Awaitable[Any]]]
        self.after_update = (lambda _: False, asyncio.sleep)

    async def update_task(
        self, task_id: str, change: TaskChange, *, expect_version: int | None = None
    ) -> TaskRecord | None:
        updated = await super().update_task(task_id, change, expect_version=expect_version)
        matches, action = self.after_update
        if updated is not None and matches(updated):
            self.after_update = (lambda _: False, asyncio.sleep)
            await action()
        return updated


# -- H1: one claim, one snapshot ------------------------------------------------------------


async def race_generate_and_press(
    life: Lifecycle, tmp_path: Path, task_id: str
) -> tuple[TaskRecord | None, int]:
    """Generate and "15 s" pressed at the same instant on a 2 s card; the claimed record
    and the credits held for it."""
    card = await add(life, make_record(task_id, settings=CHEAP), tmp_path)
    claimed, _ = await asyncio.gather(
        life.generation.claim(card), life.drafts.press(card, SetDuration(15))
    )
    if not isinstance(claimed, Claimed):
        return None, 0
    held = await held_for(life.storage, 1, claimed.record.reservation)
    submitted = await life.generation.submit(claimed.record)
    assert submitted is not None and submitted.state is TaskState.RUNNING
    return claimed.record, held


async def test_a_press_racing_generate_is_never_submitted_at_the_old_price(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    storage = (
        YieldingStorage()
        if backend == "memory"
        else await open_backend(backend, tmp_path, request)
    )
    roomy = Limits(max_active_per_user=1000, max_active_total=1000)
    life = build_lifecycle(tmp_path, roomy, billing=True, storage=storage)
    billing = billing_of(life)
    await storage.ledger_apply(Movement(1, 100_000, Reason.GRANT, "g"))
    tries = 30
    try:
        for n in range(tries):
            claimed, held = await race_generate_and_press(life, tmp_path, f"race{n:03}")
            assert claimed is not None
            sent = life.api.submitted[-1]
            # What was priced is what went out, whichever of the two won.
            assert held == billing.price(claimed.settings)
            assert (sent.duration, sent.resolution, sent.audio) == (
                claimed.settings.duration,
                claimed.settings.resolution,
                claimed.settings.audio,
            )
            stored = await storage.get_task(claimed.id)
            assert stored is not None and stored.settings == claimed.settings
        assert len(life.api.submitted) == tries
    finally:
        await storage.close()


async def test_the_price_of_an_edit_that_lands_inside_the_claim_is_what_is_held(
    tmp_path: Path,
) -> None:
    """The exact interleaving of the audit's proof: the edit lands after the claim read the
    card and before its compare-and-set. The claim looks again and prices the edited card."""
    storage = HookedStorage()
    life = build_lifecycle(tmp_path, billing=True, storage=storage)
    await storage.ledger_apply(Movement(1, BALANCE, Reason.GRANT, "g"))
    card = await add(life, make_record("t", settings=CHEAP), tmp_path)
    original_usage = storage.usage
    edited: list[bool] = []

    async def usage_then_edit(user_id: int, since: float) -> Any:
        if not edited:
            edited.append(await life.drafts.press(card, SetDuration(15)))
        return await original_usage(user_id, since)

    storage.usage = usage_then_edit  # type: ignore[method-assign]
    claimed = await life.generation.claim(card)
    assert edited == [True]
    assert isinstance(claimed, Claimed) and claimed.record.settings.duration == 15
    await life.generation.submit(claimed.record)
    assert life.api.submitted[0].duration == 15
    assert await held_for(storage, 1, claimed.record.reservation) == billing_of(life).price(
        claimed.record.settings
    )
    assert billing_of(life).price(claimed.record.settings) > billing_of(life).price(CHEAP)


async def test_the_daily_quota_is_checked_on_what_is_submitted(tmp_path: Path) -> None:
    """BILLING=off: the same race would pass a 5 s allowance with a 15 s video."""
    storage = YieldingStorage()
    life = build_lifecycle(tmp_path, Limits(daily_seconds_per_user=5), storage=storage)
    card = await add(life, make_record("q", settings=CHEAP), tmp_path)
    claimed, _ = await asyncio.gather(
        life.generation.claim(card), life.drafts.press(card, SetDuration(15))
    )
    if isinstance(claimed, Claimed):
        assert claimed.record.settings.duration <= 5
        await life.generation.submit(claimed.record)
        assert life.api.submitted[0].duration <= 5
    else:
        assert claimed == Refused(LimitReached.DAILY_QUOTA) and life.api.submitted == []


async def test_two_replicas_hold_the_limits_together(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Two services (on PostgreSQL: two connection pools, as two processes have) claim
    cards of one user at the same moment: one per user at a time, 5 s a day, two in all."""
    first = await open_backend(backend, tmp_path, request)
    second = first if backend != "postgres" else await open_backend(backend, tmp_path, request)
    limits = Limits(max_active_per_user=1, daily_seconds_per_user=5, max_active_total=2)
    replicas = [
        build_lifecycle(tmp_path, limits, storage=store) for store in (first, second, second)
    ]
    try:
        cards = [
            await add(replicas[0], make_record(f"u{u}c{c}", user_id=u, chat_id=u), tmp_path)
            for u in (1, 2, 3)
            for c in range(2)
        ]
        results = await asyncio.gather(
            *(replicas[n % 3].generation.submitter.claim(card) for n, card in enumerate(cards))
        )
        submitting = [r.record for r in results if isinstance(r, Claimed)]
        users = [r.user_id for r in submitting]
        assert len(users) == len(set(users))  # at most one each
        assert len(submitting) == 2  # and two in all: the third user waits in line
        queued = [r.record for r in results if isinstance(r, InLine)]
        assert queued and not {r.user_id for r in queued} & set(users)
        refused = [r for r in results if r == Refused(LimitReached.USER_ACTIVE)]
        assert len(refused) == 2  # the second card of each user who has one running
    finally:
        await first.close()
        if second is not first:
            await second.close()


# -- M1: what the provider billed is spent ---------------------------------------------------


class BlockedMessenger(RecordingMessenger):
    """The user blocked the bot while their video was being made."""

    async def send_video(self, record: TaskRecord, path: Path, meta: VideoMeta) -> SentVideo:
        raise ChatUnreachableError("Forbidden: bot was blocked by the user")

    async def send_link(self, record: TaskRecord, *, maybe_sent: bool = False) -> int:
        raise ChatUnreachableError("Forbidden: bot was blocked by the user")


async def make_video(life: Lifecycle, tmp_path: Path, task_id: str = "t") -> TaskRecord:
    card = await add(life, make_record(task_id, settings=CHEAP), tmp_path)
    claimed = await life.generation.claim(card)
    assert isinstance(claimed, Claimed)
    running = await life.generation.submit(claimed.record)
    assert running is not None and running.apimart_task_id is not None
    life.api.statuses[running.apimart_task_id] = [
        TaskStatus(running.apimart_task_id, "completed", 100, video_url="http://v/1.mp4")
    ]
    await life.generation.poll(running.id)
    ended = await life.storage.get_task(running.id)
    assert ended is not None
    return ended


async def test_blocking_the_bot_after_submission_spends_the_hold(tmp_path: Path) -> None:
    life = build_lifecycle(tmp_path, billing=True, messenger=BlockedMessenger())
    await life.storage.ledger_apply(Movement(1, BALANCE, Reason.GRANT, "g"))
    ended = await make_video(life, tmp_path)
    assert ended.state is TaskState.CLOSED
    assert life.api.downloads  # the provider made the video (and billed the operator)
    assert await reasons(life.storage, 1) == [Reason.GRANT, Reason.RESERVE, Reason.SPEND]
    assert (await billing_of(life).account(1)).balance == BALANCE - 15


async def test_a_card_closed_before_any_submission_still_returns(tmp_path: Path) -> None:
    """The other side of the rule: an unknown outcome never retried is not billed to the
    user when the card is closed."""
    life = build_lifecycle(tmp_path, billing=True)
    await life.storage.ledger_apply(Movement(1, BALANCE, Reason.GRANT, "g"))
    card = await add(life, make_record("u", settings=CHEAP), tmp_path)
    claimed = await life.generation.claim(card)
    assert isinstance(claimed, Claimed)
    life.api.submit_error = SubmitOutcomeUnknownError("timed out")
    unknown = await life.generation.submit(claimed.record)
    assert unknown is not None and unknown.state is TaskState.UNKNOWN
    life.now[0] += 8 * 86400
    assert await life.generation.expire() == 1
    assert await reasons(life.storage, 1) == [Reason.GRANT, Reason.RESERVE, Reason.RELEASE]


# -- M3: holds nobody can tie to a task that ran go back -------------------------------------


async def test_reconcile_never_spends_a_hold_no_task_carries(tmp_path: Path) -> None:
    """A replica starting while another is between its reserve and its compare-and-set (the
    old order), or a crash there: the hold is not the task's, so it goes back once old
    enough, and is left alone while a claim may still be writing it."""
    life = build_lifecycle(tmp_path, billing=True)
    storage, billing = life.storage, billing_of(life)
    await storage.ledger_apply(Movement(1, BALANCE, Reason.GRANT, "g"))
    await add(life, make_record("d", settings=CHEAP), tmp_path)  # still a draft
    await storage.ledger_apply(Movement(1, -15, Reason.RESERVE, "d:1:aa", life.now[0]))
    assert await life.generation.reconcile() == 0  # young: a claim may be writing it
    life.now[0] += 3600
    assert await life.generation.reconcile() == 1
    assert await reasons(storage, 1) == [Reason.GRANT, Reason.RESERVE, Reason.RELEASE]
    assert (await billing.account(1)).balance == BALANCE


async def test_a_replica_starting_mid_claim_does_not_charge_a_refused_video(
    tmp_path: Path,
) -> None:
    storage = HookedStorage()
    life = build_lifecycle(tmp_path, billing=True, storage=storage)
    other = build_lifecycle(tmp_path, billing=True, storage=storage)  # a replica starting
    await storage.ledger_apply(Movement(1, BALANCE, Reason.GRANT, "g"))
    card = await add(life, make_record("t", settings=CHEAP), tmp_path)
    storage.after_update = (
        lambda r: r.state is TaskState.SUBMITTING,
        other.generation.reconcile,
    )
    claimed = await life.generation.claim(card)
    assert isinstance(claimed, Claimed)
    await other.generation.reconcile()  # and once more after the hold exists
    life.api.submit_error = ApimartInvalidRequestError("bad image", status=400)
    refused = await life.generation.submit(claimed.record)
    assert refused is not None and refused.state is TaskState.DRAFT
    assert await reasons(storage, 1) == [Reason.GRANT, Reason.RESERVE, Reason.RELEASE]
    assert (await billing_of(life).account(1)).balance == BALANCE


async def test_a_cancel_that_beats_the_hold_into_line_returns_it_at_once(tmp_path: Path) -> None:
    """The lost enqueue: the card is cancelled right after it joined the line, before its
    credits were held. No restart is needed for them to come back."""
    storage = HookedStorage()
    life = build_lifecycle(tmp_path, Limits(max_active_total=1), billing=True, storage=storage)
    await storage.ledger_apply(Movement(1, BALANCE, Reason.GRANT, "g"))
    await add(life, make_record("r", user_id=9, state=TaskState.RUNNING), tmp_path)
    card = await add(life, make_record("q", settings=CHEAP), tmp_path)

    async def cancel() -> None:
        queued = await storage.get_task("q")
        assert queued is not None
        assert await life.generation.cancel(queued) is not None

    storage.after_update = (lambda r: r.state is TaskState.QUEUED, cancel)
    assert await life.generation.claim(card) == Taken()
    stored = await storage.get_task("q")
    assert stored is not None and stored.state is TaskState.CANCELLED
    assert await reasons(storage, 1) == [Reason.GRANT, Reason.RESERVE, Reason.RELEASE]
    assert (await billing_of(life).account(1)).balance == BALANCE


async def test_forgetting_a_queued_card_returns_its_credits_at_once(tmp_path: Path) -> None:
    life = build_lifecycle(tmp_path, Limits(max_active_total=1), billing=True)
    await life.storage.ledger_apply(Movement(1, BALANCE, Reason.GRANT, "g"))
    await add(life, make_record("r", user_id=9, state=TaskState.RUNNING), tmp_path)
    card = await add(life, make_record("q", settings=CHEAP), tmp_path)
    queued = await life.generation.claim(card)
    assert isinstance(queued, InLine)
    assert (await billing_of(life).account(1)).reserved == 15
    await life.generation.privacy().forget(1)
    account = await billing_of(life).account(1)
    assert (account.balance, account.reserved) == (BALANCE, 0)


async def test_cancelling_a_queued_retry_returns_its_credits(tmp_path: Path) -> None:
    """ "Try again" on a failed video while the bot is full, then cancelled in line: the
    earlier attempt's submission does not make the new hold count as billed."""
    life = build_lifecycle(tmp_path, Limits(max_active_total=1), billing=True)
    await life.storage.ledger_apply(Movement(1, BALANCE, Reason.GRANT, "g"))
    failed = make_record("f", settings=CHEAP, state=TaskState.FAILED, attempt=1, submitted_at=1.0)
    await add(life, failed, tmp_path)
    await add(life, make_record("r", user_id=9, state=TaskState.RUNNING), tmp_path)
    queued = await life.generation.claim(failed)
    assert isinstance(queued, InLine)
    cancelled = await life.generation.cancel(queued.record)
    assert cancelled is not None and cancelled.submitted_at is None
    assert await reasons(life.storage, 1) == [Reason.GRANT, Reason.RESERVE, Reason.RELEASE]


async def test_a_queued_card_whose_hold_is_gone_holds_again_when_it_leaves_the_line(
    tmp_path: Path,
) -> None:
    """A queued task copied without its hold (the old migration) is never submitted free."""
    life = build_lifecycle(tmp_path, Limits(max_active_total=1), billing=True)
    await life.storage.ledger_apply(Movement(1, BALANCE, Reason.GRANT, "g"))
    await add(
        life,
        make_record(
            "q", settings=CHEAP, state=TaskState.QUEUED, queued_at=1.0, reservation="q:1:lost"
        ),
        tmp_path,
    )
    assert await life.generation.advance_line() == 1
    [reserve] = [m for m in await life.storage.ledger(1) if m.reason is Reason.RESERVE]
    stored = await life.storage.get_task("q")
    assert stored is not None and stored.reservation == reserve.ref != "q:1:lost"
    assert account_of(await life.storage.ledger(1)).reserved == 15


async def test_a_queued_card_that_can_no_longer_be_paid_comes_back(tmp_path: Path) -> None:
    life = build_lifecycle(tmp_path, Limits(max_active_total=1), billing=True)
    await add(
        life,
        make_record(
            "q", settings=CHEAP, state=TaskState.QUEUED, queued_at=1.0, reservation="q:1:lost"
        ),
        tmp_path,
    )
    assert await life.generation.advance_line() == 0
    stored = await life.storage.get_task("q")
    assert stored is not None and stored.state is TaskState.DRAFT
    assert life.api.submitted == []
