"""/history: the user's generations, five a page; a delivered one comes again at once by its
Telegram file id (no download, no generation), any other offers to make it again."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden

from bot.domain.actions import HistoryAction, HistoryPage, OpenHistory
from bot.domain.records import TaskState
from bot.i18n import Translator
from bot.telegram.cards import video_caption
from bot.telegram.context import BotContext
from bot.telegram.handlers.card import expired_button
from bot.telegram.handlers.common import answer, incoming, pressed, reply
from bot.telegram.history_view import credits, dollars, history_keyboard, history_text
from bot.telegram.keyboards import again_keyboard, video_keyboard
from bot.telegram.messenger import is_chat_gone


async def history_command(update: Update, context: BotContext) -> None:
    """In a group: in private, never in the group (it holds prompts from other chats); when
    the bot cannot write to the user there (never started, blocked), the group is only told
    to open a private chat first."""
    sender = incoming(update)
    t = context.t
    text, markup = await _page(context, t, sender.user.id, 0)
    message = sender.message
    if message.chat.type == ChatType.PRIVATE:
        await message.reply_text(text, reply_markup=markup)
        return
    try:
        await context.bot.send_message(sender.user.id, text, reply_markup=markup)
    except (Forbidden, BadRequest) as exc:
        if isinstance(exc, BadRequest) and not is_chat_gone(exc):
            raise
        await reply(
            message,
            t._(
                "🔒 I can't write to you in private, and your history stays out of groups. "
                "Open a private chat with me first (or unblock me), then send /history again."
            ),
        )
        return
    await reply(message, t._("📬 I sent your history to you in a private message."))


async def history_button(update: Update, context: BotContext) -> None:
    query, action = pressed(update), context.action
    message = query.message
    if not isinstance(action, HistoryAction) or not isinstance(message, Message):
        await expired_button(update, context)
        return
    t = context.t
    if not _for_presser(message, query.from_user.id):
        await answer(query, t._("This list belongs to someone else."), show_alert=True)
        return
    if isinstance(action, HistoryPage):
        await answer(query)
        text, markup = await _page(context, t, query.from_user.id, action.page)
        await message.edit_text(text, reply_markup=markup)  # a double tap: see ButtonRouter
    elif isinstance(action, OpenHistory):
        await _open(update, context, t, message, action.task_id)


async def _open(
    update: Update, context: BotContext, t: Translator, message: Message, task_id: str
) -> None:
    query = pressed(update)
    record = await context.services.privacy.kept(task_id)
    if record is None or record.user_id != query.from_user.id:
        await answer(query, t._("This video is no longer in your history."), show_alert=True)
        return
    await answer(query)
    if record.state is TaskState.DONE and record.video_file_id:
        await context.bot.send_video(
            message.chat.id,
            record.video_file_id,
            caption=video_caption(t, record),
            parse_mode=None,  # the caption is plain text: the prompt as the user wrote it
            reply_markup=video_keyboard(t, record),
        )
        return
    await message.reply_text(
        t._("This one has no video to send again. Make it again with the same photo?"),
        reply_markup=again_keyboard(t, record.id),
    )


async def _page(
    context: BotContext, t: Translator, user_id: int, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    entries, total = await context.services.privacy.history_page(user_id, page)
    billing = context.services.billing
    price_of = (
        dollars(t, context.services.prices.current)
        if billing is None
        else credits(t, await billing.spent_by_task(user_id))
    )
    return history_text(t, entries, page, total, price_of), history_keyboard(
        entries, page, total, rtl=t.rtl
    )


def _for_presser(message: Message, user_id: int) -> bool:
    """A history in a private chat is its chat's; in a group, the caller's it answered."""
    if message.chat.type == ChatType.PRIVATE:
        return message.chat.id == user_id
    asked = message.reply_to_message
    return asked is not None and asked.from_user is not None and asked.from_user.id == user_id
