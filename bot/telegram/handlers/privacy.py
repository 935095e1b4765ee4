"""/privacy says what the bot keeps and for how long; /forget (confirmed) deletes it."""

from __future__ import annotations

from telegram import Message, Update

from bot.domain.actions import ConfirmForget
from bot.telegram.context import BotContext
from bot.telegram.handlers.card import expired_button
from bot.telegram.handlers.common import answer, incoming, pressed, reply
from bot.telegram.keyboards import forget_keyboard


async def privacy_command(update: Update, context: BotContext) -> None:
    t = context.t
    days = context.services.config.retention_days
    # What /forget deletes, then what it cannot: the payment record, the logs, the provider.
    kept_after: list[str] = []
    if context.services.billing is not None:
        kept_after.append(
            t._(
                "• Your payments and credits (Stars paid, credits added and spent): kept as "
                "a record of payments, also after /forget."
            )
        )
    kept_after.append(
        t._(
            "• The bot's logs (your user and chat ids): kept as long as the bot's operator "
            "keeps logs, also after /forget."
        )
    )
    await reply(
        incoming(update).message,
        "\n".join(
            [
                t._("🔒 <b>What this bot keeps about you</b>"),
                "",
                t.ngettext(
                    "• Your photos (converted to JPEG), for Again, Edit and /history: {n} day.",
                    "• Your photos (converted to JPEG), for Again, Edit and /history: {n} days.",
                    days,
                ),
                t.ngettext(
                    "• Your videos' prompts, settings and status (/history): {n} day.",
                    "• Your videos' prompts, settings and status (/history): {n} days.",
                    days,
                ),
                t.ngettext(
                    "• The last frame of each of your videos, for “Continue”: {n} day. "
                    "“Join” and “Round” take your videos back from Telegram and keep nothing.",
                    "• The last frame of each of your videos, for “Continue”: {n} days. "
                    "“Join” and “Round” take your videos back from Telegram and keep nothing.",
                    days,
                ),
                t._(
                    "• A soundtrack you send (a voice note becomes a WAV file): until the video "
                    "it is for is made."
                ),
                t._("• Your default settings and language: until you use /forget."),
                t._(
                    "• In a group: whether its admins allowed you to make videos there, and your "
                    "videos there in its /groupstats (the last 7 days): until you use /forget. "
                    "Leaving a group ends nothing already paid."
                ),
                "",
                t._("/forget deletes all of it now."),
                "",
                *kept_after,
                t._(
                    "• The videos themselves stay on Telegram only; photos and prompts are sent "
                    "to the video service (apimart) to make them."
                ),
            ]
        ),
    )


async def forget_command(update: Update, context: BotContext) -> None:
    t = context.t
    await incoming(update).message.reply_text(
        t._(
            "Delete your settings, cards, history and photos? Videos already in the chat "
            "stay there. This cannot be undone."
        ),
        reply_markup=forget_keyboard(t),
        do_quote=True,
    )


async def forget_button(update: Update, context: BotContext) -> None:
    query, action = pressed(update), context.action
    message = query.message
    if not isinstance(action, ConfirmForget) or not isinstance(message, Message):
        await expired_button(update, context)
        return
    t = context.t
    asked = message.reply_to_message
    if asked is None or asked.from_user is None or asked.from_user.id != query.from_user.id:
        await answer(query, t._("This question was for someone else."), show_alert=True)
        return
    await answer(query)
    if not action.confirmed:
        await message.edit_text(t._("Nothing was deleted."))
        return
    forgotten = await context.services.privacy.forget(query.from_user.id)
    text = t._("🗑 Done: the bot keeps nothing about you any more.")
    if context.services.billing is not None:  # the ledger stays: a record of payments
        text = t._(
            "🗑 Done: the bot keeps nothing about you any more, except the record of your payments."
        )
    if forgotten.still_running:
        text = t.ngettext(
            "🗑 Done. {n} video is still being made: it arrives as usual and stays in "
            "/history until you use /forget again.",
            "🗑 Done. {n} videos are still being made: they arrive as usual and stay in "
            "/history until you use /forget again.",
            forgotten.still_running,
        )
    await message.edit_text(text)
