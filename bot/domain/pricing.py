"""What a video costs: one price table (per second, by resolution, with or without audio) for
the card's estimate and for /stats.

No price is published for the model; the defaults are resellers' per-second prices
(shared/api/README.md). `PRICES` in the configuration replaces them, and the provider's pricing
endpoint, when it answers with something readable, replaces those at start-up and daily.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.domain.settings import RESOLUTIONS, GenerationSettings

DEFAULT_PER_SECOND = {
    "720p": 0.025,
    "720p+audio": 0.05,
    "1080p": 0.0375,
    "1080p+audio": 0.075,
}
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CNY": "¥"}


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

    def format(self, amount: float) -> str:
        """$0.38, €1.20, 0.38 XYZ: two decimals, three below a cent."""
        digits = 3 if 0 < amount < 0.01 else 2
        number = f"{amount:.{digits}f}"
        symbol = _SYMBOLS.get(self.currency)
        return f"{symbol}{number}" if symbol else f"{number} {self.currency}"


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


def price_table_from_api(payload: Any) -> PriceTable | None:
    """The pricing endpoint's answer as a table, or None when it says nothing usable.

    Its shape is not documented: this reads entries that name a resolution, whether audio is
    included, and a price per second (`price_per_second`, or `price` with `unit` "second"),
    wherever they sit in the answer, and accepts the table only when every kind is priced.
    """
    prices: dict[str, float] = {}
    currency = "USD"
    for entry in _entries(payload):
        resolution = str(entry.get("resolution", "")).lower()
        if resolution not in RESOLUTIONS:
            continue
        price = entry.get("price_per_second")
        if price is None and str(entry.get("unit", "")).lower() in ("second", "s", "per_second"):
            price = entry.get("price")
        if isinstance(price, int | float) and not isinstance(price, bool) and price >= 0:
            prices[price_kind(resolution, bool(entry.get("audio")))] = float(price)
            currency = str(entry.get("currency") or currency).upper()
    if set(prices) != set(DEFAULT_PER_SECOND):
        return None
    return PriceTable(prices, currency)


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
