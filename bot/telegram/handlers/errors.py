"""The one error handler: log first, with context, then tell the user something went wrong."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot.telegram.context import BotContext, Services
from bot.telegram.handlers.common import answer, reply

log = logging.getLogger(__name__)


async def log_error(update: object, context: BotContext) -> None:
    """Log the exception with the chat and user it happened for; apologise to the user."""
    chat_id = user_id = None
    if isinstance(update, Update):
        chat_id = update.effective_chat.id if update.effective_chat else None
        user_id = update.effective_user.id if update.effective_user else None
    if Services.storage_unreachable(context.error):
        await _busy(update, context, chat_id, user_id)
        return
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


async def _busy(
    update: object, context: BotContext, chat_id: int | None, user_id: int | None
) -> None:
    """The database is out of reach (restarting, say): the user hears to try again shortly,
    in Telegram's language for them (their saved one is in the database), instead of silence;
    a button stops spinning. One line in the log, no traceback: it passes by itself."""
    log.warning(
        "chat %s user %s: storage out of reach (%s): asked to try again shortly",
        chat_id,
        user_id,
        type(context.error).__name__,
    )
    if not isinstance(update, Update):
        return
    user = update.effective_user
    try:
        t = context.services.catalogues.translator(user.language_code if user else None)
        text = t._("⏳ I'm busy for a moment. Please try again in a minute.")
        if update.callback_query is not None:
            await answer(update.callback_query, text, show_alert=True)
        elif update.effective_message is not None:
            await reply(update.effective_message, text)
    except (TelegramError, RuntimeError):
        log.warning("chat %s: could not tell the user to try again", chat_id)
