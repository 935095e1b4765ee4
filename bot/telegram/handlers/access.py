"""The gate in front of every handler: only allowed users reach anything that spends money."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot.i18n import Translator
from bot.telegram.context import BotContext
from bot.telegram.handlers.common import answer, reply

log = logging.getLogger(__name__)


async def check_access(update: Update, context: BotContext) -> None:
    """Settle the update's translator (`context.t`) for every handler after this one; refuse
    politely (with the user's id, to pass to the operator) and stop the update.

    A gate that cannot decide (the database away) lets nothing through: PTB would go on to
    the next group after an error, so the error is reported here and the update stops."""
    try:
        await _check_access(update, context)
    except ApplicationHandlerStop:
        raise
    except Exception as error:
        await context.application.process_error(update, error)
        raise ApplicationHandlerStop from error


async def _check_access(update: Update, context: BotContext) -> None:
    t = await context.translator(update)
    user, chat = update.effective_user, update.effective_chat
    if _payment(update):
        return  # Stars already paid are always credited (and refunded ones taken back)
    if user is None:
        raise ApplicationHandlerStop  # a channel post: nobody to answer, nothing to do
    if await context.services.admin.may_use(user.id, chat.id if chat else user.id):
        return
    log.info("refused user %s in chat %s", user.id, chat.id if chat else None)
    await _refuse(update, t, user.id)
    raise ApplicationHandlerStop


async def _refuse(update: Update, t: Translator, user_id: int) -> None:
    """Say no, with the user's id to pass to the operator (in groups only when addressed)."""
    if update.callback_query is not None:
        await answer(
            update.callback_query,
            t._("🔒 This bot is private. Your user id: {user_id}", user_id=user_id),
            show_alert=True,
        )
    elif update.effective_message is not None and _addressed_to_bot(update):
        await reply(
            update.effective_message,
            t._(
                "🔒 Sorry, this bot is private. Your user id is <code>{user_id}</code>: send "
                "it to the bot's operator to ask for access.",
                user_id=user_id,
            ),
        )


def _payment(update: Update) -> bool:
    """Stars already taken or given back: never stopped here. (A pre-checkout is the last
    moment to refuse a payment: the payment handler checks access itself.)"""
    message = update.effective_message
    return update.pre_checkout_query is not None or (
        message is not None
        and (message.successful_payment is not None or message.refunded_payment is not None)
    )


def _addressed_to_bot(update: Update) -> bool:
    """In groups, answer only what was meant for the bot, not every message."""
    message = update.effective_message
    if update.effective_chat is None or update.effective_chat.type == ChatType.PRIVATE:
        return True
    text = (message.text or message.caption or "") if message else ""
    return text.startswith("/")
