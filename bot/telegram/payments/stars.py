"""Telegram Stars as the bot's payment provider: packs of credits, invoices whose payload the
bot signs, and the checks at pre-checkout and payment. The ledger it feeds
(`bot/lifecycle/billing.py`) knows nothing of Stars but the paid amount it records."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from bot.domain.groups import in_group
from bot.text import is_number

CURRENCY = "XTR"  # Telegram Stars: no payment provider token


@dataclass(frozen=True)
class Invoice:
    user_id: int  # the account credited: the payer's, or a group's wallet (its chat id, < 0)
    stars: int
    credits: int
    payload: str


@dataclass(frozen=True)
class StarsShop:
    """What /buy offers and how its invoices are checked."""

    # Signs invoice payloads (derived from the bot token: it never leaves the bot).
    secret: str = field(repr=False)
    packs: tuple[int, ...] = (50, 200, 500)
    credits_per_star: int = 1

    def offers(self) -> list[tuple[int, int]]:
        """(Stars, credits) of every pack /buy offers."""
        return [(stars, stars * self.credits_per_star) for stars in self.packs]

    def invoice(self, user_id: int, stars: int) -> Invoice | None:
        """The invoice of a pack on offer, with a payload only this bot can make."""
        if stars not in self.packs:
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
        if invoice is None or currency != CURRENCY or total != invoice.stars:
            return None
        return invoice if self.invoice(invoice.user_id, invoice.stars) == invoice else None

    def paid_invoice(self, payload: str, user_id: int) -> Invoice | None:
        """A payment already made: this bot's invoice for this user (the offer may have
        changed since; the Stars are taken, so the credits are due)."""
        data = read_payload(self.secret, payload)
        if data is None or not _may_pay_into(data[0], user_id):
            return None
        return Invoice(*data, payload)

    def paid_before_a_new_key(self, payload: str, user_id: int, stars: int) -> Invoice | None:
        """A payment whose signature this key cannot check (the bot token changed between
        the invoice and the payment): Telegram sends payments only for this bot's own
        invoices, so a payload that reads right, for this user and the Stars paid, is due —
        at no more credits than those Stars buy today (the credits are not signed here)."""
        data = _fields(payload)
        if data is None or not _may_pay_into(data[0], user_id) or data[1] != stars:
            return None
        if data[2] != stars * self.credits_per_star:
            return None
        return Invoice(*data, payload)


def _may_pay_into(account: int, user_id: int) -> bool:
    """Anyone may top up a group's wallet (a negative chat id); a personal account, only its
    owner (an invoice forwarded to someone else credits nobody else)."""
    return account == user_id or in_group(account)


def invoice_payload(secret: str, user_id: int, stars: int, credits: int) -> str:
    body = f"{user_id}:{stars}:{credits}"
    return f"{body}:{_signature(secret, body)}"


def read_payload(secret: str, payload: str) -> tuple[int, int, int] | None:
    """(user, stars, credits) of a payload this bot signed; None when tampered with."""
    body, _, signature = payload.rpartition(":")
    if not hmac.compare_digest(signature.encode(), _signature(secret, body).encode()):
        return None
    return _fields(payload)


def _fields(payload: str) -> tuple[int, int, int] | None:
    """(user, stars, credits) as the payload says them, signed or not."""
    parts = payload.rpartition(":")[0].split(":")
    if len(parts) != 3 or not all(is_number(p) for p in (parts[0].removeprefix("-"), *parts[1:])):
        return None
    user, stars, credits = map(int, parts)
    return user, stars, credits


def _signature(secret: str, body: str) -> str:
    key = hashlib.sha256(("invoice:" + secret).encode()).digest()
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()[:32]
