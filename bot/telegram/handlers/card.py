"""Buttons on video cards and on the /settings card."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.domain.access import LimitReached
from bot.domain.records import TaskRecord, TaskState, UserProfile
from bot.domain.settings import GenerationSettings
from bot.i18n import Translator
from bot.telegram.callback_data import CARD, Button, parse
from bot.telegram.cards import defaults_text
from bot.telegram.context import BotContext
from bot.telegram.handlers.access import quota_left
from bot.telegram.handlers.polling import schedule_poll
from bot.telegram.keyboards import defaults_keyboard
from bot.telegram.messenger import is_not_modified

log = logging.getLogger(__name__)


async def press_button(update: Update, context: BotContext) -> None:
    """Route a button press: card buttons act on their task, defaults buttons on the user."""
    query = update.callback_query
    t = await context.translator(update)
    button = parse(query.data)
    if button is None or query.message is None:
        await query.answer(t._("This button has expired. Send the photo again."), show_alert=True)
        return
    if button.scope == CARD:
        await _press_card_button(query, button, context, t)
    else:
        await _press_defaults_button(query, button, context, t)


async def _press_card_button(
    query: CallbackQuery, button: Button, context: BotContext, t: Translator
) -> None:
    services = context.services
    record = await services.storage.find_card(query.message.chat.id, query.message.message_id)
    if record is None:
        await query.answer(t._("This card has expired. Send the photo again."), show_alert=True)
        return
    if record.user_id != query.from_user.id:
        await query.answer(t._("This card belongs to someone else."), show_alert=True)
        return
    if button.action == "noop":
        await query.answer()
        return
    if button.action in ("go", "retry"):
        admin = services.policy.is_admin(record.user_id)
        claimed = await services.generation.claim(record, admin=admin)
        if claimed is None:
            await query.answer(t._("This video is already on its way."))
            return
        if isinstance(claimed, LimitReached):
            await query.answer(await _limit_text(context, t, claimed, record), show_alert=True)
            return
        await query.answer(t._("Starting…"))
        submitted = await services.generation.submit(claimed)
        if submitted is not None and submitted.state is TaskState.RUNNING:
            schedule_poll(context.job_queue, submitted.id, services.config.poll_interval)
        return
    if button.action == "x":
        cancelled = await services.generation.cancel(record)
        if cancelled is None:
            await query.answer(t._("This card can no longer be changed."))
        elif cancelled.submitted_at:
            await query.answer(
                t._("Stopped waiting. The task may still be billed."), show_alert=True
            )
        else:
            await query.answer(t._("Cancelled."))
        return
    if record.state is not TaskState.DRAFT:
        await query.answer(t._("This card can no longer be changed."))
        return
    await query.answer()
    changes = _card_changes(record, button)
    if changes is None:
        settings = button.apply_to(record.settings)
        if settings == record.settings:
            return
        changes = {"settings": settings}
        if not settings.audio and record.soundtrack_url:
            # "Silent" and a soundtrack exclude each other: the card shows what will happen.
            changes |= {"soundtrack_url": None, "soundtrack_file": None}
        await _remember_defaults(context, query.from_user.id, settings)
    updated = await services.storage.update_task(
        record.id, expect={TaskState.DRAFT}, notice="", error="", **changes
    )
    if updated is not None:
        await services.generation.messenger.show_card(updated)


async def _limit_text(
    context: BotContext, t: Translator, verdict: LimitReached, record: TaskRecord
) -> str:
    limits = context.services.limits
    if verdict is LimitReached.USER_ACTIVE:
        return t.ngettext(
            "You already have {n} video in progress. Wait for it to finish.",
            "You already have {n} videos in progress. Wait for one to finish.",
            limits.max_active_per_user,
        )
    if verdict is LimitReached.DAILY_QUOTA:
        return t.ngettext(
            "Today's allowance has {n} second left: choose a shorter video or come back tomorrow.",
            "Today's allowance has {n} seconds left: choose a shorter video or come back "
            "tomorrow.",
            await quota_left(context, record.user_id, time.time()) or 0,
        )
    return t._("The bot is busy with other videos right now. Please try again in a few minutes.")


def _card_changes(record: TaskRecord, button: Button) -> dict[str, object] | None:
    """Changes that belong to this card only (not to the user's defaults), if any."""
    if button.action == "page":
        return {"page": button.value}
    if button.action == "tpl":
        return {"template": None if button.value == "-" else button.value, "page": "main"}
    if button.action == "snd":
        return {"soundtrack_url": None, "soundtrack_file": None}
    return None


async def _press_defaults_button(
    query: CallbackQuery, button: Button, context: BotContext, t: Translator
) -> None:
    if button.action == "x":
        await query.answer(t._("Saved."))
        await _edit(query, defaults_text(t, (await _profile(context, query)).settings), None)
        return
    if button.action == "lang":
        await _choose_language(query, button.value, context)
        return
    profile = await _profile(context, query)
    settings = button.apply_to(profile.settings)
    await query.answer()
    if settings == profile.settings:
        return
    await _remember_defaults(context, query.from_user.id, settings)
    await _edit(query, defaults_text(t, settings), defaults_keyboard(t, settings))


async def _choose_language(query: CallbackQuery, locale: str, context: BotContext) -> None:
    catalogues = context.services.catalogues
    if locale not in catalogues.locales:
        t = await context.translator_for(query.from_user)
        await query.answer(t._("This button has expired. Send the photo again."), show_alert=True)
        return
    profile = await _profile(context, query)
    await context.services.storage.save_user(replace(profile, language=locale))
    t = catalogues.translator(locale)
    await query.answer(t._("Language saved."))
    await _edit(query, t._("🌐 From now on I speak English."), None)


async def _profile(context: BotContext, query: CallbackQuery) -> UserProfile:
    return await context.services.storage.get_user(query.from_user.id)


async def _remember_defaults(
    context: BotContext, user_id: int, settings: GenerationSettings
) -> None:
    storage = context.services.storage
    profile = await storage.get_user(user_id)
    await storage.save_user(replace(profile, settings=settings))


async def _edit(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:
        if not is_not_modified(exc):
            log.warning(
                "chat %s: settings card not updated: %s", query.message.chat.id, exc.message
            )
