"""Small pieces every handler file shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from telegram import Message
from telegram.constants import ParseMode

from bot.domain.caption_flags import VALID_FLAGS
from bot.domain.records import TaskRecord, TaskState
from bot.domain.settings import GenerationSettings
from bot.i18n import Translator
from bot.telegram.context import BotContext
from bot.text import escape


async def reply(message: Message, text: str) -> None:
    """Reply in HTML to the user's message (quoting it, if it still exists)."""
    await message.reply_text(text, parse_mode=ParseMode.HTML, do_quote=True)


def help_text(t: Translator) -> str:
    return "\n".join(
        [
            t._("🎬 <b>Turn a photo into a short video</b>"),
            "",
            t._(
                "1. Send a photo (or an image file: JPG, PNG, WEBP, BMP) with a caption that "
                "describes the motion, e.g. <i>the cat turns its head, camera slowly zooms "
                "in</i>."
            ),
            t._(
                "2. Pick resolution, duration (2–15 s) and sound on the card, then tap "
                "<b>Generate</b>."
            ),
            t._(
                "3. Wait a few minutes: the card shows the progress and the video arrives as a "
                "reply to your photo."
            ),
            "",
            t._(
                "Reply to a card with text to change its prompt. Your choices become your "
                "defaults."
            ),
            "",
            t._(
                "⚙️ <b>More options</b> (the card's ⚙️ More page): prompt rewriting, single "
                "or multi-shot, watermark, seed. ✨ Effects animates the photo with a template."
            ),
            "",
            t._(
                "<b>Caption shortcuts</b>, at the end of the caption: {flags}",
                flags=escape(" ".join(VALID_FLAGS)),
            ),
            t._('Example: <code>the cat dances --1080p --10s --seed 42 --no "blurry"</code>'),
            "",
            t._(
                "🎵 Send an MP3 or WAV file (3–30 s, up to 15 MB) or a link to one to use it as "
                "the soundtrack of your next video."
            ),
            "",
            t._(
                "👥 In groups: send a photo whose caption starts with /video, or reply to a "
                "photo with <code>/video your prompt</code>."
            ),
            "",
            t._(
                "/settings: your default settings\n/language: the bot's language\n"
                "/seed 42: fix the seed (/seed alone: random)\n/negative text: what to avoid "
                "(/negative alone: clear)\n/cancel: drop unfinished cards\n/help: this message"
            ),
        ]
    )


async def change_defaults(
    context: BotContext,
    user_id: int,
    chat_id: int,
    transform: Callable[[GenerationSettings], GenerationSettings],
) -> None:
    """Change the user's defaults and every open card of theirs in this chat alike."""
    services = context.services
    profile = await services.storage.get_user(user_id)
    await services.storage.save_user(replace(profile, settings=transform(profile.settings)))
    for record in await services.storage.tasks_in({TaskState.DRAFT}, user_id=user_id):
        if record.chat_id != chat_id:
            continue
        updated = await services.storage.update_task(
            record.id, expect={TaskState.DRAFT}, settings=transform(record.settings)
        )
        if updated is not None:
            await services.generation.messenger.show_card(updated)


async def latest_draft(context: BotContext, user_id: int, chat_id: int) -> TaskRecord | None:
    drafts = [
        r
        for r in await context.services.storage.tasks_in({TaskState.DRAFT}, user_id=user_id)
        if r.chat_id == chat_id
    ]
    return max(drafts, key=lambda r: r.created_at) if drafts else None
