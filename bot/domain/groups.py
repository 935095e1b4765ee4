"""A group's own rules (issue 23), set by its Telegram admins with /groupsettings: who may
generate there, a daily allowance per member, the group's default settings, where finished
videos go, and whether the group's wallet pays (BILLING=stars)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from bot.domain.access import LimitReached
from bot.domain.history import HistoryEntry
from bot.domain.settings import RESOLUTIONS, GenerationSettings, is_duration

# The allowance steps the card offers, seconds of video per member per day (0: no limit).
ALLOWANCES = (0, 30, 60, 120, 300)


class WhoGenerates(StrEnum):
    EVERYONE = "everyone"
    ADMINS = "admins"
    ALLOWED = "allowed"  # admins, and members an admin allowed with /groupallow


class Delivery(StrEnum):
    GROUP = "group"  # finished videos are posted in the group
    PRIVATE = "private"  # ...or sent to the member in private


def in_group(chat_id: int) -> bool:
    """Telegram's group and supergroup ids are negative; a private chat's is the user's. A
    group's wallet is a ledger account under its chat id, so a negative account is one too."""
    return chat_id < 0


@dataclass(frozen=True)
class GroupSettings:
    chat_id: int
    who: WhoGenerates = WhoGenerates.EVERYONE
    allowed: frozenset[int] = frozenset()
    allowance: int = 0  # seconds of video per member per day; 0: no limit
    resolution: str | None = None  # the group's defaults; None: each member's own
    duration: int | None = None
    audio: bool | None = None
    delivery: Delivery = Delivery.GROUP
    wallet: bool = True  # with BILLING=stars: the group's balance pays, within the allowance

    def defaults_for(self, settings: GenerationSettings) -> GenerationSettings:
        """A member's settings with the group's defaults over them (a new card here)."""
        changed = settings
        if self.resolution is not None:
            changed = changed.with_resolution(self.resolution)
        if self.duration is not None:
            changed = changed.with_duration(self.duration)
        if self.audio is not None:
            changed = changed.with_audio(self.audio)
        return changed

    def who_refuses(self, user_id: int, *, admin: bool) -> LimitReached | None:
        """Whether this member may generate here at all."""
        if admin or self.who is WhoGenerates.EVERYONE:
            return None
        if self.who is WhoGenerates.ALLOWED and user_id in self.allowed:
            return None
        return (
            LimitReached.GROUP_ADMINS
            if self.who is WhoGenerates.ADMINS
            else (LimitReached.GROUP_NOT_ALLOWED)
        )

    def within_allowance(self, used_today: int, duration: int) -> bool:
        return not self.allowance or used_today + duration <= self.allowance

    def with_rule(self, rule: str, value: str) -> GroupSettings | None:
        """This group with one rule changed by a /groupsettings button; None when `rule` or
        `value` is not one the card offers (a forged button)."""
        change = _RULES.get(rule)
        if change is None:
            return None
        try:
            return replace(self, **{rule: change(value)})
        except (ValueError, KeyError):
            return None

    def allowing(self, user_id: int, allowed: bool) -> GroupSettings:
        members = self.allowed | {user_id} if allowed else self.allowed - {user_id}
        return replace(self, allowed=frozenset(members))

    def to_dict(self) -> dict[str, Any]:
        return {
            "chat_id": self.chat_id,
            "who": self.who.value,
            "allowed": sorted(self.allowed),
            "allowance": self.allowance,
            "resolution": self.resolution,
            "duration": self.duration,
            "audio": self.audio,
            "delivery": self.delivery.value,
            "wallet": self.wallet,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GroupSettings:
        duration = data.get("duration")
        return cls(
            chat_id=int(data["chat_id"]),
            who=WhoGenerates(data.get("who", WhoGenerates.EVERYONE)),
            allowed=frozenset(int(u) for u in data.get("allowed", ())),
            allowance=int(data.get("allowance") or 0),
            resolution=data.get("resolution"),
            duration=duration if isinstance(duration, int) and is_duration(duration) else None,
            audio=data.get("audio"),
            delivery=Delivery(data.get("delivery", Delivery.GROUP)),
            wallet=bool(data.get("wallet", True)),
        )


def _allowance(value: str) -> int:
    if int(value) not in ALLOWANCES:
        raise ValueError
    return int(value)


def _resolution(value: str) -> str | None:
    if value == "-":
        return None
    if value not in RESOLUTIONS:
        raise ValueError
    return value


def _duration(value: str) -> int | None:
    if value == "-":
        return None
    if not value.isdigit() or not is_duration(int(value)):
        raise ValueError
    return int(value)


_FLAGS = {"-": None, "1": True, "0": False}
# What each button of the group card may set, read from its callback value.
_RULES: dict[str, Callable[[str], Any]] = {
    "who": WhoGenerates,
    "allowance": _allowance,
    "resolution": _resolution,
    "duration": _duration,
    "audio": lambda value: _FLAGS[value],
    "delivery": Delivery,
    "wallet": lambda value: {"1": True, "0": False}[value],
}
GROUP_RULES = frozenset(_RULES)


@dataclass(frozen=True)
class GroupVerdict:
    """What a group's rules say of one generation: refused, or who pays for it."""

    refused: LimitReached | None = None
    payer: int | None = None  # the ledger account that pays; None: the member


def paying(
    group: GroupSettings,
    *,
    used_today: int,
    duration: int,
    billing_on: bool,
    pays_self: bool,
) -> GroupVerdict:
    """Who pays for a member's generation of `duration` seconds in `group` (they may
    generate there: `who_refuses` said so). Within the allowance the group's wallet pays
    (billing on, wallet on, unless the member chose to pay); past it the member may pay
    themselves (when they chose to on the card), or is refused."""
    if group.within_allowance(used_today, duration):
        group_pays = billing_on and group.wallet and not pays_self
        return GroupVerdict(payer=group.chat_id if group_pays else None)
    if billing_on and pays_self:
        return GroupVerdict()  # past the allowance, on the member's own credits
    return GroupVerdict(LimitReached.GROUP_ALLOWANCE)


TOP_PROMPTS = 5


@dataclass
class MemberWeek:
    videos: int = 0
    seconds: int = 0
    credits: int = 0  # from the group's wallet


@dataclass(frozen=True)
class GroupWeek:
    """/groupstats: what the group's members made (entries the service made, not cards)."""

    members: list[tuple[int, MemberWeek]]  # most videos first
    prompts: list[tuple[str, int, int]]  # (prompt, its author, videos), most made first


def group_week(entries: list[HistoryEntry], spent: dict[str, int]) -> GroupWeek:
    """The week's generations by member; `spent`: the wallet's credits by task."""
    made = [e for e in entries if e.charged]
    members: dict[int, MemberWeek] = {}
    for entry in made:
        member = members.setdefault(entry.user_id, MemberWeek())
        member.videos += 1
        member.seconds += entry.settings.duration
        member.credits += spent.get(entry.id, 0)
    ranked = sorted(members.items(), key=lambda item: (-item[1].videos, item[0]))
    prompts = Counter((e.prompt, e.user_id) for e in made if e.prompt)
    top = [(prompt, user, n) for (prompt, user), n in prompts.most_common(TOP_PROMPTS)]
    return GroupWeek(ranked, top)
