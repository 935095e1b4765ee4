"""The price tables in use: the cost basis — the configured one, replaced by the provider's own
when its pricing endpoint answers with a full table for this model in the configured currency
(at start-up and daily), never by a guess — and what users are charged: that times the
operator's markup."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.domain.pricing import MODEL, PriceTable, price_table_from_api
from bot.lifecycle.ports import PricingApi, VideoServiceError

log = logging.getLogger(__name__)


@dataclass
class Prices:
    configured: PriceTable = field(default_factory=PriceTable)
    markup: float = 1.0  # PRICE_MARKUP: what users pay per unit of cost
    model: str = MODEL
    current: PriceTable = field(init=False)  # the cost basis (/stats)

    def __post_init__(self) -> None:
        self.current = self.configured

    @property
    def charged(self) -> PriceTable:
        """What users pay (the card's estimate, credits)."""
        return self.current.marked_up(self.markup)

    async def refresh(self, api: PricingApi) -> None:
        try:
            table = price_table_from_api(await api.get_pricing(), self.model)
        except VideoServiceError as exc:
            log.warning("pricing endpoint unavailable (%s): prices from the configuration", exc)
            table = None
        if table is not None and table.currency != self.configured.currency:
            log.warning(
                "provider prices are in %s, the configuration in %s: keeping the configured ones",
                table.currency,
                self.configured.currency,
            )
            table = None
        if table is None:
            self.current = self.configured
            return
        if table != self.current:
            log.info("prices from the provider: %s %s", dict(table.per_second), table.currency)
        self.current = table
