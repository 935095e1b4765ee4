"""The price table in use: the configured one, replaced by the provider's own when its pricing
endpoint answers with something readable (at start-up and daily); never by a guess."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.domain.pricing import PriceTable, price_table_from_api
from bot.lifecycle.ports import PricingApi, VideoServiceError

log = logging.getLogger(__name__)


@dataclass
class Prices:
    configured: PriceTable = field(default_factory=PriceTable)
    current: PriceTable = field(init=False)

    def __post_init__(self) -> None:
        self.current = self.configured

    async def refresh(self, api: PricingApi) -> None:
        try:
            table = price_table_from_api(await api.get_pricing())
        except VideoServiceError as exc:
            log.warning("pricing endpoint unavailable (%s): prices from the configuration", exc)
            table = None
        if table is None:
            self.current = self.configured
            return
        if table != self.current:
            log.info("prices from the provider: %s %s", dict(table.per_second), table.currency)
        self.current = table
