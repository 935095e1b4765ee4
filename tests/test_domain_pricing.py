"""Prices and poll timing at their edges (bot/domain/pricing.py, poll_schedule.py): what the
operator is told about a bad PRICES, which answers of the pricing endpoint are read, and when
the bot looks at a task again near its start and its end."""

from __future__ import annotations

import pytest

from bot.domain.poll_schedule import (
    FIRST_PROBE,
    MAX_DELAY,
    MIN_DELAY,
    expected_remaining,
    next_poll_delay,
)
from bot.domain.pricing import (
    DEFAULT_PER_SECOND,
    MODEL,
    PriceTable,
    PriceTableError,
    parse_price_table,
    price_table_from_api,
)
from bot.domain.settings import GenerationSettings

FULL = "720p=0.025,720p+audio=0.05,1080p=0.0375,1080p+audio=0.075"


def test_an_unknown_kind_is_priced_as_the_dearest_known_one() -> None:
    table = PriceTable({"720p": 0.01, "1080p": 0.04})
    assert table.per_second_of("4k") == 0.04
    assert table.price(GenerationSettings("720p", 10, True)) == pytest.approx(0.4)


def test_a_marked_up_table_keeps_its_currency() -> None:
    table = parse_price_table(FULL, "EUR").marked_up(1.5)
    assert table.currency == "EUR"
    assert table.per_second_of("720p") == pytest.approx(0.0375)


@pytest.mark.parametrize(
    ("amount", "shown"), [(0, "$0.00"), (0.01, "$0.01"), (0.0044, "$0.004"), (0.0049, "$0.005")]
)
def test_amounts_show_cents_and_tenths_of_a_cent_below_one(amount: float, shown: str) -> None:
    assert PriceTable().format(amount) == shown


def test_a_kind_may_be_free_but_not_below_zero() -> None:
    free = parse_price_table(FULL.replace("720p=0.025", "720p=0"))
    assert free.per_second_of("720p") == 0
    with pytest.raises(PriceTableError, match="'720p=-1'"):
        parse_price_table(FULL.replace("720p=0.025", "720p=-1"))


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("720p", "USD", "'720p' is not kind=price"),
        ("720p=0.02=3", "USD", "'720p=0.02=3' is not kind=price"),
        ("4k=1", "USD", "'4k=1': kinds are 720p, 720p+audio, 1080p, 1080p+audio"),
        ("720p=1,1080p=2", "USD", "prices missing for 1080p+audio, 720p+audio"),
        (FULL, "EURO", "'EURO' is not a three-letter currency code"),
        (FULL, "E1R", "'E1R' is not a three-letter currency code"),
        (FULL, "$", "'$' is not a three-letter currency code"),
    ],
)
def test_the_operator_is_told_what_is_wrong_with_prices(
    text: str, currency: str, message: str
) -> None:
    with pytest.raises(PriceTableError) as caught:
        parse_price_table(text, currency)
    assert str(caught.value) == message


def test_configured_prices_are_in_dollars_unless_told_otherwise() -> None:
    assert parse_price_table(FULL).currency == "USD"
    assert parse_price_table(FULL, "gbp").currency == "GBP"


def _answer(**fields: object) -> dict[str, object]:
    entries = [
        {"resolution": resolution, "audio": audio, **fields}
        for resolution in ("720p", "1080P")
        for audio in (False, True)
    ]
    return {"data": {"model": MODEL, "prices": entries}}


@pytest.mark.parametrize("unit", ["second", "s", "per_second", "Second", "S", "PER_SECOND"])
def test_a_price_per_unit_of_time_is_read_whatever_the_unit_is_called(unit: str) -> None:
    table = price_table_from_api(_answer(price=0.03, unit=unit), MODEL)
    assert table == PriceTable(dict.fromkeys(DEFAULT_PER_SECOND, 0.03), "USD")


def test_a_price_per_second_stands_whatever_else_the_entry_says() -> None:
    answer = _answer(price_per_second=0.02, unit="second", price=0.1)
    assert price_table_from_api(answer, MODEL) == PriceTable(
        dict.fromkeys(DEFAULT_PER_SECOND, 0.02), "USD"
    )
    per_video = _answer(price=0.1, unit="video")
    assert price_table_from_api(per_video, MODEL) is None


@pytest.mark.parametrize("price", ["0.03", True, None, -0.01, [0.03]])
def test_a_price_that_is_no_positive_number_is_not_read(price: object) -> None:
    assert price_table_from_api(_answer(price_per_second=price), MODEL) is None


def test_the_pricing_endpoints_currency_is_kept() -> None:
    table = price_table_from_api(_answer(price_per_second=0.02, currency="eur"), MODEL)
    assert table is not None and table.currency == "EUR"
    assert price_table_from_api(_answer(price_per_second=0.02), MODEL) == PriceTable(
        dict.fromkeys(DEFAULT_PER_SECOND, 0.02), "USD"
    )


def test_a_task_barely_started_is_looked_at_again_after_the_longest_gap() -> None:
    assert expected_remaining(10, 1, None) == pytest.approx(990)
    assert next_poll_delay(10, 1, None) == MAX_DELAY


def test_a_bar_at_100_percent_not_yet_completed_is_looked_at_again_at_once() -> None:
    assert expected_remaining(30, 100, None) == 0
    assert expected_remaining(30, 100, 90) == 0
    assert next_poll_delay(30, 100, None) == MIN_DELAY
    assert next_poll_delay(30, 100, 90) == MIN_DELAY


def test_progress_reported_at_the_moment_of_submission_gives_no_rate_yet() -> None:
    assert expected_remaining(0, 50, None) is None
    assert next_poll_delay(0, 50, None) == FIRST_PROBE
    assert expected_remaining(0, 50, 40) == 40
    # half a second in and half done: the end is near
    assert expected_remaining(0.5, 50, None) == pytest.approx(0.5)
    assert next_poll_delay(0.5, 50, None) == MIN_DELAY
