"""Buttons on the /settings card (the user's defaults) and the /language keyboard."""

from __future__ import annotations

import logging

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.domain.actions import ChooseLanguage, SettingAction
from bot.telegram.cards import defaults_text
from bot.telegram.context import BotContext
from bot.telegram.handlers.card import expired_button
from bot.telegram.handlers.common import answer, pressed
from bot.telegram.keyboards import defaults_keyboard
from bot.telegram.messenger import is_not_modified

log = logging.getLogger(__name__)


async def change_default(update: Update, context: BotContext) -> None:
    """A setting on the defaults card: saved at once, the card redrawn."""
    query, action = pressed(update), context.action
    if not isinstance(action, SettingAction):
        await expired_button(update, context)
        return
    t = context.t
    await answer(query)
    settings = await context.services.profiles.press_default(query.from_user.id, action)
    if settings is not None:
        await _edit(query, defaults_text(t, settings), defaults_keyboard(t, settings))


async def close_defaults(update: Update, context: BotContext) -> None:
    """Done: the card stays as a summary, without buttons."""
    query = pressed(update)
    t = context.t
    await answer(query, t._("Saved."))
    profile = await context.services.profiles.profile(query.from_user.id)
    await _edit(query, defaults_text(t, profile.settings), None)


async def choose_language(update: Update, context: BotContext) -> None:
    """Save the chosen language and confirm in it."""
    query, action = pressed(update), context.action
    catalogues = context.services.catalogues
    if not isinstance(action, ChooseLanguage) or action.locale not in catalogues.locales:
        await expired_button(update, context)
        return
    await context.services.profiles.set_language(query.from_user.id, action.locale)
    t = catalogues.translator(action.locale)
    await answer(query, t._("Language saved."))
    await _edit(query, t._("🌐 From now on I speak English."), None)


async def _edit(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if not is_not_modified(exc):
            log.warning("user %s: settings card not updated: %s", query.from_user.id, exc.message)
