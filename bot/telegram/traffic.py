"""Shape the bot's own traffic to Telegram's flood limits instead of leaning on 429 retries.

Every message and edit waits for room in the overall window and in its chat's window. What a
user waits for (a card, an answer, a video) waits its turn; a progress edit is droppable: it
goes at once within its share of the budget, or not at all (the next one carries newer
progress anyway), and it never goes while something else is waiting.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

from telegram.error import RetryAfter, TelegramError
from telegram.ext import BaseRateLimiter

from bot.telegram.flood_rules import (
    IN_FLIGHT_RECHECK,
    FloodRules,
    SendLog,
    Slot,
    TokenBucket,
    Window,
    gcra,
    is_counted,
    limiter_for,
)

log = logging.getLogger(__name__)

# (chat id, seconds between two messages, burst) -> 0 when counted, else the seconds to wait
SharedChatBudget = Callable[[int, float, int], Awaitable[float]]

# The rate_limit_args a request may carry:
DROPPABLE = "droppable"  # a progress edit: sent at once within its share, or skipped
SUPERSEDABLE = "supersedable"  # a redraw: waits its turn, unless a newer one of it comes
BACKGROUND = "background"  # a delivery nobody tapped for just now: after the users' answers
_RETRY_MARGIN = 0.1
_PRUNE_AT = 2000  # chat logs kept before idle ones are forgotten

JSON = bool | dict[str, Any] | list[dict[str, Any]]


class DroppedError(TelegramError):
    """A droppable request was not sent: the budget is kept for what users wait for."""

    def __init__(self) -> None:
        super().__init__("dropped to stay within the flood limits")


class TrafficShaper(BaseRateLimiter[str]):
    def __init__(
        self,
        rules: FloodRules | None = None,
        *,
        max_retries: int = 3,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rules = rules or FloodRules()
        self._max_retries = max_retries
        self._clock = clock
        self._sleep = sleep
        self._overall = SendLog(self.rules.overall)
        self._chats: dict[int, SendLog | TokenBucket] = {}
        self._waiting: Counter[int] = Counter()
        self._newest_redraw: dict[tuple[int, int], object] = {}
        self._new_messages: Counter[int | None] = Counter()  # waiting, by chat
        self._answers: Counter[int | None] = Counter()  # new messages not in the background
        self._shared_chats: SharedChatBudget | None = None
        self.dropped = 0
        self.retry_afters = 0  # 429s Telegram answered (wanbot_telegram_429_total)

    def share_chats(self, take: SharedChatBudget | None) -> None:
        """Replicas writing to one chat share its limit too: with `take`, every message to a
        chat is also counted in the budget they share (PostgreSQL), and waits when it says."""
        self._shared_chats = take

    def share_overall(self, replicas: int) -> None:
        """Replicas on one token share Telegram's overall limit: this one takes 1/`replicas`
        of it (the live replicas, counted from their heartbeats)."""
        whole = self.rules.overall
        self._overall.window = Window(max(1, whole.limit // max(1, replicas)), whole.seconds)

    @property
    def overall_limit(self) -> int:
        return self._overall.window.limit

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: str | None,
    ) -> JSON:
        if not is_counted(endpoint):
            return await callback(*args, **kwargs)
        chat = _number(data.get("chat_id"))
        if rate_limit_args == DROPPABLE:
            return await self._send(await self._take_or_drop(chat), callback, args, kwargs)
        redraw = _message_key(data) if rate_limit_args == SUPERSEDABLE else None
        background = rate_limit_args == BACKGROUND
        for attempt in range(self._max_retries + 1):
            slots = await self.take(chat, redraw, background=background)
            try:
                return await self._send(slots, callback, args, kwargs)
            except RetryAfter as exc:
                self.retry_afters += 1
                # Another process sharing the token, or limits stricter than ours: everyone
                # in this chat waits, and the request goes again.
                pause = exc._retry_after.total_seconds() + _RETRY_MARGIN
                log.warning(
                    "429 from Telegram on %s (chat %s): pausing %.1f s", endpoint, chat, pause
                )
                if attempt == self._max_retries:
                    raise
                for send_log in self._logs(chat):
                    send_log.blocked_until = max(send_log.blocked_until, self._clock() + pause)
        raise AssertionError("unreachable")

    async def _send(
        self,
        slots: list[Slot],
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
    ) -> JSON:
        try:
            return await callback(*args, **kwargs)
        finally:
            now = self._clock()
            for slot in slots:
                slot.answered(now)

    async def _take_or_drop(self, chat: int | None) -> list[Slot]:
        """A droppable request's slots if there is room now, here and in the budget shared
        with other replicas; else DroppedError."""
        slots = None
        if self._room_now(chat) and await self._shared_wait(chat) <= 0:
            slots = self.take_now(chat)
        if slots is None:
            self.dropped += 1
            raise DroppedError
        return slots

    def take_now(self, chat: int | None) -> list[Slot] | None:
        """Slots for a droppable request if there is room right now; None: drop it."""
        if not self._room_now(chat):
            return None
        now = self._clock()
        return [send_log.record(now) for send_log in self._logs(chat)]

    def _room_now(self, chat: int | None) -> bool:
        if chat is not None and self._waiting[chat]:
            return False  # someone in this chat waits for something that matters more
        now = self._clock()
        share = self.rules.droppable_share
        return all(send_log.delay(now, share) <= 0 for send_log in self._logs(chat))

    async def take(
        self,
        chat: int | None,
        redraw: tuple[int, int] | None = None,
        *,
        background: bool = False,
    ) -> list[Slot]:
        """Wait for room in every window the request counts in, then count it. A `redraw` of
        a message raises DroppedError once a newer redraw of the same message is waiting; a
        `background` message waits while a user's answer could go instead."""
        counted_elsewhere = self._shared_chats is None or chat is None
        with self._turn(chat, redraw, background) as turn:
            while True:
                if self._superseded(redraw, turn):
                    self.dropped += 1
                    raise DroppedError
                now = self._clock()
                logs = self._logs(chat)
                delay = self._delay(now, logs, redraw, background)
                if delay <= 0 and not counted_elsewhere:
                    # Counted once in the shared budget, then the local windows are looked
                    # at again: others may have taken them during the round trip.
                    wait = await self._shared_wait(chat)
                    if wait > 0:
                        await self._sleep(wait)
                    counted_elsewhere = wait <= 0
                    continue
                if delay <= 0:
                    return [send_log.record(now) for send_log in logs]
                await self._sleep(delay)

    async def _shared_wait(self, chat: int | None) -> float:
        """0 when the chat's shared budget counted this message, else the seconds to wait;
        0 as well when there is none (one replica) or it cannot be reached (the local limit
        still holds)."""
        if self._shared_chats is None or chat is None:
            return 0.0
        step, burst = gcra(self.rules.limit_for(chat))
        try:
            return await self._shared_chats(chat, step, burst)
        except Exception as exc:  # the database away: shaped by this replica alone meanwhile
            log.warning("shared flood budget unavailable (%s): chat %s", type(exc).__name__, chat)
            return 0.0

    @contextmanager
    def _turn(
        self, chat: int | None, redraw: tuple[int, int] | None, background: bool
    ) -> Iterator[object]:
        """The request's place while it waits: its chat counts it as waiting, and a redraw
        becomes its message's newest (a new message is counted as one instead, and as an
        answer unless it is in the background)."""
        turn = object()
        if redraw is not None:
            self._newest_redraw[redraw] = turn
        else:
            self._new_messages[chat] += 1
            if not background:
                self._answers[chat] += 1
        if chat is not None:
            self._waiting[chat] += 1
        try:
            yield turn
        finally:
            self._leave(chat, redraw, turn, background)

    def _leave(
        self, chat: int | None, redraw: tuple[int, int] | None, turn: object, background: bool
    ) -> None:
        if redraw is None:
            _decrement(self._new_messages, chat)
            if not background:
                _decrement(self._answers, chat)
        elif self._newest_redraw.get(redraw) is turn:
            del self._newest_redraw[redraw]
        if chat is not None:
            _decrement(self._waiting, chat)

    def _superseded(self, redraw: tuple[int, int] | None, turn: object) -> bool:
        """Whether a newer redraw of the same message has come while this one waited."""
        return redraw is not None and self._newest_redraw.get(redraw) is not turn

    def _delay(
        self,
        now: float,
        logs: list[SendLog | TokenBucket],
        redraw: tuple[int, int] | None,
        background: bool,
    ) -> float:
        """Seconds until the request may go: room in every window it counts in; for a
        redraw, no new message (a first reply, a video) ready to go before it; for a
        background message, no user's answer."""
        delay = max(send_log.delay(now) for send_log in logs)
        if delay > 0:
            return delay
        if redraw is not None and self._ready(self._new_messages, now):
            return IN_FLIGHT_RECHECK
        if background and self._ready(self._answers, now):
            return IN_FLIGHT_RECHECK
        return delay

    def _ready(self, waiting: Counter[int | None], now: float) -> bool:
        """Whether one of these waiting new messages could go now but for the overall
        window."""
        return any(
            chat is None or self._chats[chat].delay(now) <= 0
            for chat, count in waiting.items()
            if count > 0
        )

    def _logs(self, chat: int | None) -> list[SendLog | TokenBucket]:
        if chat is None:
            return [self._overall]
        send_log = self._chats.get(chat)
        if send_log is None:
            if len(self._chats) >= _PRUNE_AT:
                self._forget_idle_chats()
            send_log = self._chats[chat] = limiter_for(self.rules.limit_for(chat))
        return [self._overall, send_log]

    def _forget_idle_chats(self) -> None:
        now = self._clock()
        for chat in [c for c, send_log in self._chats.items() if send_log.idle(now)]:
            del self._chats[chat]


def _decrement(counter: Counter[Any], key: object) -> None:
    counter[key] -= 1
    if not counter[key]:
        del counter[key]


def _message_key(data: dict[str, Any]) -> tuple[int, int] | None:
    chat, message = _number(data.get("chat_id")), _number(data.get("message_id"))
    return None if chat is None or message is None else (chat, message)


def _number(value: object) -> int | None:
    """A chat or message id as a number; None for an @username (never used by this bot),
    which then counts only overall."""
    try:
        return int(str(value))
    except ValueError:
        return None
