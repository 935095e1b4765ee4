"""Credits, as a ledger (bought through a payment provider: Telegram Stars today, see
`bot/telegram/payments/`): every movement is a row, the balance is the
sum of the rows, and the rules below decide which rows may be added. Storage applies a row
only when `admissible` says so, atomically, so a charge cannot be counted twice and a
reservation cannot be both spent and returned, whatever replays or restarts happen."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Reason(StrEnum):
    PURCHASE = "purchase"  # +credits for Stars; ref: telegram_payment_charge_id
    WELCOME = "welcome"  # +WELCOME_CREDITS once; ref: "welcome:<user>"
    GRANT = "grant"  # +/- by an admin; ref: unique
    RESERVE = "reserve"  # -price when a task is submitted or queued; ref: "<task>:<attempt>:…"
    RELEASE = "release"  # +the reservation back (failed, refused, cancelled in line…)
    SPEND = "spend"  # 0: the reservation became the price of a delivered video
    REFUND = "refund"  # -the credits of a purchase whose Stars go back; ref: see refund_ref
    REFUND_UNDONE = "refund_undone"  # +a REFUND's credits: Telegram refused it; ref: its ref
    # -what is still free of a purchase Telegram refunded without the bot asking (a
    # refunded_payment update): the Stars are gone already; ref: charge id
    EXTERNAL_REFUND = "external_refund"


@dataclass(frozen=True)
class Movement:
    user_id: int
    amount: int
    reason: Reason
    ref: str
    at: float = 0.0
    stars: int = 0  # Stars paid (a purchase) or returned (a refund)

    @property
    def key(self) -> tuple[str, str]:
        return (self.reason.value, self.ref)

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "amount": self.amount,
            "reason": self.reason.value,
            "ref": self.ref,
            "at": self.at,
            "stars": self.stars,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Movement:
        return cls(
            int(data["user_id"]),
            int(data["amount"]),
            Reason(data["reason"]),
            str(data["ref"]),
            float(data.get("at", 0.0)),
            int(data.get("stars", 0)),
        )


@dataclass(frozen=True)
class Account:
    balance: int = 0  # credits free to spend (reservations already taken out)
    reserved: int = 0  # credits held by videos being made
    recent: list[Movement] = field(default_factory=list)  # newest first


def account_of(movements: Iterable[Movement], recent: int = 10) -> Account:
    mine = list(movements)
    reserved = sum(-m.amount for m in open_holds(mine))
    newest = sorted(mine, key=lambda m: m.at, reverse=True)[:recent]
    return Account(_balance(mine), reserved, newest)


def open_holds(rows: Iterable[Movement]) -> list[Movement]:
    """The holds neither spent nor returned."""
    rows = list(rows)
    settled = {m.ref for m in rows if m.reason in (Reason.RELEASE, Reason.SPEND)}
    return [m for m in rows if m.reason is Reason.RESERVE and m.ref not in settled]


def external_refund(existing: list[Movement], charge_id: str, at: float) -> Movement | None:
    """The row that follows a refund Telegram made without the bot: what is still free of
    the purchase goes with the Stars (never more than the balance). None when there is no
    such purchase of this user, or it is refunded already."""
    purchase = _purchase(existing, charge_id)
    if purchase is None or refunded(existing, charge_id):
        return None
    free = min(purchase.amount, max(_balance(existing), 0))
    return Movement(purchase.user_id, -free, Reason.EXTERNAL_REFUND, charge_id, at, purchase.stars)


def admissible(existing: list[Movement], movement: Movement) -> bool:
    """Whether `movement` may join the ledger of its user, whose movements are `existing`
    (and no other user's row has its key: the storage checks that globally)."""
    if movement.key in {m.key for m in existing}:
        return False  # the same reason for the same task or charge: never twice
    return _RULES.get(movement.reason, _keeps_the_balance)(existing, movement)


def _balance(existing: Iterable[Movement]) -> int:
    return sum(m.amount for m in existing)


def _settles_its_hold(existing: list[Movement], movement: Movement) -> bool:
    """RELEASE gives back exactly what was held; SPEND (0) makes it the price: one or the
    other, once."""
    reserve = next((m for m in existing if m.key == (Reason.RESERVE.value, movement.ref)), None)
    other = Reason.SPEND if movement.reason is Reason.RELEASE else Reason.RELEASE
    if reserve is None or any(m.key == (other.value, movement.ref) for m in existing):
        return False  # nothing held, or already settled the other way
    return movement.amount == (-reserve.amount if movement.reason is Reason.RELEASE else 0)


def _refunds_unspent_credits(existing: list[Movement], movement: Movement) -> bool:
    """Only credits still unspent can go back with the Stars, and only one refund of a
    charge at a time: another attempt comes after the last one was undone."""
    charge = refund_charge(movement.ref)
    purchase = _purchase(existing, charge)
    if purchase is None or refunded(existing, charge):
        return False
    return (
        movement.ref == next_refund_ref(existing, charge)
        and (movement.amount, movement.stars) == (-purchase.amount, purchase.stars)
        and _balance(existing) >= purchase.amount
    )


def _undoes_a_refund(existing: list[Movement], movement: Movement) -> bool:
    refund = next((m for m in existing if m.key == (Reason.REFUND.value, movement.ref)), None)
    return (
        refund is not None
        and movement.ref not in _undone(existing)
        and (movement.amount, movement.stars) == (-refund.amount, refund.stars)
    )


def _follows_an_external_refund(existing: list[Movement], movement: Movement) -> bool:
    """The Stars went back already: whatever of the purchase is still free follows them,
    never more than the balance (what is spent or held stays spent or held)."""
    due = external_refund(existing, movement.ref, movement.at)
    return due is not None and (movement.amount, movement.stars) == (due.amount, due.stars)


def _keeps_the_balance(existing: list[Movement], movement: Movement) -> bool:
    """Anything else (a purchase, a gift, a hold, an admin's grant) may add freely and take
    only what the balance has."""
    return movement.amount >= 0 or _balance(existing) + movement.amount >= 0


_RULES: dict[Reason, Callable[[list[Movement], Movement], bool]] = {
    Reason.RELEASE: _settles_its_hold,
    Reason.SPEND: _settles_its_hold,
    Reason.REFUND: _refunds_unspent_credits,
    Reason.REFUND_UNDONE: _undoes_a_refund,
    Reason.EXTERNAL_REFUND: _follows_an_external_refund,
}


def refund_ref(charge_id: str, attempt: int) -> str:
    """The ref of the `attempt`-th REFUND of a charge: the charge id for the first (as before
    refunds could be undone), "<charge id>#<attempt>" for the next ones."""
    return charge_id if attempt <= 1 else f"{charge_id}#{attempt}"


def next_refund_ref(existing: Iterable[Movement], charge_id: str) -> str:
    """The ref the next REFUND of this charge takes."""
    return refund_ref(charge_id, len(_refunds(existing, charge_id)) + 1)


def refund_charge(ref: str) -> str:
    """The charge id of a REFUND's ref (Telegram's charge ids have no "#")."""
    charge, hash_sign, attempt = ref.rpartition("#")
    return (
        charge
        if hash_sign and attempt.isascii() and attempt.isdigit() and int(attempt) > 1
        else ref
    )


def open_refund(existing: Iterable[Movement], charge_id: str) -> Movement | None:
    """The REFUND of this charge that is not undone: sent to Telegram, or pending after an
    unclear answer (a timeout)."""
    rows = list(existing)
    undone = _undone(rows)
    return next((m for m in _refunds(rows, charge_id) if m.ref not in undone), None)


def refunded(existing: Iterable[Movement], charge_id: str) -> bool:
    """Whether this charge's Stars went back, or are going back: an open REFUND, or one
    Telegram reported."""
    rows = list(existing)
    external = (Reason.EXTERNAL_REFUND.value, charge_id)
    return open_refund(rows, charge_id) is not None or any(m.key == external for m in rows)


def _purchase(existing: Iterable[Movement], charge_id: str) -> Movement | None:
    return next((m for m in existing if m.key == (Reason.PURCHASE.value, charge_id)), None)


def _refunds(existing: Iterable[Movement], charge_id: str) -> list[Movement]:
    return [m for m in existing if m.reason is Reason.REFUND and refund_charge(m.ref) == charge_id]


# Before REFUND_UNDONE, a refused refund gave its credits back with a GRANT of this ref.
_LEGACY_UNDO = "refund-failed:"


def _undone(existing: Iterable[Movement]) -> set[str]:
    """The refs of the REFUNDs that were undone (Telegram refused them)."""
    return {
        m.ref if m.reason is Reason.REFUND_UNDONE else m.ref.removeprefix(_LEGACY_UNDO)
        for m in existing
        if m.reason is Reason.REFUND_UNDONE
        or (m.reason is Reason.GRANT and m.ref.startswith(_LEGACY_UNDO))
    }


@dataclass(frozen=True)
class LedgerTotals:
    stars_received: int = 0
    stars_refunded: int = 0
    credits_spent: int = 0
    credits_returned: int = 0  # reservations given back (failures, cancels)
    outstanding: int = 0  # everyone's balances plus what is reserved

    @classmethod
    def of(cls, movements: Iterable[Movement]) -> LedgerTotals:
        rows = list(movements)
        holds = _holds(rows)
        return cls(
            stars_received=sum(m.stars for m in _of(rows, Reason.PURCHASE)),
            stars_refunded=_stars_refunded(rows),
            credits_spent=sum(held for held, end in holds.values() if end is Reason.SPEND),
            credits_returned=sum(m.amount for m in _of(rows, Reason.RELEASE)),
            outstanding=_balance(rows) + sum(held for held, end in holds.values() if end is None),
        )


def _of(rows: Iterable[Movement], reason: Reason) -> Iterator[Movement]:
    return (m for m in rows if m.reason is reason)


def hold_ref(task_id: str, attempt: int, nonce: str) -> str:
    """One ref per hold of a task's attempt: a card back from the line may be pressed again."""
    return f"{task_id}:{attempt}:{nonce}"


def spent_by_task(rows: list[Movement]) -> dict[str, int]:
    """The credits each task's attempts spent (what /history shows with BILLING=stars)."""
    spent: Counter[str] = Counter()
    for ref, (held, end) in _holds(rows).items():
        if end is Reason.SPEND:
            spent[ref.partition(":")[0]] += held
    return dict(spent)


def _holds(rows: list[Movement]) -> dict[str, tuple[int, Reason | None]]:
    """Every hold's credits and how it ended: SPEND, RELEASE, or None while it is held."""
    ends = {m.ref: m.reason for m in rows if m.reason in (Reason.SPEND, Reason.RELEASE)}
    return {m.ref: (-m.amount, ends.get(m.ref)) for m in _of(rows, Reason.RESERVE)}


def _stars_refunded(rows: list[Movement]) -> int:
    """Refunds that went through (not undone because Telegram refused them), and those
    Telegram made without the bot."""
    undone = _undone(rows)
    refunds = sum(m.stars for m in _of(rows, Reason.REFUND) if m.ref not in undone)
    return refunds + sum(m.stars for m in _of(rows, Reason.EXTERNAL_REFUND))


def credits_for(price: float, credits_per_unit: int) -> int:
    """A price in the table's currency as whole credits, never rounded in the user's favour
    below one credit."""
    return max(1, math.ceil(round(price * credits_per_unit, 6)))
