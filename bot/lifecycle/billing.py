"""Credits (BILLING=stars), whatever the payment provider: what a video costs in credits, and
the ledger movements of purchases, refunds and the task lifecycle — held when a task is
submitted or queued, spent when the provider made the video, returned when it did not. Each
movement is keyed by the task's attempt or the payment's charge, so none can happen twice."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.domain.billing import (
    Account,
    LedgerTotals,
    Movement,
    Reason,
    account_of,
    credits_for,
    external_refund,
    next_refund_ref,
    open_holds,
    open_refund,
    spent_by_task,
)
from bot.domain.records import TaskRecord, TaskState
from bot.domain.settings import GenerationSettings
from bot.lifecycle.prices import Prices
from bot.lifecycle.tasklog import task_log
from bot.storage import Storage

log = logging.getLogger(__name__)


@dataclass
class Billing:
    storage: Storage
    prices: Prices
    credits_per_usd: int = 100
    welcome_credits: int = 0
    clock: Callable[[], float] = time.time

    def price(self, settings: GenerationSettings) -> int:
        return credits_for(self.prices.charged.price(settings), self.credits_per_usd)

    async def account(self, user_id: int) -> Account:
        return account_of(await self.storage.ledger(user_id))

    async def totals(self) -> LedgerTotals:
        return LedgerTotals.of(await self.storage.ledger_rows())

    async def spent_by_task(self, user_id: int) -> dict[str, int]:
        """The credits each of the user's tasks spent, from one read of their ledger."""
        return spent_by_task(await self.storage.ledger(user_id))

    async def welcome(self, user_id: int) -> bool:
        """The one-time free trial; False when there is none or it was given already."""
        if self.welcome_credits <= 0:
            return False
        return await self._apply(
            user_id, self.welcome_credits, Reason.WELCOME, f"welcome:{user_id}"
        )

    async def reserve(self, record: TaskRecord, ref: str) -> bool:
        """Hold the price of the card's settings on the account that pays (the user's, or a
        group's wallet: `record.account`); False when its balance is too small."""
        held = await self._apply(record.account, -self.price(record.settings), Reason.RESERVE, ref)
        if held:
            task_log(log, record).info(
                "reserved %s credits (%s)", self.price(record.settings), ref
            )
        return held

    async def release(self, record: TaskRecord, ref: str | None = None) -> bool:
        ref = ref or record.reservation
        reserve = await self._reserve_of(record.account, ref)
        if reserve is None:
            return False
        released = await self._apply(record.account, -reserve.amount, Reason.RELEASE, reserve.ref)
        if released:
            task_log(log, record).info("returned %s credits (%s)", -reserve.amount, reserve.ref)
        return released

    async def spend(self, record: TaskRecord, ref: str | None = None) -> bool:
        """The hold becomes the price (the ledger refuses it without a hold, or twice)."""
        ref = ref or record.reservation
        return ref is not None and await self._apply(record.account, 0, Reason.SPEND, ref)

    async def holds(self, record: TaskRecord, ref: str) -> bool:
        """Whether `ref` is a hold of this user that is still open."""
        return any(m.ref == ref for m in open_holds(await self.storage.ledger(record.account)))

    async def settle(self, record: TaskRecord) -> bool:
        """After the task's state changed: spend or return what it holds. False when nothing
        moved (nothing held, settled already, or a state that settles nothing).

        What the provider billed is spent: a video delivered, and one the API accepted that
        ended without a video by the user's doing (stopped waiting, bot blocked, chat gone).
        Only outcomes the provider did not bill (refused, failed, timed out, never submitted)
        return the credits."""
        if not record.reservation:
            return False
        if billed(record):
            return await self.spend(record)
        if record.state in _RETURNED_IN:
            return await self.release(record)
        return False

    async def before_retry(self, record: TaskRecord) -> None:
        """ "Try again" on an ended attempt: settle its hold first (an unknown outcome counts
        as made), so every hold is settled before the task carries the next one."""
        if not record.reservation:
            return
        if record.state is TaskState.UNKNOWN:
            await self.spend(record)
        else:
            await self.settle(record)

    async def reconcile(
        self,
        find_task: Callable[[str], Awaitable[TaskRecord | None]],
        *,
        grace: float = 60.0,
    ) -> int:
        """Settle every hold a crash left open (a task that failed or was delivered just
        before the process died), by the state of the task that carries it. A hold no task
        carries was never tied to a video that ran: it goes back, never spent (and one
        younger than `grace` is left alone: a claim on another replica may be writing it).
        Idempotent; returns how many moved."""
        now, fixed = self.clock(), 0
        for held in open_holds(await self.storage.ledger_rows()):
            fixed += await self._settle_left_open(
                held, await find_task(held.ref.split(":")[0]), now - held.at >= grace
            )
        if fixed:
            log.info("settled %s reservations left open by a stop", fixed)
        return fixed

    async def _settle_left_open(
        self, held: Movement, record: TaskRecord | None, old_enough: bool
    ) -> bool:
        if record is not None and record.reservation == held.ref:
            return await self.settle(record)
        if not old_enough:
            return False
        # No task carries it: never tied to a video that ran.
        released = await self._apply(held.user_id, -held.amount, Reason.RELEASE, held.ref)
        if released:
            log.info("user %s: returned %s credits (%s)", held.user_id, -held.amount, held.ref)
        return released

    async def purchase(self, user_id: int, charge_id: str, stars: int, credits: int) -> bool:
        """A successful payment: credited once per charge, whatever is replayed."""
        return await self._apply(user_id, credits, Reason.PURCHASE, charge_id, stars=stars)

    async def grant(self, user_id: int, credits: int, ref: str | None = None) -> bool:
        """An admin's gift (or, negative, taking back); `ref` names the order it carries out,
        so the same order replayed grants once."""
        return await self._apply(
            user_id, credits, Reason.GRANT, ref or f"grant:{uuid.uuid4().hex}"
        )

    async def applied(self, user_id: int, reason: Reason, ref: str) -> bool:
        rows = await self.storage.ledger(user_id)
        return any(m.key == (reason.value, ref) for m in rows)

    async def find_purchase(self, charge_id: str) -> Movement | None:
        rows = await self.storage.ledger_rows()
        return next((m for m in rows if m.key == (Reason.PURCHASE.value, charge_id)), None)

    async def open_refund(self, purchase: Movement) -> Movement | None:
        """The refund of this purchase that is not undone: its credits are taken back and
        Telegram was asked (or is being asked) to return the Stars."""
        return open_refund(await self.storage.ledger(purchase.user_id), purchase.ref)

    async def take_back(self, purchase: Movement) -> Movement | None:
        """The credits of a purchase whose Stars go back, as a new refund (its row); None once
        they are spent, while another refund of it is open, or once Telegram reported it."""
        rows = await self.storage.ledger(purchase.user_id)
        refund = Movement(
            purchase.user_id,
            -purchase.amount,
            Reason.REFUND,
            next_refund_ref(rows, purchase.ref),
            self.clock(),
            purchase.stars,
        )
        return refund if await self.storage.ledger_apply(refund) else None

    async def undo_refund(self, refund: Movement) -> bool:
        """Telegram refused the refund: its credits return, the Stars count as kept, and a
        later refund of the charge may try again."""
        return await self._apply(
            refund.user_id, -refund.amount, Reason.REFUND_UNDONE, refund.ref, stars=refund.stars
        )

    async def refunded_outside(self, user_id: int, charge_id: str) -> Movement | None:
        """Telegram reports this charge refunded (a refunded_payment update). A refund the bot
        made already took its credits back; otherwise the Stars are gone and what is still
        free of the purchase follows them (never below zero). The row; None when nothing
        moved (not this user's purchase, a refund of the bot's, or a replayed update)."""
        for _ in range(_TRIES):  # a reservation between reading and writing: read again
            taken = external_refund(await self.storage.ledger(user_id), charge_id, self.clock())
            if taken is None:
                return None
            if await self.storage.ledger_apply(taken):
                return taken
        return None

    async def _reserve_of(self, user_id: int, ref: str | None) -> Movement | None:
        if ref is None:
            return None
        rows = await self.storage.ledger(user_id)
        return next((m for m in rows if m.key == (Reason.RESERVE.value, ref)), None)

    async def _apply(
        self, user_id: int, amount: int, reason: Reason, ref: str, *, stars: int = 0
    ) -> bool:
        return await self.storage.ledger_apply(
            Movement(user_id, amount, reason, ref, self.clock(), stars)
        )


# How many times a refund Telegram reported is tried while the balance keeps moving.
_TRIES = 5

# States whose hold goes back when the provider did not bill (see `billed` for the others).
_RETURNED_IN = frozenset(
    {
        TaskState.FAILED,
        TaskState.TIMED_OUT,
        TaskState.DRAFT,
        TaskState.CANCELLED,
        TaskState.CLOSED,
    }
)


def billed(record: TaskRecord) -> bool:
    """The provider made (and charged for) this attempt: delivered, or accepted and then
    ended by the user (stopped waiting, blocked the bot, left the chat)."""
    return record.state is TaskState.DONE or (
        record.state in (TaskState.CANCELLED, TaskState.CLOSED) and record.submitted_at is not None
    )
