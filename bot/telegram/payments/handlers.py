"""Telegram Stars, the Telegram side: /buy (packs of credits), the invoice, pre-checkout, the
payment and refund updates, and the admins' /refund (refundStarPayment)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import Chat, LabeledPrice, Message, Update
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from bot.domain.actions import BuyPack
from bot.domain.billing import Movement
from bot.domain.groups import in_group
from bot.i18n import Translator
from bot.lifecycle.billing import Billing
from bot.telegram.context import BotContext
from bot.telegram.handlers.admin import admin_translator
from bot.telegram.handlers.common import answer, incoming, pressed, reply
from bot.telegram.keyboards import packs_keyboard
from bot.telegram.payments.stars import CURRENCY, StarsShop
from bot.text import escape, is_number

log = logging.getLogger(__name__)

# refundStarPayment answers within a second; past this, whether it went through is unclear.
REFUND_TIMEOUT = 10.0


def _billing(context: BotContext) -> Billing | None:
    return context.services.billing


def _shop(context: BotContext) -> StarsShop | None:
    return context.services.shop


async def offer_packs(message: Message, t: Translator, shop: StarsShop) -> None:
    await message.reply_text(
        t._("💳 Credits are bought with Telegram Stars. Choose a pack:"),
        reply_markup=packs_keyboard(t, shop.offers()),
        do_quote=True,
    )


async def buy_command(update: Update, context: BotContext) -> None:
    t = context.t
    message = incoming(update).message
    shop = _shop(context)
    if shop is None:
        await reply(message, t._("Videos are free in this bot: there is nothing to buy."))
        return
    await offer_packs(message, t, shop)


async def buy_button(update: Update, context: BotContext) -> None:
    """A pack: a Stars invoice (currency XTR, no provider) with a payload the bot signs."""
    query, action, t = pressed(update), context.action, context.t
    shop = _shop(context)
    invoice, chat = None, query.message.chat if query.message is not None else None
    group = _group_of(chat)
    if shop is not None and isinstance(action, BuyPack):
        invoice = shop.invoice(group.id if group else query.from_user.id, action.stars)
    if invoice is None:
        await answer(query, t._("This offer has expired. Use /buy again."), show_alert=True)
        return
    await answer(query)
    title = t.ngettext("{n} credit", "{n} credits", invoice.credits)
    description = _invoice_description(t, None if group is None else group.title or "")
    await context.bot.send_invoice(
        chat_id=query.from_user.id if chat is None else chat.id,
        title=title,
        description=description,
        payload=invoice.payload,
        # Stars: no provider_token. Not even "": with Defaults set, PTB 22.8 turns an empty
        # string into [] (it takes "" for an empty list of poll options), which Telegram refuses.
        currency=CURRENCY,
        prices=[LabeledPrice(title, invoice.stars)],
    )


def _group_of(chat: Chat | None) -> Chat | None:
    """/buy in a group tops up the group's wallet (its chat id is the ledger account)."""
    return chat if chat is not None and in_group(chat.id) else None


def _invoice_description(t: Translator, group: str | None) -> str:
    """What the credits are for: the buyer's own videos, or a group's wallet (its title)."""
    if group is None:
        return t._("Credits for making videos with this bot.")
    return t._("Credits for the group's wallet of “{group}”: its members' videos.", group=group)


async def pre_checkout(update: Update, context: BotContext) -> None:
    """Telegram asks before taking the Stars: only an invoice this bot made, for this user,
    for a pack on offer, at its price."""
    query = update.pre_checkout_query
    assert query is not None
    shop, user = _shop(context), query.from_user.id
    # The access gate lets every payment through; this is where a denied user's is refused.
    allowed = await context.services.admin.may_use(user, user)
    if (
        allowed
        and shop is not None
        and shop.before_payment(query.invoice_payload, user, query.currency, query.total_amount)
    ):
        await query.answer(ok=True)
        return
    log.warning("user %s: pre-checkout refused (payload not ours or changed)", query.from_user.id)
    t = context.t
    await query.answer(
        ok=False, error_message=t._("This invoice is not valid. Use /buy for a new one.")
    )


