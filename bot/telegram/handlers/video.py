"""The buttons under a delivered video: 🔁 Again, ✏️ Edit, 🎲 ×3. Each opens a new card from
the kept photo (no re-upload) in reply to that video; Again and ×3 start at once."""

from __future__ import annotations

from telegram import CallbackQuery, Message, Update

from bot.domain.actions import EditAgain, MakeVariations, VideoAction
from bot.domain.records import TaskRecord
from bot.i18n import Translator
from bot.telegram.context import BotContext
from bot.telegram.handlers.card import expired_button, limit_text
from bot.telegram.handlers.common import answer, pressed


async def video_button(update: Update, context: BotContext) -> None:
    query, action = pressed(update), context.action
    if not isinstance(action, VideoAction) or query.message is None:
        await expired_button(update, context)
        return
    t = context.t
    drafts = context.services.drafts
    source = await own_video(query, context, action.task_id)
    if source is None:
        return
    if isinstance(action, EditAgain):
        await answer(query)  # a photo no longer kept: the new card's placeholder says so
        await _new_card(query, context, t, source, keep_seed=True)
        return
    wanted = action.count if isinstance(action, MakeVariations) else 1
    # A double tap (or a press sent twice) must not start, and charge, a second batch.
    pressed_before = await context.services.presses.before(
        f"{type(action).__name__}:{source.id}:{query.message.message_id}"
    )
    if pressed_before:
        await answer(query, t._("This video is already on its way."))
        return
    room = await drafts.room(source.user_id, source.settings.duration)
    if room.count == 0:
        await answer(query, await limit_text(context, t, room.refused, source), show_alert=True)
        return
    await _start(query, context, t, source, min(wanted, room.count), wanted)


async def own_video(query: CallbackQuery, context: BotContext, task_id: str) -> TaskRecord | None:
    """The task of the video a button is under, when it is still kept and the presser's own;
    else they are told why not (None)."""
    t = context.t
    source = await context.services.privacy.kept(task_id)
    if source is None:
        await answer(query, not_kept(t, context), show_alert=True)
        return None
    if source.user_id != query.from_user.id:
        await answer(query, t._("This video belongs to someone else."), show_alert=True)
        return None
    return source


async def _start(
    query: CallbackQuery,
    context: BotContext,
    t: Translator,
    source: TaskRecord,
    count: int,
    wanted: int,
) -> None:
    """`count` new tasks from `source`, each with its own seed, submitted or put in line."""
    generation = context.services.generation
    if count < wanted:
        await answer(
            query,
            t._(
                "Starting {count} of {wanted}: your limits allow no more right now.",
                count=count,
                wanted=wanted,
            ),
            show_alert=True,
        )
    else:
        await answer(query, t._("Starting…"))
    for _ in range(count):
        record = await _new_card(query, context, t, source, keep_seed=False)
        if record is None:
            return
        await generation.start(record)


async def _new_card(
    query: CallbackQuery,
    context: BotContext,
    t: Translator,
    source: TaskRecord,
    *,
    keep_seed: bool,
) -> TaskRecord | None:
    video = query.message
    assert isinstance(video, Message)
    placeholder = await video.reply_text(t._("⏳ Preparing your photo…"), do_quote=True)
    record = await context.services.drafts.reopen(
        source,
        chat_id=video.chat.id,  # where it was pressed: a /history re-send may be elsewhere
        card_message_id=placeholder.message_id,
        reply_to=video.message_id,
        keep_seed=keep_seed,
    )
    if record is None:
        await placeholder.edit_text(not_kept(t, context))
    return record


def not_kept(t: Translator, context: BotContext) -> str:
    return t.ngettext(
        "This video is older than {n} day: its photo is no longer kept. Send the photo again.",
        "This video is older than {n} days: its photo is no longer kept. Send the photo again.",
        context.services.config.retention_days,
    )
