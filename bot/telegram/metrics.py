"""The operator's numbers: Prometheus text on METRICS_PORT (README "Metrics").

`BotMetrics` is the lifecycle's `Metrics` port (bot/lifecycle/ports.py) on a registry of its
own, one per Application (no state in prometheus-client's global registry). Counters move as
events happen; the gauges read the store (and the ledger) when Prometheus scrapes. Each
replica serves its own numbers; Prometheus's `instance` label tells them apart.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Protocol

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from bot.domain.billing import LedgerTotals
from bot.domain.records import ACTIVE_STATES, TaskState
from bot.lifecycle.billing import Billing
from bot.storage import Storage

log = logging.getLogger(__name__)

# How a generation ends: TaskState values, and "refused" (sent back to its card, certainly
# not accepted: refused, key or balance, busy, unreachable, a limit reached in line).
OUTCOMES = ("done", "failed", "unknown", "refused", "timed_out", "cancelled", "closed")
# Completion seen → video in the chat: an upload takes seconds, a stuck one minutes.
DELAY_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600)


class RetryAfterCount(Protocol):
    retry_afters: int  # bot/telegram/traffic.py counts the 429s it sees


class BotMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.generations = Counter(
            "wanbot_generations", "Generations ended, by outcome", ["outcome"], registry=r
        )
        for outcome in OUTCOMES:
            self.generations.labels(outcome)  # every outcome shows, at 0 until it happens
        self.status_queries = Counter(
            "wanbot_status_queries", "Status queries to the video service", registry=r
        )
        self.apimart_errors = Counter(
            "wanbot_apimart_errors",
            "Failed calls to the video service, by kind",
            ["kind"],
            registry=r,
        )
        self.telegram_429 = Counter(
            "wanbot_telegram_429", "429 (Retry-After) answers from Telegram", registry=r
        )
        self.delivery_delay = Histogram(
            "wanbot_delivery_delay_seconds",
            "From the completion seen to the video (or link) in the chat",
            buckets=DELAY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "wanbot_tasks_in_flight",
            "Tasks submitting, running or delivering (the whole store: every replica's)",
            registry=r,
        )
        self.queue_length = Gauge(
            "wanbot_queue_length", "Tasks waiting in line for a slot (the whole store)", registry=r
        )
        self._ledger: dict[str, Gauge] = {}
        self._storage: Storage | None = None
        self._billing: Billing | None = None
        self._traffic: RetryAfterCount | None = None
        self._retry_afters_seen = 0

    # -- the lifecycle's port ----------------------------------------------------------------

    def generation_ended(self, outcome: str) -> None:
        self.generations.labels(outcome).inc()

    def status_queried(self) -> None:
        self.status_queries.inc()

    def video_delivered(self, delay: float) -> None:
        self.delivery_delay.observe(delay)

    def service_error(self, kind: str) -> None:
        self.apimart_errors.labels(kind).inc()

    # -- read at scrape time -----------------------------------------------------------------

    def watch(
        self,
        storage: Storage,
        billing: Billing | None = None,
        traffic: RetryAfterCount | None = None,
    ) -> None:
        """What the gauges read when scraped: the store, the ledger (BILLING=stars), the
        flood shaper's count of 429s."""
        self._storage, self._billing, self._traffic = storage, billing, traffic
        if billing is not None and not self._ledger:
            for name in (f.name for f in dataclasses.fields(LedgerTotals)):
                self._ledger[name] = Gauge(
                    f"wanbot_ledger_{name}",
                    f"Ledger total: {name.replace('_', ' ')} (the whole store)",
                    registry=self.registry,
                )

    async def refresh(self) -> None:
        if self._traffic is not None:
            seen = self._traffic.retry_afters
            self.telegram_429.inc(max(0, seen - self._retry_afters_seen))
            self._retry_afters_seen = max(seen, self._retry_afters_seen)
        if self._storage is not None:
            live = await self._storage.tasks_in(ACTIVE_STATES | {TaskState.QUEUED})
            queued = sum(r.state is TaskState.QUEUED for r in live)
            self.in_flight.set(len(live) - queued)
            self.queue_length.set(queued)
        if self._billing is not None:
            totals = await self._billing.totals()
            for name, gauge in self._ledger.items():
                gauge.set(getattr(totals, name))

    async def render(self) -> bytes:
        """The Prometheus text, gauges read now."""
        await self.refresh()
        return generate_latest(self.registry)


class MetricsServer:
    """GET /metrics on its own socket (METRICS_HOST:METRICS_PORT), never the public one."""

    def __init__(self, metrics: BotMetrics, host: str, port: int) -> None:
        self._metrics = metrics
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        log.info("serving /metrics on %s:%s", self._host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _serve(self, request: web.Request) -> web.Response:
        body = await self._metrics.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
