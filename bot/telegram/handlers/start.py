"""/start, /help, /settings and /cancel."""

from __future__ import annotations

from telegram import Update

from bot.telegram.cards import defaults_text
from bot.telegram.context import BotContext
from bot.telegram.handlers.common import help_text, incoming, reply
from bot.telegram.keyboards import defaults_keyboard, language_keyboard
from bot.text import escape


async def start_command(update: Update, context: BotContext) -> None:
    """Greet the user and say what to do in two lines."""
    t = context.t
    user = update.effective_user
    name = user.first_name if user else ""
    await reply(
        incoming(update).message,
        t._("👋 Hi, {name}! I turn photos into short AI videos.", name=escape(name))
        + "\n"
        + t._("Send me a photo with a caption describing the motion, and I'll animate it."),
    )


async def help_command(update: Update, context: BotContext) -> None:
    """Explain everything the bot does."""
    t = context.t
    await reply(incoming(update).message, help_text(t, context.services.config.billing_on))


async def settings_command(update: Update, context: BotContext) -> None:
    """Show the default-settings keyboard, no photo needed."""
    t = context.t
    sender = incoming(update)
    profile = await context.services.profiles.profile(sender.user.id)
    await sender.message.reply_text(
        defaults_text(t, profile.settings),
        reply_markup=defaults_keyboard(t, profile.settings),
    )


async def cancel_command(update: Update, context: BotContext) -> None:
    """Drop the user's unfinished cards in this chat; running videos keep going."""
    t = context.t
    sender = incoming(update)
    result = await context.services.drafts.cancel_all(sender.user.id, sender.chat.id)
    if result.dropped:
        text = t.ngettext(
            "Dropped {n} unfinished card.", "Dropped {n} unfinished cards.", result.dropped
        )
    else:
        text = t._("Nothing to cancel.")
    if result.running:
        text += "\n" + t.ngettext(
            "{n} video is still being generated; use its card to stop waiting.",
            "{n} videos are still being generated; use their cards to stop waiting.",
            result.running,
        )
    await reply(sender.message, text)


async def language_command(update: Update, context: BotContext) -> None:
    """Offer every language the bot speaks, each named in itself."""
    t = context.t
    await incoming(update).message.reply_text(
        t._("🌐 Choose your language:"),
        reply_markup=language_keyboard(context.services.catalogues.locales, t.locale),
    )