async def successful_payment(update: Update, context: BotContext) -> None:
    """Credited exactly once per charge id: a replayed update or a restart adds nothing."""
    sender = incoming(update)
    payment = sender.message.successful_payment
    billing, shop = _billing(context), _shop(context)
    assert payment is not None
    invoice = shop.paid_invoice(payment.invoice_payload, sender.user.id) if shop else None
    if invoice is None and shop is not None:
        invoice = shop.paid_before_a_new_key(
            payment.invoice_payload, sender.user.id, payment.total_amount
        )
        if invoice is not None:
            log.warning(
                "user %s: payment %s signed with another key (a new bot token?): credited",
                sender.user.id,
                payment.telegram_payment_charge_id,
            )
    if billing is None or invoice is None:
        # Only the charge id: the payment object may carry the payer's order info.
        log.error(
            "user %s: payment %s with a payload not ours (or billing is off): not credited",
            sender.user.id,
            payment.telegram_payment_charge_id,
        )
        return
    charge = payment.telegram_payment_charge_id
    account = invoice.user_id  # the payer's own, or a group's wallet
    if not await billing.purchase(account, charge, payment.total_amount, invoice.credits):
        log.info("user %s: payment %s already credited", sender.user.id, charge)
        return
    log.info(
        "user %s: +%s credits for %s Stars (%s)",
        sender.user.id,
        invoice.credits,
        invoice.stars,
        charge,
    )
    t = context.t
    balance = (await billing.account(account)).balance
    if in_group(account):
        text = t._(
            "✅ Credits added to the group's wallet: {credits}. Its balance: {balance}.",
            credits=invoice.credits,
            balance=balance,
        )
    else:
        text = t._(
            "✅ Credits added: {credits}. Your balance: {balance}.",
            credits=invoice.credits,
            balance=balance,
        )
    await reply(sender.message, text)


async def refunded_payment(update: Update, context: BotContext) -> None:
    """Telegram returned a payment's Stars. A refund the bot made took its credits back
    already; one made elsewhere takes back what is still free of them, and says so to the
    user. A replayed update changes nothing."""
    message, billing = update.effective_message, _billing(context)
    refund = message.refunded_payment if message else None
    if message is None or refund is None or billing is None:
        return
    user, charge = message.chat.id, refund.telegram_payment_charge_id  # a private chat
    # A group's top-up comes back to the member who paid it: the ledger's purchase of the
    # charge names the account it went to (the invoice's signed payload no longer verifies
    # once the bot's token has changed).
    purchase = await billing.find_purchase(charge)
    account = purchase.user_id if purchase is not None else user
    taken = await billing.refunded_outside(account, charge)
    if taken is None:
        return
    log.info("user %s: charge %s (account %s) refunded outside the bot", user, charge, account)
    t = context.t
    balance = (await billing.account(account)).balance
    if in_group(account):
        text = t._(
            "↩️ Stars refunded: {stars}. Credits taken back from the group's wallet: "
            "{credits}. Its balance: {balance}.",
            stars=taken.stars,
            credits=-taken.amount,
            balance=balance,
        )
    else:
        text = t._(
            "↩️ Stars refunded: {stars}. Credits taken back: {credits}. Your balance: {balance}.",
            stars=taken.stars,
            credits=-taken.amount,
            balance=balance,
        )
    await reply(message, text)


