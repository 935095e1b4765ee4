"""What a video costs: one price table (per second, by resolution, with or without audio) for
the card's estimate and for /stats.

No price is published for the model; the defaults are resellers' per-second prices
(shared/api/README.md). `PRICES` in the configuration replaces them, and the provider's pricing
endpoint, when it answers with a full table for this model, in the same currency and with no
price of 0, replaces those at start-up and daily as the cost basis. What users pay is the cost
basis times the operator's `PRICE_MARKUP` (`PriceTable.marked_up`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from babel import Locale
from babel.numbers import format_currency

from bot.domain.settings import RESOLUTIONS, GenerationSettings

DEFAULT_PER_SECOND = {
    "720p": 0.025,
    "720p+audio": 0.05,
    "1080p": 0.0375,
    "1080p+audio": 0.075,
}
# Our entries in the provider's price list (the client keeps its own copy: it imports nothing
# of the bot).
MODEL = "wan2.6-i2v-flash"
# CLDR's currency spacing, which Babel leaves out: a code is kept apart from the number
# ("XTS 2.00", never "XTS2.00"); a sign ("$0.38", "US$0.38") is not.
_MARKS = re.compile("[\u200e\u200f\u061c]")  # bidi marks in CLDR's patterns
_CODE_BY_NUMBER = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")


def price_kind(resolution: str, audio: bool) -> str:
    """The table's key: "720p", "1080p+audio"…"""
    return f"{resolution}+audio" if audio else resolution


def kind_of(settings: GenerationSettings) -> str:
    return price_kind(settings.resolution, settings.audio)


@dataclass(frozen=True)
class PriceTable:
    per_second: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_PER_SECOND))
    currency: str = "USD"

    def price(self, settings: GenerationSettings) -> float:
        return self.per_second_of(kind_of(settings)) * settings.duration

    def cost(self, seconds_by_kind: Mapping[str, int]) -> float:
        return sum(self.per_second_of(kind) * s for kind, s in seconds_by_kind.items())

    def per_second_of(self, kind: str) -> float:
        # An unknown kind (a resolution added upstream) is priced as the dearest known one.
        return self.per_second.get(kind, max(self.per_second.values()))

    def marked_up(self, factor: float) -> PriceTable:
        """The table users are charged by: this cost basis times the operator's markup."""
        if factor == 1:
            return self
        return PriceTable({k: v * factor for k, v in self.per_second.items()}, self.currency)

    def format(self, amount: float, locale: str = "en") -> str:
        """The amount as `locale` writes money (Babel, CLDR): en $0.38, es 0,38 US$ (a bare
        "$" is a peso in Latin America), zh_Hans US$0.38, ru 0,38 $; three decimals below a
        cent ($0.004)."""
        if 0 < amount < 0.01:
            text = format_currency(
                round(amount, 3), self.currency, locale=locale, decimal_quantization=False
            )
        else:
            text = format_currency(amount, self.currency, locale=locale)
        text = _CODE_BY_NUMBER.sub("\u00a0", _MARKS.sub("", text))
        if Locale.parse(locale).character_order == "right-to-left":
            # CLDR's Arabic pattern opens with a right-to-left mark: inside an isolate that
            # turns "0.25 US$" into "$US 0.25". A left-to-right isolate keeps it one amount.
            return f"\u2066{text}\u2069"
        return text


class PriceTableError(ValueError):
    pass


def parse_price_table(text: str, currency: str = "USD") -> PriceTable:
    """`720p=0.025,720p+audio=0.05,1080p=0.0375,1080p+audio=0.075`; every kind required."""
    prices: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        kind, _, value = item.partition("=")
        try:
            price = float(value)
        except ValueError:
            raise PriceTableError(f"{item!r} is not kind=price") from None
        if kind.strip() not in DEFAULT_PER_SECOND or price < 0:
            raise PriceTableError(f"{item!r}: kinds are {', '.join(DEFAULT_PER_SECOND)}")
        prices[kind.strip()] = price
    missing = set(DEFAULT_PER_SECOND) - set(prices)
    if missing:
        raise PriceTableError(f"prices missing for {', '.join(sorted(missing))}")
    if not currency.isalpha() or len(currency) != 3:
        raise PriceTableError(f"{currency!r} is not a three-letter currency code")
    return PriceTable(prices, currency.upper())


def price_table_from_api(payload: Any, model: str) -> PriceTable | None:
    """The pricing endpoint's answer as a table for `model`, or None when it says nothing
    usable.

    Its shape is not documented: this reads entries that name a resolution, whether audio is
    included, and a price per second (`price_per_second`, or `price` with `unit` "second"),
    wherever they sit in the answer — skipping any that names another model — and accepts the
    table only when every kind is priced above 0, in one currency.
    """
    prices: dict[str, float] = {}
    currencies: set[str] = set()
    for entry in _entries(payload):
        resolution, price = _entry_price(entry, model)
        if resolution is None or price is None:
            continue
        prices[price_kind(resolution, bool(entry.get("audio")))] = price
        currencies.add(str(entry.get("currency") or "USD").upper())
    if set(prices) != set(DEFAULT_PER_SECOND) or len(currencies) != 1:
        return None
    return PriceTable(prices, currencies.pop())


def _entry_price(entry: dict[str, Any], model: str) -> tuple[str | None, float | None]:
    """(resolution, price per second) of an entry that prices this model, else Nones."""
    resolution = str(entry.get("resolution", "")).lower()
    if resolution not in RESOLUTIONS or entry.get("model", model) != model:
        return None, None
    price = entry.get("price_per_second")
    if price is None and str(entry.get("unit", "")).lower() in ("second", "s", "per_second"):
        price = entry.get("price")
    if isinstance(price, bool) or not isinstance(price, int | float) or price <= 0:
        return None, None  # a price of 0 is a misreading, never a free video
    return resolution, float(price)


def _entries(payload: Any) -> list[dict[str, Any]]:
    """Every dict in a nested answer, depth first."""
    found: list[dict[str, Any]] = []
    stack = [payload]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found
