"""A group's admins as Telegram says (getChatMember), each answer kept `ttl` seconds: a press
on the group card or a member's /video costs no Bot API call most of the time, and a demoted
admin loses their rights within `ttl`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from telegram import Bot
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

log = logging.getLogger(__name__)

ADMINS = frozenset({ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR})
MAX_KEPT = 10_000  # answers kept at once: a flood of distinct members cannot grow it further


class TelegramGroupRoles:
    def __init__(self, bot: Bot, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._bot, self._ttl, self._clock = bot, ttl, clock
        self._seen: dict[tuple[int, int], tuple[bool, float]] = {}

    async def is_admin(self, chat_id: int, user_id: int) -> bool:
        now = self._clock()
        seen = self._seen.get((chat_id, user_id))
        if seen is not None and now - seen[1] < self._ttl:
            return seen[0]
        try:
            member = await self._bot.get_chat_member(chat_id, user_id)
            admin = member.status in ADMINS
        except TelegramError as exc:  # not a member any more, the bot removed: no rights
            log.info("chat %s: member %s not checked (%s): not an admin", chat_id, user_id, exc)
            admin = False
        if len(self._seen) >= MAX_KEPT:
            self._seen = {k: v for k, v in self._seen.items() if now - v[1] < self._ttl}
            if len(self._seen) >= MAX_KEPT:
                self._seen.clear()
        self._seen[(chat_id, user_id)] = (admin, now)
        return admin
