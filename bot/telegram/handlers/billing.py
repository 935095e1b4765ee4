"""Credits, whatever the provider: /balance, /paysupport and the admins' /grant."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot, Update
from telegram.error import TelegramError

from bot.config import Config
from bot.domain.billing import Movement, Reason
from bot.domain.groups import in_group
from bot.i18n import Translator
from bot.lifecycle.billing import Billing
from bot.telegram.context import BotContext
from bot.telegram.handlers.admin import admin_translator
from bot.telegram.handlers.common import incoming, reply
from bot.text import escape, is_number

log = logging.getLogger(__name__)


def _billing(context: BotContext) -> Billing | None:
    return context.services.billing


async def balance_command(update: Update, context: BotContext) -> None:
    t = context.t
    sender = incoming(update)
    billing = _billing(context)
    if billing is None:
        await reply(sender.message, t._("Videos are free in this bot: there is nothing to buy."))
        return
    await billing.welcome(sender.user.id)
    account = await billing.account(sender.user.id)
    lines = await _group_wallet_lines(context, t, sender.chat.id, sender.user.id)
    lines += [
        t._("💰 <b>Your balance in credits: {balance}</b>", balance=account.balance),
        t._("Held for videos being made: {reserved}", reserved=account.reserved),
    ]
    if account.recent:
        lines += ["", t._("Last movements:")]
        lines += [_movement_line(t, m) for m in account.recent]
    lines += ["", t._("/buy adds credits.")]
    await reply(sender.message, "\n".join(lines))


async def _group_wallet_lines(
    context: BotContext, t: Translator, chat_id: int, user_id: int
) -> list[str]:
    """/balance in a group, asked by one of its admins: the group's wallet first."""
    billing, groups = context.services.billing, context.services.generation.groups
    if billing is None or groups is None or not in_group(chat_id):
        return []
    if not await groups.is_admin(chat_id, user_id):
        return []
    wallet = await billing.account(chat_id)
    return [
        t._("👥 <b>The group's wallet: {balance}</b>", balance=wallet.balance),
        t._("Held for members' videos being made: {reserved}", reserved=wallet.reserved),
        "",
    ]


def _movement_line(t: Translator, movement: Movement) -> str:
    labels = {
        Reason.PURCHASE: t._("bought"),
        Reason.WELCOME: t._("welcome gift"),
        Reason.GRANT: t._("from the operator"),
        Reason.RESERVE: t._("held for a video"),
        Reason.RELEASE: t._("returned: the video was not made"),
        Reason.SPEND: t._("video delivered"),
        Reason.REFUND: t._("refunded to Stars"),
        Reason.REFUND_UNDONE: t._("returned: the refund did not go through"),
        Reason.EXTERNAL_REFUND: t._("refunded to Stars"),
    }
    amount = t.isolated(f"{movement.amount:+d}" if movement.amount else "0")
    return f"{amount} · {escape(labels[movement.reason])}"


async def paysupport_command(update: Update, context: BotContext) -> None:
    t = context.t
    contact = context.services.payment_contact
    if contact:
        text = t._(
            "💳 Payment questions: write to {contact} with the date of the payment. Credits "
            "of a failed video come back by themselves; unspent credits can be refunded.",
            contact=escape(contact),
        )
    else:
        text = t._(
            "💳 No contact for payment questions is set up in this bot yet. Credits of a "
            "failed video come back by themselves; unspent credits can be refunded."
        )
    await reply(incoming(update).message, text)


async def payment_contact(bot: Bot, config: Config) -> str:
    """Whom /paysupport names: PAYSUPPORT_CONTACT, else (with BILLING=stars) the admins'
    @usernames, looked up once at start-up. Nobody to name is said once, in the log."""
    if config.paysupport_contact or not config.billing_on:
        return config.paysupport_contact
    usernames = await asyncio.gather(*(_username(bot, a) for a in sorted(config.admin_user_ids)))
    contact = ", ".join(f"@{name}" for name in usernames if name)
    if not contact:
        log.warning(
            "BILLING=stars needs PAYSUPPORT_CONTACT: no admin in ADMIN_USER_IDS has a "
            "@username, so /paysupport names nobody to write to"
        )
    return contact


async def _username(bot: Bot, user_id: int) -> str | None:
    try:
        return (await bot.get_chat(user_id)).username
    except TelegramError as exc:  # never talked to the bot, or Telegram out of reach
        log.info("admin %s: no username for /paysupport (%s)", user_id, exc)
        return None


async def grant_command(update: Update, context: BotContext) -> None:
    """/grant <user id> <credits>: an admin adds (or, negative, takes back) credits."""
    t = await admin_translator(update, context)
    billing = _billing(context)
    if t is None or billing is None:
        return
    args = context.args or []
    message = incoming(update).message
    if len(args) != 2 or not is_number(args[0]) or not is_number(args[1].lstrip("-")):
        await reply(message, t._("Usage: <code>/grant 123456789 100</code>"))
        return
    user_id, credits = int(args[0]), int(args[1])
    order = f"grant:{message.chat.id}:{message.message_id}"  # a replayed update grants once
    if not await billing.grant(user_id, credits, order):
        if await billing.applied(user_id, Reason.GRANT, order):
            return  # the same order again (a replayed update): done once already
        await reply(message, t._("Not granted: that would take the balance below zero."))
        return
    balance = (await billing.account(user_id)).balance
    await reply(
        message,
        t._("Done: the balance of {user} is now {balance}.", user=user_id, balance=balance),
    )
