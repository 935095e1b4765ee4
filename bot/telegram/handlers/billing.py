"""BILLING=stars: /buy (packs of credits for Telegram Stars), the payment updates, /balance,
/paysupport, and the admins' /grant and /refund."""

from __future__ import annotations

import logging

from telegram import LabeledPrice, Message, Update
from telegram.error import TelegramError

from bot.domain.actions import BuyPack
from bot.domain.billing import Movement, Reason
from bot.i18n import Translator
from bot.lifecycle.billing import Billing
from bot.telegram.callback_data import decode
from bot.telegram.context import BotContext
from bot.telegram.handlers.admin import admin_translator
from bot.telegram.handlers.common import incoming, pressed, reply
from bot.telegram.keyboards import packs_keyboard
from bot.text import escape

log = logging.getLogger(__name__)


def _billing(context: BotContext) -> Billing | None:
    return context.services.billing


async def offer_packs(message: Message, t: Translator, billing: Billing) -> None:
    await message.reply_text(
        t._("💳 Credits are bought with Telegram Stars. Choose a pack:"),
        reply_markup=packs_keyboard(t, billing.offers()),
        do_quote=True,
    )


async def buy_command(update: Update, context: BotContext) -> None:
    t = await context.translator(update)
    message = incoming(update).message
    billing = _billing(context)
    if billing is None:
        await reply(message, t._("Videos are free in this bot: there is nothing to buy."))
        return
    await offer_packs(message, t, billing)


async def buy_button(update: Update, context: BotContext) -> None:
    """A pack: a Stars invoice (currency XTR, no provider) with a payload the bot signs."""
    query = pressed(update)
    t = await context.translator(update)
    decoded = decode(query.data)
    billing = _billing(context)
    invoice = None
    if billing is not None and decoded is not None and isinstance(decoded[1], BuyPack):
        invoice = billing.invoice(query.from_user.id, decoded[1].stars)
    if invoice is None:
        await query.answer(t._("This offer has expired. Use /buy again."), show_alert=True)
        return
    await query.answer()
    title = t._("Credits: {credits}", credits=invoice.credits)
    await context.bot.send_invoice(
        chat_id=query.from_user.id if query.message is None else query.message.chat.id,
        title=title,
        description=t._("Credits for making videos with this bot."),
        payload=invoice.payload,
        provider_token="",
        currency="XTR",
        prices=[LabeledPrice(title, invoice.stars)],
    )


async def pre_checkout(update: Update, context: BotContext) -> None:
    """Telegram asks before taking the Stars: only an invoice this bot made, for this user,
    for a pack on offer, at its price."""
    query = update.pre_checkout_query
    assert query is not None
    billing = _billing(context)
    if billing is not None and billing.before_payment(
        query.invoice_payload, query.from_user.id, query.currency, query.total_amount
    ):
        await query.answer(ok=True)
        return
    log.warning("user %s: pre-checkout refused (payload not ours or changed)", query.from_user.id)
    t = await context.translator(update)
    await query.answer(
        ok=False, error_message=t._("This invoice is not valid. Use /buy for a new one.")
    )


async def successful_payment(update: Update, context: BotContext) -> None:
    """Credited exactly once per charge id: a replayed update or a restart adds nothing."""
    sender = incoming(update)
    payment = sender.message.successful_payment
    billing = _billing(context)
    assert payment is not None
    invoice = billing.paid_invoice(payment.invoice_payload, sender.user.id) if billing else None
    if billing is None or invoice is None:
        log.error("user %s: a payment with a payload not ours: %s", sender.user.id, payment)
        return
    charge = payment.telegram_payment_charge_id
    if not await billing.purchase(sender.user.id, charge, payment.total_amount, invoice.credits):
        log.info("user %s: payment %s already credited", sender.user.id, charge)
        return
    log.info(
        "user %s: +%s credits for %s Stars (%s)",
        sender.user.id,
        invoice.credits,
        invoice.stars,
        charge,
    )
    t = await context.translator(update)
    account = await billing.account(sender.user.id)
    await reply(
        sender.message,
        t._(
            "✅ Credits added: {credits}. Your balance: {balance}.",
            credits=invoice.credits,
            balance=account.balance,
        ),
    )


