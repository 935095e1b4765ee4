"""Text in reply to a card: a new prompt or `seed 123`; other text gets a hint."""

from __future__ import annotations

import time

from telegram import Update
from telegram.constants import ChatType

from bot.domain.settings import parse_seed
from bot.telegram.context import BotContext
from bot.telegram.handlers.advanced import SEED_REPLY, bad_seed, set_seed
from bot.telegram.handlers.common import incoming, reply


async def reply_to_card(update: Update, context: BotContext) -> None:
    """Text sent as a reply to a card replaces that card's prompt."""
    sender = incoming(update)
    message, text = sender.message, sender.message.text or ""
    target = message.reply_to_message
    drafts = context.services.drafts
    record = await drafts.card(message.chat_id, target.message_id) if target else None
    if record is None:
        if message.chat.type == ChatType.PRIVATE:  # in groups, replies are people talking
            await text_without_photo(update, context)
        return
    if record.user_id != sender.user.id:
        return
    t = context.t
    if seed_match := SEED_REPLY.match(text):
        try:
            seed = parse_seed(seed_match.group(1))
        except ValueError:
            await reply(message, bad_seed(t))
            return
        await set_seed(update, context, t, seed)
    elif await drafts.set_prompt(record, text) is None:
        await reply(
            message, t._("This card has already been used. Send the photo again for a new video.")
        )


UNUSABLE_HINT_INTERVAL = 60.0


async def unusable_message(update: Update, context: BotContext) -> None:
    """A sticker, a video, a location…: one hint, at most once a minute per chat."""
    now = time.monotonic()
    chat_data = context.chat_data if context.chat_data is not None else {}
    if now - chat_data.get("hinted_at", -UNUSABLE_HINT_INTERVAL) < UNUSABLE_HINT_INTERVAL:
        return
    chat_data["hinted_at"] = now
    await text_without_photo(update, context)


async def text_without_photo(update: Update, context: BotContext) -> None:
    """Plain text: point the user at what the bot needs."""
    t = context.t
    await reply(
        incoming(update).message,
        t._(
            "📷 Send me a photo with a caption describing "
            "the motion, and I'll turn it into a video."
        ),
    )
