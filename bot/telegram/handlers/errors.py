"""The one error handler: log first, with context, then tell the user something went wrong."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot.telegram.context import BotContext

log = logging.getLogger(__name__)


async def log_error(update: object, context: BotContext) -> None:
    """Log the exception with the chat and user it happened for; apologise to the user."""
    chat_id = user_id = None
    if isinstance(update, Update):
        chat_id = update.effective_chat.id if update.effective_chat else None
        user_id = update.effective_user.id if update.effective_user else None
    log.error("unhandled error chat %s user %s", chat_id, user_id, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_message is None:
        return
    try:
        t = await context.translator(update)
        await update.effective_message.reply_text(
            t._("⚠️ Something went wrong on my side. Please try again.")
        )
    except (TelegramError, RuntimeError):
        log.warning("chat %s: could not tell the user about the error", chat_id)