async def balance_command(update: Update, context: BotContext) -> None:
    t = await context.translator(update)
    sender = incoming(update)
    billing = _billing(context)
    if billing is None:
        await reply(sender.message, t._("Videos are free in this bot: there is nothing to buy."))
        return
    await billing.welcome(sender.user.id)
    account = await billing.account(sender.user.id)
    lines = [
        t._("💰 <b>Your balance in credits: {balance}</b>", balance=account.balance),
        t._("Held for videos being made: {reserved}", reserved=account.reserved),
    ]
    if account.recent:
        lines += ["", t._("Last movements:")]
        lines += [_movement_line(t, m) for m in account.recent]
    lines += ["", t._("/buy adds credits.")]
    await reply(sender.message, "\n".join(lines))


def _movement_line(t: Translator, movement: Movement) -> str:
    labels = {
        Reason.PURCHASE: t._("bought"),
        Reason.WELCOME: t._("welcome gift"),
        Reason.GRANT: t._("from the operator"),
        Reason.RESERVE: t._("held for a video"),
        Reason.RELEASE: t._("returned: the video was not made"),
        Reason.SPEND: t._("video delivered"),
        Reason.REFUND: t._("refunded to Stars"),
    }
    amount = f"{movement.amount:+d}" if movement.amount else "0"
    return f"{amount} · {escape(labels[movement.reason])}"


async def paysupport_command(update: Update, context: BotContext) -> None:
    t = await context.translator(update)
    contact = context.services.config.paysupport_contact
    text = t._(
        "💳 Payment questions: write to {contact} with the date of the payment. Credits "
        "of a failed video come back by themselves; unspent credits can be refunded.",
        contact=escape(contact) if contact else t._("the bot's operator"),
    )
    await reply(incoming(update).message, text)


async def grant_command(update: Update, context: BotContext) -> None:
    """/grant <user id> <credits>: an admin adds (or, negative, takes back) credits."""
    t = await admin_translator(update, context)
    billing = _billing(context)
    if t is None or billing is None:
        return
    args = context.args or []
    message = incoming(update).message
    if len(args) != 2 or not args[0].isdigit() or not args[1].lstrip("-").isdigit():
        await reply(message, t._("Usage: <code>/grant 123456789 100</code>"))
        return
    user_id, credits = int(args[0]), int(args[1])
    if not await billing.grant(user_id, credits):
        await reply(message, t._("Not granted: that would take the balance below zero."))
        return
    balance = (await billing.account(user_id)).balance
    await reply(
        message,
        t._("Done: the balance of {user} is now {balance}.", user=user_id, balance=balance),
    )


async def refund_command(update: Update, context: BotContext) -> None:
    """/refund <charge id>: the Stars go back and the credits with them (not once spent)."""
    t = await admin_translator(update, context)
    billing = _billing(context)
    if t is None or billing is None:
        return
    message = incoming(update).message
    args = context.args or []
    purchase = await billing.find_purchase(args[0]) if len(args) == 1 else None
    if purchase is None:
        await reply(message, t._("No purchase has this charge id."))
        return
    if not await billing.take_back(purchase):
        await reply(
            message, t._("Not refunded: its credits are spent already, or it was refunded.")
        )
        return
    try:
        await context.bot.refund_star_payment(purchase.user_id, purchase.ref)
    except TelegramError as exc:
        await billing.give_back(purchase)
        await reply(message, t._("Telegram refused the refund: {error}", error=escape(str(exc))))
        return
    log.info("refunded %s Stars of %s to user %s", purchase.stars, purchase.ref, purchase.user_id)
    await reply(
        message,
        t._(
            "Refunded to {user}: Stars: {stars}; credits taken back: {credits}.",
            stars=purchase.stars,
            user=purchase.user_id,
            credits=purchase.amount,
        ),
    )