async def refund_command(update: Update, context: BotContext) -> None:
    """/refund <charge id>: the Stars go back and the credits with them (not once spent).

    The credits are taken back first. When Telegram's answer is unclear (a timeout, a network
    error, flood control), the refund stays pending: the same /refund again only asks Telegram
    again, which answers CHARGE_ALREADY_REFUNDED if an earlier attempt went through. A definite
    refusal undoes the refund."""
    t = await admin_translator(update, context)
    billing = _billing(context)
    if t is None or billing is None:
        return
    message = incoming(update).message
    found = await _purchase_to_refund(message, t, billing, context.args or [])
    if found is None:
        return
    purchase, payer = found
    refund = await billing.open_refund(purchase) or await billing.take_back(purchase)
    if refund is None:
        await reply(
            message, t._("Not refunded: its credits are spent already, or it was refunded.")
        )
        return
    answer = await _ask_for_refund(context, purchase, payer)
    if isinstance(answer, RefundUnclear):
        await unclear(message, t, purchase, answer.error)
        return
    if answer is not None:
        await refused(message, t, billing, refund, answer)
        return
    log.info("refunded %s Stars of %s to user %s", refund.stars, purchase.ref, payer)
    await reply(
        message,
        t._(
            "Refunded to {user}: Stars: {stars}; credits taken back: {credits}.",
            stars=refund.stars,
            user=payer,
            credits=-refund.amount,
        ),
    )


async def _purchase_to_refund(
    message: Message, t: Translator, billing: Billing, args: list[str]
) -> tuple[Movement, int] | None:
    """The purchase `/refund <charge id> [payer]` names and whom its Stars go back to; None
    when there is none (the admin is told why)."""
    purchase = await billing.find_purchase(args[0]) if len(args) in (1, 2) else None
    if purchase is None:
        await reply(message, t._("No purchase has this charge id."))
        return None
    payer = _payer(purchase, args[1:])
    if payer is None:  # a group's top-up: the ledger knows the wallet, Telegram the payer
        await reply(
            message,
            t._(
                "This charge topped up a group's wallet. Say who paid it: /refund {charge} "
                "followed by their user id (the bot's log names them).",
                charge=purchase.ref,
            ),
        )
        return None
    return purchase, payer


def _payer(purchase: Movement, rest: list[str]) -> int | None:
    """Whom Telegram returns the Stars to: the account's owner, or for a group's wallet the
    member the admin names (a wrong one is refused by Telegram, and the refund undone)."""
    if purchase.user_id > 0:
        return purchase.user_id
    return int(rest[0]) if rest and is_number(rest[0]) and int(rest[0]) > 0 else None


@dataclass(frozen=True)
class RefundUnclear:
    """Telegram's answer did not say whether the refund went through."""

    error: TelegramError


async def _ask_for_refund(
    context: BotContext, purchase: Movement, payer: int
) -> TelegramError | RefundUnclear | None:
    """None: refunded (now or by an earlier attempt); an error: Telegram refused."""
    try:
        await context.bot.refund_star_payment(payer, purchase.ref, read_timeout=REFUND_TIMEOUT)
    except BadRequest as exc:
        if "charge_already_refunded" in exc.message.lower():  # PTB: "Charge_already_…"
            return None
        return exc
    except (NetworkError, RetryAfter) as exc:
        # A timeout, a lost connection, a 5xx: this attempt may have gone through. Flood
        # control: this one did not, but an earlier one whose answer was lost may have.
        return RefundUnclear(exc)
    except TelegramError as exc:
        return exc
    return None


async def unclear(message: Message, t: Translator, purchase: Movement, exc: TelegramError) -> None:
    """The refund stays pending: the credits stay taken back, and asking again is safe."""
    log.warning("refund of %s: no clear answer from Telegram (%s)", purchase.ref, exc)
    await reply(
        message,
        t._(
            "⏳ No clear answer from Telegram ({error}): the refund may have gone through "
            "or not. The credits stay taken back; sending <code>/refund {charge}</code> "
            "again is safe.",
            error=escape(str(exc)),
            charge=escape(purchase.ref),
        ),
    )


async def refused(
    message: Message, t: Translator, billing: Billing, refund: Movement, exc: TelegramError
) -> None:
    """Telegram said no: the credits return, and a later /refund may try again."""
    await billing.undo_refund(refund)
    log.warning("refund %s refused by Telegram: %s", refund.ref, exc)
    await reply(
        message,
        "\n".join(
            [
                t._("Telegram refused the refund: {error}", error=escape(str(exc))),
                t._("The credits are back on the balance; /refund can try again later."),
            ]
        ),
    )
