"""Filters of our own: which messages in a group are meant for the bot."""

from __future__ import annotations

import re

from telegram import Message
from telegram.constants import ChatType
from telegram.ext import filters


class _AddressedToBot(filters.MessageFilter):
    """In a private chat, everything; in a group, a reply to one of the bot's messages (a
    card) or a caption or text that names the bot: not every MP3 or link members post."""

    def filter(self, message: Message) -> bool:
        if message.chat.type == ChatType.PRIVATE:
            return True
        replied = message.reply_to_message
        if replied is not None and replied.from_user is not None and replied.from_user.is_bot:
            return replied.from_user.id == message.get_bot().id
        return (
            mention_of(message.get_bot().username).search(message.caption or message.text or "")
            is not None
        )


ADDRESSED_TO_BOT = _AddressedToBot(name="ADDRESSED_TO_BOT")


def mention_of(username: str) -> re.Pattern[str]:
    """`@username` as a word of its own (not `@username_fan`); matches nothing without one."""
    if not username:
        return re.compile(r"(?!)")
    return re.compile(rf"@{re.escape(username)}\b", re.IGNORECASE)
