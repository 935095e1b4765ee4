"""Credits (BILLING=stars): what a video costs in credits, and the ledger movements of the
task lifecycle — reserved when a task is submitted or queued, spent when its video arrives,
returned when it fails, is refused, times out, is cancelled in line, or ends unknown and is
not retried. Each movement is keyed by the task's attempt, so none can happen twice."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.domain.billing import (
    Account,
    Invoice,
    LedgerTotals,
    Movement,
    Reason,
    account_of,
    credits_for,
    invoice_payload,
    read_payload,
)
from bot.domain.notices import Notice
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
    secret: str = ""  # signs invoice payloads (the bot token: it never leaves the bot)
    star_packs: tuple[int, ...] = (50, 200, 500)
    credits_per_star: int = 1

    def offers(self) -> list[tuple[int, int]]:
        """(Stars, credits) of every pack /buy offers."""
        return [(stars, stars * self.credits_per_star) for stars in self.star_packs]

    def invoice(self, user_id: int, stars: int) -> Invoice | None:
        """The invoice of a pack on offer, with a payload only this bot can make."""
        if stars not in self.star_packs:
            return None
        credits = stars * self.credits_per_star
        payload = invoice_payload(self.secret, user_id, stars, credits)
        return Invoice(user_id, stars, credits, payload)

    def before_payment(
        self, payload: str, user_id: int, currency: str, total: int
    ) -> Invoice | None:
        """Pre-checkout: this bot's untampered invoice, for this user, a pack still on offer,
        at its price; None otherwise."""
        invoice = self.paid_invoice(payload, user_id)
        if invoice is None or currency != "XTR" or total != invoice.stars:
            return None
        return invoice if self.invoice(user_id, invoice.stars) == invoice else None

    def paid_invoice(self, payload: str, user_id: int) -> Invoice | None:
        """A payment already made: this bot's invoice for this user (the offer may have
        changed since; the Stars are taken, so the credits are due)."""
        data = read_payload(self.secret, payload)
        if data is None or data[0] != user_id:
            return None
        return Invoice(*data, payload)

    def price(self, settings: GenerationSettings) -> int:
        return credits_for(self.prices.current.price(settings), self.credits_per_usd)

    async def account(self, user_id: int) -> Account:
        return account_of(await self.storage.ledger(user_id))

    async def totals(self) -> LedgerTotals:
        return LedgerTotals.of(await self.storage.ledger_rows())

    async def welcome(self, user_id: int) -> bool:
        """The one-time free trial; False when there is none or it was given already."""
        if self.welcome_credits <= 0:
            return False
        return await self._apply(
            user_id, self.welcome_credits, Reason.WELCOME, f"welcome:{user_id}"
        )

    async def reserve(self, record: TaskRecord, ref: str) -> bool:
        """Hold the price of the card's settings; False when the balance is too small."""
        held = await self._apply(record.user_id, -self.price(record.settings), Reason.RESERVE, ref)
        if held:
            task_log(log, record).info(
                "reserved %s credits (%s)", self.price(record.settings), ref
            )
        return held

    async def release(self, record: TaskRecord, ref: str | None = None) -> bool:
        ref = ref or record.reservation
        reserve = await self._reserve_of(record.user_id, ref)
        if reserve is None:
            return False
        released = await self._apply(record.user_id, -reserve.amount, Reason.RELEASE, reserve.ref)
        if released:
            task_log(log, record).info("returned %s credits (%s)", -reserve.amount, reserve.ref)
        return released

    async def spend(self, record: TaskRecord, ref: str | None = None) -> bool:
        """The hold becomes the price (the ledger refuses it without a hold, or twice)."""
        ref = ref or record.reservation
        return ref is not None and await self._apply(record.user_id, 0, Reason.SPEND, ref)

    async def settle(self, record: TaskRecord) -> bool:
        """After the task's state changed: spend or return what it holds. False when nothing
        moved (nothing held, settled already, or a state that settles nothing)."""
        if not record.reservation:
            return False
        state = record.state
        charged = state is TaskState.DONE or (
            state in (TaskState.CANCELLED, TaskState.CLOSED)
            and record.submitted_at is not None
            and (state is TaskState.CANCELLED or record.notice is Notice.UNREACHABLE)
        )
        if charged:
            return await self.spend(record)
        if state in (
            TaskState.FAILED,
            TaskState.TIMED_OUT,
            TaskState.DRAFT,
            TaskState.CANCELLED,
            TaskState.CLOSED,
        ):
            return await self.release(record)
        return False

    async def reconcile(self, find_task: Callable[[str], Awaitable[TaskRecord | None]]) -> int:
        """At start-up: settle every reservation a crash left open (a task that failed or
        was delivered just before the process died). Idempotent; returns how many."""
        rows = await self.storage.ledger_rows()
        settled = {m.ref for m in rows if m.reason in (Reason.RELEASE, Reason.SPEND)}
        fixed = 0
        for held in (m for m in rows if m.reason is Reason.RESERVE and m.ref not in settled):
            task_id = held.ref.split(":")[0]
            record = await find_task(task_id)
            if record is None:  # the task is gone: nothing was made for these credits
                fixed += await self.release(_placeholder(held), held.ref)
            elif record.reservation != held.ref:  # a later attempt followed: this one ran
                fixed += await self.spend(record, held.ref)
            else:
                fixed += await self.settle(record)
        if fixed:
            log.info("settled %s reservations left open by a stop", fixed)
        return fixed

    async def purchase(self, user_id: int, charge_id: str, stars: int, credits: int) -> bool:
        """A successful payment: credited once per charge, whatever is replayed."""
        return await self._apply(user_id, credits, Reason.PURCHASE, charge_id, stars=stars)

    async def grant(self, user_id: int, credits: int) -> bool:
        return await self._apply(user_id, credits, Reason.GRANT, f"grant:{uuid.uuid4().hex}")

    async def find_purchase(self, charge_id: str) -> Movement | None:
        rows = await self.storage.ledger_rows()
        return next((m for m in rows if m.key == (Reason.PURCHASE.value, charge_id)), None)

    async def take_back(self, purchase: Movement) -> bool:
        """The credits of a purchase whose Stars go back: refused once they are spent."""
        return await self._apply(
            purchase.user_id, -purchase.amount, Reason.REFUND, purchase.ref, stars=purchase.stars
        )

    async def give_back(self, purchase: Movement) -> bool:
        """Telegram refused the refund: the credits taken back return."""
        return await self._apply(
            purchase.user_id, purchase.amount, Reason.GRANT, f"refund-failed:{purchase.ref}"
        )

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


def _placeholder(held: Movement) -> TaskRecord:
    """Enough of a task to log and release a reservation whose task no longer exists."""
    return TaskRecord(
        id=held.ref.split(":")[0],
        user_id=held.user_id,
        chat_id=held.user_id,
        source_message_id=0,
        image_file="",
        image_width=0,
        image_height=0,
        reservation=held.ref,
    )
