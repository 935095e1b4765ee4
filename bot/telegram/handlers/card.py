"""Buttons on video cards, one small handler per kind of action (routed by type)."""

from __future__ import annotations

import asyncio
import time

from telegram import CallbackQuery, MaybeInaccessibleMessage, Message, Update

from bot.domain.access import LimitReached
from bot.domain.actions import CardEdit, SettingAction
from bot.domain.records import TaskRecord, TaskState
from bot.i18n import Translator
from bot.lifecycle.submit import InLine, Refused, Taken
from bot.telegram.context import BotContext
from bot.telegram.handlers.common import answer, pressed
from bot.telegram.payments.handlers import offer_packs


async def generate(update: Update, context: BotContext) -> None:
    """Generate or Try again: claim the card under the limits, then submit it once."""
    found = await _own_card(update, context)
    if found is None:
        return
    query, record, t = found
    generation, billing = context.services.generation, context.services.billing
    if billing is not None:
        await billing.welcome(record.user_id)
    claimed = await generation.claim(record)
    if isinstance(claimed, Taken):
        await answer(query, t._("This video is already on its way."))
    elif isinstance(claimed, Refused):
        await answer(query, await limit_text(context, t, claimed.limit, record), show_alert=True)
        out_of_credits = claimed.limit is LimitReached.NO_CREDITS
        shop = context.services.shop
        if shop is not None and out_of_credits and isinstance(query.message, Message):
            await offer_packs(query.message, t, shop)
    elif isinstance(claimed, InLine):
        await answer(query, t._("The bot is busy: your video is in line and starts by itself."))
    else:
        try:
            await answer(query, t._("Starting…"))
        finally:  # claimed is claimed: whatever the answer does, it is submitted
            await generation.submit(claimed.record)


async def cancel_card(update: Update, context: BotContext) -> None:
    """Cancel a draft, close a failed card, or stop waiting for a running video."""
    found = await _own_card(update, context)
    if found is None:
        return
    query, record, t = found
    cancelled = await context.services.generation.cancel(record)
    if cancelled is None:
        await answer(query, t._("This card can no longer be changed."))
    elif cancelled.submitted_at and context.services.billing is not None:
        # The service makes and bills it anyway: its credits are spent, and the user is told.
        await answer(
            query,
            t._(
                "Stopped waiting. The service still makes this video and bills it, so its "
                "credits stay spent."
            ),
            show_alert=True,
        )
    elif cancelled.submitted_at:
        await answer(query, t._("Stopped waiting. The task may still be billed."), show_alert=True)
    else:
        await answer(query, t._("Cancelled."))


async def edit_card(update: Update, context: BotContext) -> None:
    """A setting, a page or an effect of a draft card."""
    action = context.action
    if not isinstance(action, SettingAction | CardEdit):
        await answer(
            pressed(update),
            context.t._("This card has expired. Send the photo again."),
            show_alert=True,
        )
        return
    found = await _own_card(update, context)
    if found is None:
        return
    query, record, t = found
    if record.state is not TaskState.DRAFT:
        await answer(query, t._("This card can no longer be changed."))
        return
    await answer(query)
    # False only when a Generate press won the race: its own redraw shows why.
    await context.services.drafts.press(record, action)


async def press_label(update: Update, context: BotContext) -> None:
    """The duration in the middle of the − / + row is a label, not an action."""
    await answer(pressed(update))


async def expired_button(update: Update, context: BotContext) -> None:
    """A button this release does not know (an older version's, or tampered with): from a
    card, /history, /settings, /buy or a video alike, so it names no photo."""
    t = context.t
    await answer(
        pressed(update),
        t._("This button no longer works. Use the command again."),
        show_alert=True,
    )


JUST_POSTED = 10.0  # seconds: a card this new may not be recorded yet
# Its record lands within milliseconds: looked for again soon, then less often (~1.3 s in
# all), so a forged press on a fresh message costs a few reads, not a hundred.
LOOK_AGAIN_AFTER = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64)


