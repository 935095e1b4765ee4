"""Telegram's flood limits, and the arithmetic of staying inside them.

Telegram answers 429 to a bot that sends more than ~30 messages a second overall, more than ~1
a second in one private chat (short bursts pass) or more than 20 a minute in one group. The
overall and group limits are sliding windows here, at or just under Telegram's own; a private
chat is a token bucket (a burst of 3, refilled at 1 a second), as Telegram advises, so the
taps after an opening are not held for a whole window. Telegram counts a request when it
arrives, which we cannot see: a request holds its place from leaving until its answer (and a
window's or a token's time past the answer), so no lag on the way can crowd a limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.groups import in_group

# What Telegram counts: messages sent and messages edited. Answers to button presses, chat
# actions, reads and deletions are not.
_COUNTED_PREFIXES = ("send", "edit", "copyMessage", "forwardMessage")
_UNCOUNTED = frozenset({"sendChatAction"})


def is_counted(endpoint: str) -> bool:
    return endpoint.startswith(_COUNTED_PREFIXES) and endpoint not in _UNCOUNTED


@dataclass(frozen=True)
class Window:
    limit: int
    seconds: float

    def scaled(self, factor: float) -> Window:
        return Window(self.limit, self.seconds * factor)


@dataclass(frozen=True)
class Bucket:
    """`burst` requests at once, then one every 1/`per_second` seconds."""

    burst: int
    per_second: float


Limit = Window | Bucket


@dataclass(frozen=True)
class FloodRules:
    overall: Window = Window(29, 1.0)
    private_chat: Limit = Bucket(3, 1.0)
    group_chat: Window = Window(19, 60.0)
    # The share of each limit a droppable request (a progress edit) may use: the rest stays
    # free for what a user is waiting for (a card, an answer, a video).
    droppable_share: float = 0.6

    def limit_for(self, chat_id: int) -> Limit:
        return self.group_chat if in_group(chat_id) else self.private_chat


@dataclass
class Slot:
    """One request's place in a window. Telegram counts a request when it arrives, some time
    between leaving and its answer: so a slot counts from leaving until the answer plus the
    window, however late the request got there."""

    at: float
    in_flight: bool = True

    def answered(self, now: float) -> None:
        self.at = now
        self.in_flight = False


IN_FLIGHT_RECHECK = 0.05  # seconds: how often a waiter looks again while requests are out


class SendLog:
    """The slots of one scope (all chats, or one chat) still inside its window."""

    def __init__(self, window: Window) -> None:
        self.window = window
        self._slots: list[Slot] = []
        self.blocked_until = 0.0  # set by a 429's retry_after

    def delay(self, now: float, share: float = 1.0) -> float:
        """Seconds until one more request fits within `share` of the window; 0: now."""
        cutoff = now - self.window.seconds
        self._slots = [slot for slot in self._slots if slot.in_flight or slot.at > cutoff]
        allowed = max(1, int(self.window.limit * share))
        wait = max(0.0, self.blocked_until - now)
        must_leave = len(self._slots) - allowed + 1
        if must_leave > 0:
            leaving = sorted(slot.at - cutoff for slot in self._slots if not slot.in_flight)
            wait = max(
                wait, leaving[must_leave - 1] if len(leaving) >= must_leave else IN_FLIGHT_RECHECK
            )
        return wait

    def record(self, now: float) -> Slot:
        slot = Slot(now)
        self._slots.append(slot)
        return slot

    def idle(self, now: float) -> bool:
        return self.delay(now) == 0.0 and not self._slots


class TokenBucket:
    """One private chat's bucket, kept as the time it will be full again (GCRA's theoretical
    arrival time). An answered request counts from its answer; one still out as if it got
    there now; folding answers out of order only ever counts later, never earlier."""

    def __init__(self, bucket: Bucket) -> None:
        self.bucket = bucket
        self._interval = 1.0 / bucket.per_second
        self._full_at = 0.0  # every answered request folded in
        self._out: list[Slot] = []
        self.blocked_until = 0.0  # set by a 429's retry_after

    def delay(self, now: float, share: float = 1.0) -> float:
        """Seconds until one more request fits, keeping a droppable one to its `share` of the
        burst; 0: now."""
        for slot in sorted((s for s in self._out if not s.in_flight), key=lambda s: s.at):
            self._full_at = max(self._full_at, slot.at) + self._interval
        self._out = [slot for slot in self._out if slot.in_flight]
        full_at = self._full_at
        for _ in self._out:
            full_at = max(full_at, now) + self._interval
        burst = max(1, int(self.bucket.burst * share))
        ready_at = full_at - (burst - 1) * self._interval
        return max(0.0, self.blocked_until - now, ready_at - now)

    def record(self, now: float) -> Slot:
        slot = Slot(now)
        self._out.append(slot)
        return slot

    def idle(self, now: float) -> bool:
        return self.delay(now) == 0.0 and not self._out and self._full_at <= now


def gcra(limit: Limit) -> tuple[float, int]:
    """A limit as a shared bucket: (seconds between two requests, burst). A window of n in
    t seconds becomes n at once, then one every t/n: never more than the window allows."""
    if isinstance(limit, Bucket):
        return 1.0 / limit.per_second, limit.burst
    return limit.seconds / limit.limit, limit.limit


def limiter_for(limit: Limit) -> SendLog | TokenBucket:
    return TokenBucket(limit) if isinstance(limit, Bucket) else SendLog(limit)
