"""A group's admins as Telegram says, kept `ttl` seconds (bot/telegram/group_roles.py)."""

from __future__ import annotations

from typing import Any

from telegram import ChatMemberAdministrator, ChatMemberMember, User
from telegram.error import BadRequest

from bot.telegram.group_roles import TelegramGroupRoles


class StubBot:
    def __init__(self) -> None:
        self.admins: set[int] = {1}
        self.asked: list[tuple[int, int]] = []

    async def get_chat_member(self, chat_id: int, user_id: int) -> Any:
        self.asked.append((chat_id, user_id))
        user = User(user_id, "U", is_bot=False)
        if user_id == 666:
            raise BadRequest("Bad Request: user not found")
        if user_id in self.admins:
            rights = dict.fromkeys(
                (
                    "can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages",
                    "can_manage_video_chats", "can_restrict_members", "can_promote_members",
                    "can_change_info", "can_invite_users", "can_post_stories",
                    "can_edit_stories", "can_delete_stories",
                ),
                False,
            )  # fmt: skip
            return ChatMemberAdministrator(user, **rights)
        return ChatMemberMember(user)


async def test_an_answer_is_trusted_for_ttl_seconds_then_asked_again() -> None:
    bot, now = StubBot(), [100.0]
    roles = TelegramGroupRoles(bot, ttl=60, clock=lambda: now[0])  # type: ignore[arg-type]
    assert await roles.is_admin(-5, 1) is True
    bot.admins.clear()  # demoted
    now[0] += 59.9
    assert await roles.is_admin(-5, 1) is True  # still within the time it is trusted
    now[0] += 0.1
    assert await roles.is_admin(-5, 1) is False  # asked again: demoted
    assert bot.asked == [(-5, 1), (-5, 1)]


async def test_each_group_and_member_is_asked_apart_and_an_error_means_no_rights() -> None:
    bot = StubBot()
    roles = TelegramGroupRoles(bot, ttl=60)  # type: ignore[arg-type]
    assert await roles.is_admin(-5, 1) and not await roles.is_admin(-6, 2)
    assert await roles.is_admin(-5, 666) is False  # Telegram could not say: no rights
    assert bot.asked == [(-5, 1), (-6, 2), (-5, 666)]


async def test_what_is_kept_stays_bounded() -> None:
    bot, now = StubBot(), [0.0]
    roles = TelegramGroupRoles(bot, ttl=10, clock=lambda: now[0])  # type: ignore[arg-type]
    for user in range(10_005):
        await roles.is_admin(-5, user + 1000)
    assert len(roles._seen) <= 10_000
