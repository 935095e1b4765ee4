"""Who may spend the operator's balance, and how much: pure rules, no Telegram, no storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bot.domain.usage import Usage


@dataclass(frozen=True)
class AccessLists:
    """Runtime changes made by admins with /allow and /deny (persisted)."""

    allowed: frozenset[int] = field(default_factory=frozenset)
    denied: frozenset[int] = field(default_factory=frozenset)

    def allow(self, user_id: int) -> AccessLists:
        return AccessLists(self.allowed | {user_id}, self.denied - {user_id})

    def deny(self, user_id: int) -> AccessLists:
        return AccessLists(self.allowed - {user_id}, self.denied | {user_id})


@dataclass(frozen=True)
class AccessPolicy:
    allowed_users: frozenset[int] = frozenset()
    allowed_chats: frozenset[int] = frozenset()
    admins: frozenset[int] = frozenset()

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.admins

    def may_use(self, user_id: int, chat_id: int, lists: AccessLists) -> bool:
        """Denied loses, admins win; otherwise an allowlist, when there is one, must match.

        The user allowlist is ALLOWED_USER_IDS plus /allow; the chat allowlist lets everyone
        in a listed group in. With neither list, everyone may use the bot.
        """
        if user_id in lists.denied:
            return False
        if self.is_admin(user_id):
            return True
        users = self.allowed_users | lists.allowed
        if not users and not self.allowed_chats:
            return True
        return user_id in users or chat_id in self.allowed_chats


class LimitReached(StrEnum):
    USER_ACTIVE = "user_active"
    DAILY_QUOTA = "daily_quota"
    GLOBAL_ACTIVE = "global_active"
    NO_CREDITS = "no_credits"  # BILLING=stars: the balance does not cover the price
    # A group's rules (/groupsettings): admins only, allowed members only, the member's daily
    # allowance there used up, the group's wallet empty.
    GROUP_ADMINS = "group_admins"
    GROUP_NOT_ALLOWED = "group_not_allowed"
    GROUP_ALLOWANCE = "group_allowance"
    GROUP_NO_CREDITS = "group_no_credits"


@dataclass(frozen=True)
class Limits:
    max_active_per_user: int = 2
    daily_seconds_per_user: int = 0  # 0: unlimited
    max_active_total: int = 20

    def check(self, *, admin: bool, duration: int, usage: Usage) -> LimitReached | None:
        """Whether one more generation of `duration` seconds may start now. The user's own
        limits come first: they refuse, while a full bot only makes the user wait in line."""
        if not admin:
            if usage.user_active >= self.max_active_per_user:
                return LimitReached.USER_ACTIVE
            quota = self.daily_seconds_per_user
            if quota and usage.used_today + duration > quota:
                return LimitReached.DAILY_QUOTA
        if usage.total_active >= self.max_active_total:
            return LimitReached.GLOBAL_ACTIVE  # protects the operator's account, admins too
        return None

    @property
    def has_quota(self) -> bool:
        return self.daily_seconds_per_user > 0

    def seconds_left(self, *, admin: bool, used_today: int) -> int | None:
        """What the card shows; None when there is no quota for this user."""
        if admin or not self.daily_seconds_per_user:
            return None
        return max(0, self.daily_seconds_per_user - used_today)
