"""The price table: configuration, the provider's answer, and what the card shows."""

from __future__ import annotations

import pytest

from bot.domain.pricing import (
    PriceTable,
    PriceTableError,
    parse_price_table,
    price_table_from_api,
)
from bot.domain.settings import GenerationSettings

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
    assert PriceTable(table.per_second, "XTS").format(2) == "2.00 XTS"
    with pytest.raises(PriceTableError, match="missing for 1080p"):
        parse_price_table("720p=1,720p+audio=2,1080p+audio=4")
    with pytest.raises(PriceTableError):
        parse_price_table("720p=cheap,720p+audio=2,1080p=3,1080p+audio=4")
    with pytest.raises(PriceTableError):
        parse_price_table("4k=1,720p=1,720p+audio=2,1080p=3,1080p+audio=4")


def test_the_providers_answer_is_used_only_when_it_prices_every_kind() -> None:
    table = price_table_from_api(PROVIDER_ANSWER)
    assert table == PriceTable(
        {"720p": 0.02, "720p+audio": 0.04, "1080p": 0.03, "1080p+audio": 0.06}, "USD"
    )
    partial = {"data": {"prices": PROVIDER_ANSWER["data"]["prices"][:3]}}  # type: ignore[index]
    assert price_table_from_api(partial) is None
    assert price_table_from_api({"code": 200, "data": {"billing": "per_request"}}) is None
    assert price_table_from_api("<html>") is None


def test_stats_price_the_seconds_with_the_table_in_use() -> None:
    from collections import Counter

    from bot.domain.usage import Stats

    stats = Stats(charged_seconds=Counter({"720p": 10, "1080p+audio": 4}), legacy_usd=1.0)
    assert stats.spend(PriceTable()) == pytest.approx(0.25 + 0.3 + 1.0)
    assert Stats.from_dict({"estimated_usd": 2.5}).legacy_usd == 2.5  # an older release's total
