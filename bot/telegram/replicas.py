"""Replicas on one bot token share Telegram's overall limit (~30 messages a second for the
token, not per process): each takes 1/N of it, N the replicas alive by their heartbeats in
PostgreSQL, renewed with the leases. A chat's own limit (~1 a second) is counted in
PostgreSQL while there are several: a chat's answers come from the replica its update reached,
its videos and redraws from the one holding the task's lease."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.telegram.traffic import SharedChatBudget, TrafficShaper

log = logging.getLogger(__name__)


@dataclass
class FloodShare:
    shaper: TrafficShaper
    owner: str
    ttl: float  # a replica not seen for this long is gone (LEASE_SECONDS)
    heartbeat: Callable[[str, float], Awaitable[int]]  # (owner, ttl) -> replicas alive
    leave: Callable[[str], Awaitable[None]]
    chat_budget: SharedChatBudget  # one chat's limit, counted for every replica
    replicas: int = 1

    async def beat(self) -> int:
        replicas = await self.heartbeat(self.owner, self.ttl)
        if replicas != self.replicas:
            log.info(
                "%s replicas share the bot's flood budget: %s messages a second here",
                replicas,
                max(1, self.shaper.rules.overall.limit // replicas),
            )
        self.replicas = replicas
        self.shaper.share_overall(replicas)
        # Alone, this replica's own count is exact: no round trip per message.
        self.shaper.share_chats(self.chat_budget if replicas > 1 else None)
        return replicas

    async def stop(self) -> None:
        await self.leave(self.owner)
