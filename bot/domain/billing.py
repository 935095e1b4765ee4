"""Credits bought with Telegram Stars, as a ledger: every movement is a row, the balance is the
sum of the rows, and the rules below decide which rows may be added. Storage applies a row
only when `admissible` says so, atomically, so a charge cannot be counted twice and a
reservation cannot be both spent and returned, whatever replays or restarts happen."""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Iterable
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
    REFUND = "refund"  # -the credits of a purchase whose Stars went back; ref: charge id


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
    settled = {m.ref for m in mine if m.reason in (Reason.RELEASE, Reason.SPEND)}
    reserved = sum(-m.amount for m in mine if m.reason is Reason.RESERVE and m.ref not in settled)
    newest = sorted(mine, key=lambda m: m.at, reverse=True)[:recent]
    return Account(sum(m.amount for m in mine), reserved, newest)


def admissible(existing: list[Movement], movement: Movement) -> bool:
    """Whether `movement` may join the ledger of its user, whose movements are `existing`
    (and no other user's row has its key: the storage checks that globally)."""
    keys = {m.key for m in existing}
    if movement.key in keys:
        return False  # the same reason for the same task or charge: never twice
    balance = sum(m.amount for m in existing)
    reason, ref = movement.reason, movement.ref
    if reason in (Reason.RELEASE, Reason.SPEND):
        reserve = next((m for m in existing if m.key == (Reason.RESERVE.value, ref)), None)
        other = Reason.SPEND if reason is Reason.RELEASE else Reason.RELEASE
        if reserve is None or (other.value, ref) in keys:
            return False  # nothing held, or already settled the other way
        return movement.amount == (-reserve.amount if reason is Reason.RELEASE else 0)
    if reason is Reason.REFUND:
        purchase = next((m for m in existing if m.key == (Reason.PURCHASE.value, ref)), None)
        # Only credits still unspent can go back with the Stars.
        return (
            purchase is not None
            and movement.amount == -purchase.amount
            and (balance >= purchase.amount)
        )
    if movement.amount < 0:
        return balance + movement.amount >= 0  # a reservation, or an admin taking back
    return True


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
        reserves = {m.ref: -m.amount for m in rows if m.reason is Reason.RESERVE}
        spent = {m.ref for m in rows if m.reason is Reason.SPEND}
        released = {m.ref for m in rows if m.reason is Reason.RELEASE}
        held = sum(c for ref, c in reserves.items() if ref not in spent | released)
        return cls(
            stars_received=sum(m.stars for m in rows if m.reason is Reason.PURCHASE),
            stars_refunded=sum(m.stars for m in rows if m.reason is Reason.REFUND),
            credits_spent=sum(reserves[ref] for ref in spent if ref in reserves),
            credits_returned=sum(m.amount for m in rows if m.reason is Reason.RELEASE),
            outstanding=sum(m.amount for m in rows) + held,
        )


def credits_for(price: float, credits_per_unit: int) -> int:
    """A price in the table's currency as whole credits, never rounded in the user's favour
    below one credit."""
    return max(1, math.ceil(round(price * credits_per_unit, 6)))


# -- invoices: a payload the bot can verify later (pre-checkout, successful payment) ----------


@dataclass(frozen=True)
class Invoice:
    user_id: int
    stars: int
    credits: int
    payload: str


def invoice_payload(secret: str, user_id: int, stars: int, credits: int) -> str:
    body = f"{user_id}:{stars}:{credits}"
    return f"{body}:{_signature(secret, body)}"


def read_payload(secret: str, payload: str) -> tuple[int, int, int] | None:
    """(user, stars, credits) of a payload this bot signed; None when tampered with."""
    body, _, signature = payload.rpartition(":")
    parts = body.split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    if not hmac.compare_digest(signature, _signature(secret, body)):
        return None
    user, stars, credits = map(int, parts)
    return user, stars, credits


def _signature(secret: str, body: str) -> str:
    key = hashlib.sha256(("invoice:" + secret).encode()).digest()
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()[:32]
