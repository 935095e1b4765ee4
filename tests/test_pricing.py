"""The price table: configuration, the provider's answer, and what the card shows."""

from __future__ import annotations

import pytest

from bot.domain.pricing import (
    MODEL,
    PriceTable,
    PriceTableError,
    parse_price_table,
    price_table_from_api,
)
from bot.domain.settings import GenerationSettings
from bot.lifecycle.billing import Billing
from bot.lifecycle.prices import Prices
from bot.storage.memory import MemoryStorage

PROVIDER_ANSWER = {
    "code": 200,
    "data": {
        "model": "wan2.6-i2v-flash",
        "prices": [
            {"resolution": "720p", "audio": False, "price_per_second": 0.02, "currency": "usd"},
            {"resolution": "720p", "audio": True, "price_per_second": 0.04, "currency": "usd"},
            {"resolution": "1080p", "audio": False, "price": 0.03, "unit": "second"},
            {"resolution": "1080p", "audio": True, "price": 0.06, "unit": "second"},
        ],
    },
}


def test_defaults_follow_the_published_reseller_prices() -> None:
    prices = PriceTable()
    assert prices.price(GenerationSettings("720p", 10, False)) == pytest.approx(0.25)
    assert prices.price(GenerationSettings("1080p", 10, True)) == pytest.approx(0.75)
    assert prices.format(0.375) == "$0.38" and prices.format(0.004) == "$0.004"


def test_a_configured_table_needs_every_kind_and_a_currency_code() -> None:
    table = parse_price_table("720p=1,720p+audio=2,1080p=3,1080p+audio=4", "eur")
    assert table.price(GenerationSettings("1080p", 5, True)) == 20 and table.format(2) == "€2.00"
    assert PriceTable(table.per_second, "XTS").format(2) == "XTS\u00a02.00"  # CLDR's en
    with pytest.raises(PriceTableError, match="missing for 1080p"):
        parse_price_table("720p=1,720p+audio=2,1080p+audio=4")
    with pytest.raises(PriceTableError):
        parse_price_table("720p=cheap,720p+audio=2,1080p=3,1080p+audio=4")
    with pytest.raises(PriceTableError):
        parse_price_table("4k=1,720p=1,720p+audio=2,1080p=3,1080p+audio=4")


def test_the_providers_answer_is_used_only_when_it_prices_every_kind() -> None:
    table = price_table_from_api(PROVIDER_ANSWER, MODEL)
    assert table == PriceTable(
        {"720p": 0.02, "720p+audio": 0.04, "1080p": 0.03, "1080p+audio": 0.06}, "USD"
    )
    partial = {"data": {"prices": PROVIDER_ANSWER["data"]["prices"][:3]}}  # type: ignore[index]
    assert price_table_from_api(partial, MODEL) is None
    assert price_table_from_api({"code": 200, "data": {"billing": "per_request"}}, MODEL) is None
    assert price_table_from_api("<html>", MODEL) is None


def answer_with(**changes: object) -> dict[str, object]:
    prices = [dict(entry, **changes) for entry in PROVIDER_ANSWER["data"]["prices"]]  # type: ignore[index]
    return {"data": {"prices": prices}}


def test_a_price_of_0_another_models_entries_or_mixed_currencies_are_never_used() -> None:
    assert price_table_from_api(answer_with(price_per_second=0, price=0), MODEL) is None
    assert price_table_from_api(answer_with(model="wan2.2-cheap"), MODEL) is None
    mixed = answer_with()
    mixed["data"]["prices"][0]["currency"] = "eur"  # type: ignore[index]
    assert price_table_from_api(mixed, MODEL) is None
    assert price_table_from_api(answer_with(model=MODEL), MODEL) is not None


class FixedPricing:
    def __init__(self, answer: object) -> None:
        self.answer = answer

    async def get_pricing(self) -> object:
        return self.answer


async def test_provider_prices_are_the_cost_basis_the_markup_applies_to() -> None:
    configured = parse_price_table("720p=0.05,720p+audio=0.1,1080p=0.075,1080p+audio=0.15")
    prices = Prices(configured, markup=2.0)
    card = GenerationSettings("720p", 10, False)
    assert prices.charged.price(card) == pytest.approx(1.0)  # configured cost x 2
    await prices.refresh(FixedPricing(PROVIDER_ANSWER))
    assert prices.current.price(card) == pytest.approx(0.2)  # the provider's cost...
    assert prices.charged.price(card) == pytest.approx(0.4)  # ...with the markup kept
    credits = Billing(MemoryStorage(), prices, credits_per_usd=100)
    assert credits.price(card) == 40


async def test_a_provider_answer_in_another_currency_or_at_0_leaves_the_configured_prices() -> (
    None
):
    configured = parse_price_table("720p=1,720p+audio=2,1080p=3,1080p+audio=4", "EUR")
    prices = Prices(configured)
    await prices.refresh(FixedPricing(PROVIDER_ANSWER))  # in USD
    assert prices.current == configured
    usd = Prices(PriceTable())
    await usd.refresh(FixedPricing(answer_with(price_per_second=0, price=0)))
    assert usd.current == PriceTable()


def test_stats_price_the_seconds_with_the_table_in_use() -> None:
    from collections import Counter

    from bot.domain.usage import Stats

    stats = Stats(charged_seconds=Counter({"720p": 10, "1080p+audio": 4}), legacy_usd=1.0)
    assert stats.spend(PriceTable()) == pytest.approx(0.25 + 0.3 + 1.0)
    assert Stats.from_dict({"estimated_usd": 2.5}).legacy_usd == 2.5  # an older release's total


def test_an_arabic_price_reads_as_one_left_to_right_amount() -> None:
    """CLDR's Arabic pattern opens with a right-to-left mark, which inside the translator's
    isolate showed "$US 0.25": the amount is a left-to-right isolate of its own, no mark."""
    from bot.domain.pricing import PriceTable

    assert PriceTable().format(0.25, "ar") == "\u20660.25\u00a0US$\u2069"
    assert PriceTable().format(0.25, "en") == "$0.25"  # left-to-right languages: as it was
