"""Telegram Stars invoices (bot/telegram/payments/stars.py): a payload only this bot can make,
checked at pre-checkout against the offer, and the signing secret kept out of reprs."""

from __future__ import annotations

from bot.telegram.payments.stars import StarsShop, invoice_payload, read_payload

SHOP = StarsShop("bot-token-secret", packs=(50, 200), credits_per_star=2)


def test_an_invoice_is_offered_for_a_pack_and_read_back_only_by_this_bot() -> None:
    invoice = SHOP.invoice(7, 50)
    assert invoice is not None and (invoice.stars, invoice.credits) == (50, 100)
    assert SHOP.invoice(7, 51) is None  # not a pack on offer
    assert SHOP.before_payment(invoice.payload, 7, "XTR", 50) == invoice
    assert SHOP.before_payment(invoice.payload, 8, "XTR", 50) is None  # someone else's
    assert SHOP.before_payment(invoice.payload, 7, "XTR", 49) is None  # a wrong amount
    assert SHOP.before_payment(invoice.payload, 7, "USD", 50) is None
    other = StarsShop("another-token")
    assert other.paid_invoice(invoice.payload, 7) is None  # another bot's key


def test_a_tampered_payload_is_refused() -> None:
    payload = invoice_payload("k", 7, 50, 100)
    body, _, signature = payload.rpartition(":")
    assert read_payload("k", payload) == (7, 50, 100)
    assert read_payload("k", body.replace(":100", ":5000") + ":" + signature) is None
    assert read_payload("k", "7:50:100:" + "é" * 32) is None  # non-ASCII: no TypeError
    assert read_payload("k", "garbage") is None


def test_a_pack_no_longer_offered_is_still_credited_once_paid() -> None:
    invoice = StarsShop("k", packs=(50,)).invoice(7, 50)
    assert invoice is not None
    changed = StarsShop("k", packs=(200,))
    assert changed.before_payment(invoice.payload, 7, "XTR", 50) is None
    assert changed.paid_invoice(invoice.payload, 7) == invoice


def test_the_secret_never_shows_in_a_repr() -> None:
    assert "bot-token-secret" not in repr(SHOP)


def test_a_payload_checked_without_its_key_never_claims_more_credits_than_its_stars_buy() -> None:
    """After a token change the signature cannot be checked: the credits must match the
    Stars paid, so a payload inflated by whoever held the old token buys nothing."""
    shop = StarsShop("new-token", packs=(50,), credits_per_star=2)
    honest = invoice_payload("old-token", 7, 50, 100)
    inflated = invoice_payload("old-token", 7, 50, 100_000)
    assert shop.paid_invoice(honest, 7) is None  # another key
    paid = shop.paid_before_a_new_key(honest, 7, 50)
    assert paid is not None and paid.credits == 100
    assert shop.paid_before_a_new_key(inflated, 7, 50) is None
    assert shop.paid_before_a_new_key(honest, 7, 49) is None  # not the Stars paid
    assert shop.paid_before_a_new_key(honest, 8, 50) is None  # someone else's