async def _own_card(
    update: Update, context: BotContext
) -> tuple[CallbackQuery, TaskRecord, Translator] | None:
    """The pressed card's task, when the presser owns it; else answered and None."""
    query = pressed(update)
    t = context.t
    message = query.message
    record = None
    if message is not None:
        record = await _card_of(context, message)
    if record is None:
        await answer(query, t._("This card has expired. Send the photo again."), show_alert=True)
        return None
    if record.user_id != query.from_user.id:
        await answer(query, t._("This card belongs to someone else."), show_alert=True)
        return None
    return query, record, t


async def _card_of(context: BotContext, message: MaybeInaccessibleMessage) -> TaskRecord | None:
    """The card's task. A card posted a moment ago (with its buttons, when the photo was
    ready at once) is recorded right after Telegram answers: a press as quick as that looks
    again for a second, rather than call a brand-new card expired."""
    drafts, chat_id, message_id = context.services.drafts, message.chat.id, message.message_id
    record = await drafts.card(chat_id, message_id)
    fresh = time.time() - message.date.timestamp() < JUST_POSTED
    for pause in LOOK_AGAIN_AFTER if fresh else ():
        if record is not None:
            break
        await asyncio.sleep(pause)
        record = await drafts.card(chat_id, message_id)
    return record


async def limit_text(
    context: BotContext, t: Translator, verdict: LimitReached, record: TaskRecord
) -> str:
    limits = context.services.generation.settings.limits
    if verdict is LimitReached.USER_ACTIVE:
        return t.ngettext(
            "You already have {n} video in progress. Wait for it to finish.",
            "You already have {n} videos in progress. Wait for one to finish.",
            limits.max_active_per_user,
        )
    billing = context.services.billing
    if verdict is LimitReached.NO_CREDITS and billing is not None:
        return t._(
            "Not enough credits: this video costs {price}, your balance is {balance}.",
            price=billing.price(record.settings),
            balance=(await billing.account(record.user_id)).balance,
        )
    if verdict is LimitReached.DAILY_QUOTA:
        left = await context.services.drafts.quota_left(record.user_id) or 0
        if not left:  # never "0 second left": some languages put zero in the singular
            return t._("Today's allowance is used up: come back tomorrow.")
        return t.ngettext(
            "Today's allowance has {n} second left: choose a shorter video or come back tomorrow.",
            "Today's allowance has {n} seconds left: choose a shorter video or come back "
            "tomorrow.",
            left,
        )
    group = await _group_text(context, t, verdict, record)
    if group is not None:
        return group
    return t._("The bot is busy with other videos right now. Please try again in a few minutes.")


async def _group_text(
    context: BotContext, t: Translator, verdict: LimitReached, record: TaskRecord
) -> str | None:
    """Why a group's rules refuse this video (/groupsettings); None for another reason."""
    who = who_refused_text(t, verdict)
    if who is not None:
        return who
    billing, groups = context.services.billing, context.services.generation.groups
    if verdict is LimitReached.GROUP_NO_CREDITS and billing is not None:
        return t.ngettext(
            "The group's wallet has {n} credit, this video costs {price}. Any member can top "
            "it up with /buy here, or tap “I pay”.",
            "The group's wallet has {n} credits, this video costs {price}. Any member can top "
            "it up with /buy here, or tap “I pay”.",
            (await billing.account(record.chat_id)).balance,
            price=billing.price(record.settings),
        )
    if verdict is LimitReached.GROUP_ALLOWANCE and groups is not None:
        allowance = (await groups.settings(record.chat_id)).allowance
        text = t.ngettext(
            "You have used today's allowance in this group: {n} second of video a member.",
            "You have used today's allowance in this group: {n} seconds of video a member.",
            allowance,
        )
        if billing is not None:
            text += " " + t._("Tap “I pay” to make it with your own credits.")
        return text
    return None


def who_refused_text(t: Translator, verdict: LimitReached) -> str | None:
    """A group that lets only some members make videos, and this one is not among them."""
    if verdict is LimitReached.GROUP_ADMINS:
        return t._("In this group only its admins can make videos.")
    if verdict is LimitReached.GROUP_NOT_ALLOWED:
        return t._("In this group only members an admin allowed can make videos. Ask an admin.")
    return None
