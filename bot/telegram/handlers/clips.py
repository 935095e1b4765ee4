"""The buttons that make more of a delivered video without a new photo (issue 22): ⏭ Continue
(a card from its last frame), 🎞 Join (its story as one video) and ⭕ Round (a round video
note). Join and Round cost nothing: no generation, no charge."""

from __future__ import annotations

from telegram import CallbackQuery, InputFile, Message, Update
from telegram.constants import ChatAction, FileSizeLimit

from bot.domain.actions import ClipAction, ContinueStory, JoinStory
from bot.domain.records import TaskRecord
from bot.domain.story import MAX_STORY_CLIPS, can_continue, can_join
from bot.i18n import Translator
from bot.lifecycle.clips import ClipMissing, Clips, Joined, Rounded, TooLarge
from bot.telegram.context import BotContext
from bot.telegram.handlers.card import expired_button
from bot.telegram.handlers.common import answer, pressed
from bot.telegram.handlers.video import own_video
from bot.telegram.messenger import UPLOAD_TIMEOUT


async def clip_button(update: Update, context: BotContext) -> None:
    query, action, t = pressed(update), context.action, context.t
    clips = context.services.generation.clips
    if not isinstance(action, ClipAction) or clips is None or query.message is None:
        await expired_button(update, context)
        return
    source = await own_video(query, context, action.task_id)
    if source is None:
        return
    if isinstance(action, ContinueStory):
        await _continue(query, context, t, source)
        return
    with clips.turn(source.user_id) as ours:
        # A double tap must not join or round twice (counted only once it is the user's turn:
        # a press told to wait may be made again).
        key = f"{type(action).__name__}:{source.id}:{query.message.message_id}"
        if not ours:
            text = t._("⏳ Your last join or round video is still being made: one at a time.")
            await answer(query, text, show_alert=True)
        elif await context.services.presses.before(key):
            await answer(query, t._("This video is already on its way."))
        elif isinstance(action, JoinStory):
            await _join(query, context, t, source, clips)
        else:
            await _round(query, t, source, clips)


async def _continue(
    query: CallbackQuery, context: BotContext, t: Translator, source: TaskRecord
) -> None:
    # A double tap opens one card, not two.
    if await context.services.presses.before(f"next:{source.id}:{_message(query).message_id}"):
        await answer(query)
        return
    if not can_continue(source):
        text = t.ngettext(
            "A story keeps up to {n} clip. Join it, or start a new one with a photo.",
            "A story keeps up to {n} clips. Join them, or start a new one with a photo.",
            MAX_STORY_CLIPS,
        )
        await answer(query, text, show_alert=True)
        return
    await answer(query)
    video = _message(query)
    placeholder = await video.reply_text(t._("⏳ Taking the video's last frame…"), do_quote=True)
    record = await context.services.drafts.continue_story(
        source,
        chat_id=video.chat.id,
        card_message_id=placeholder.message_id,
        reply_to=video.message_id,
    )
    if record is None:
        await placeholder.edit_text(
            t._("I can no longer get this video's last frame. Send a photo to start a new story.")
        )


async def _join(
    query: CallbackQuery, context: BotContext, t: Translator, source: TaskRecord, clips: Clips
) -> None:
    if not can_join(source):
        await answer(query, t._("Tap “Continue” first: then there is a story to join."))
        return
    await answer(
        query,
        t.ngettext("🎞 Joining {n} clip…", "🎞 Joining {n} clips…", source.story_part),
    )
    video = _message(query)
    await video.chat.send_action(ChatAction.UPLOAD_VIDEO)
    result = await clips.join(source)
    if isinstance(result, Joined):
        try:
            with result.path.open("rb") as joined:
                await video.reply_video(
                    # Streamed from disk as it uploads, like every video.
                    InputFile(joined, filename="story.mp4", read_file_handle=False),
                    caption=t.ngettext(
                        "🎞 Your story: {n} clip", "🎞 Your story: {n} clips", result.clips
                    ),
                    width=result.meta.width,
                    height=result.meta.height,
                    duration=result.meta.duration,
                    supports_streaming=True,
                    do_quote=True,
                    read_timeout=UPLOAD_TIMEOUT,
                    write_timeout=UPLOAD_TIMEOUT,
                )
        finally:
            result.path.unlink(missing_ok=True)
        return
    await video.reply_text(_join_refused(t, result), do_quote=True)


def _join_refused(t: Translator, result: ClipMissing | TooLarge) -> str:
    if isinstance(result, TooLarge):
        return t._(
            "🎞 The joined story would be larger than {mb} MB, more than a bot may send. "
            "Tap <b>Join</b> under an earlier clip to join fewer.",
            mb=result.limit // 1_000_000,
        )
    return t._(
        "🎞 Clip {n} of this story is no longer available: Telegram gives bots back files of "
        "up to {mb} MB, and the video service's link has expired. Every clip is still in "
        "this chat.",
        n=result.part,
        mb=FileSizeLimit.FILESIZE_DOWNLOAD // 1_000_000,
    )


async def _round(query: CallbackQuery, t: Translator, source: TaskRecord, clips: Clips) -> None:
    await answer(query, t._("⭕ Making a round video…"))
    video = _message(query)
    await video.chat.send_action(ChatAction.RECORD_VIDEO_NOTE)
    result = await clips.round_note(source)
    if not isinstance(result, Rounded):
        await video.reply_text(
            t._(
                "⭕ This video is no longer available to me: Telegram gives bots back files "
                "of up to {mb} MB, and the video service's link has expired.",
                mb=FileSizeLimit.FILESIZE_DOWNLOAD // 1_000_000,
            ),
            do_quote=True,
        )
        return
    try:
        with result.path.open("rb") as note:
            await video.reply_video_note(
                InputFile(note, filename="round.mp4", read_file_handle=False),
                length=result.note.side,
                duration=result.note.seconds,
                do_quote=True,
                read_timeout=UPLOAD_TIMEOUT,
                write_timeout=UPLOAD_TIMEOUT,
            )
    finally:
        result.path.unlink(missing_ok=True)


def _message(query: CallbackQuery) -> Message:
    video = query.message
    assert isinstance(video, Message)  # checked by clip_button
    return video
