"""Small pieces every handler file shares."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import CallbackQuery, Chat, Message, Update, User
from telegram.error import BadRequest

from bot.domain.caption_flags import VALID_FLAGS
from bot.i18n import Translator
from bot.telegram.messenger import is_too_late
from bot.text import escape


@dataclass(frozen=True)
class Incoming:
    """The message, sender and chat of an update that has all three (every message handler's)."""

    message: Message
    user: User
    chat: Chat


def incoming(update: Update) -> Incoming:
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None:
        raise ValueError("a message handler got an update without a message, user or chat")
    return Incoming(message, user, chat)


def pressed(update: Update) -> CallbackQuery:
    if update.callback_query is None:
        raise ValueError("a button handler got an update without a callback query")
    return update.callback_query


async def answer(query: CallbackQuery, text: str | None = None, show_alert: bool = False) -> None:
    """Answer a press. One handled after Telegram stopped waiting (a backlog after a restart,
    heavy load) cannot be answered any more: its work is done all the same."""
    try:
        await query.answer(text, show_alert=show_alert)
    except BadRequest as exc:
        if not is_too_late(exc):
            raise


async def reply(message: Message, text: str) -> None:
    """Reply to the user's message (quoting it, if it still exists), in HTML like every text."""
    await message.reply_text(text, do_quote=True)


def caption_example(t: Translator) -> str:
    """A caption with shortcuts, to copy: the prompt in the user's language, then the flags.

    In a right-to-left language the flags are one left-to-right isolate (LRI…PDI): without it
    an Arabic prompt right before "--1080p" makes 1080 an Arabic number, and the line shows
    "1080-- ‹prompt›p". A copied example still parses: captions lose their direction marks."""
    prompt, avoid = t._("the cat dances"), t._("blurry")
    flags = f'--1080p --10s --seed 42 --no "{avoid}"'
    if t.rtl:
        flags = f"\u2066{flags}\u2069"
    return f"<code>{escape(prompt)} {escape(flags)}</code>"


def help_text(t: Translator, billing_on: bool = False) -> str:
    return "\n".join(
        [
            t._("🎬 <b>Turn a photo into a short video</b>"),
            "",
            t._(
                "1. Send a photo (or an image file: JPG, PNG, WEBP, BMP, HEIC) with a caption "
                "that describes the motion, e.g. <i>the cat turns its head, camera slowly "
                "zooms in</i>."
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
            t._("Example: {example}", example=caption_example(t)),
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
            t._(
                "🏘 A group's admins choose who may make videos there, a daily allowance per "
                "member, the group's defaults and where videos go: /groupsettings. /groupallow "
                "(as a reply) allows a member; /groupstats shows the last 7 days."
            ),
            "",
            t._(
                "🔁 Under every video: <b>Again</b> (a new seed), <b>Edit</b> (a card to change "
                "it) and <b>×3</b> (three variations). /history lists your videos."
            ),
            t._(
                "⏭ <b>Continue</b> goes on from a video's last frame, <b>Join</b> makes one "
                "video of the story, <b>Round</b> sends it as a round video. A voice note can "
                "be a soundtrack too. Type the bot's @name in any chat to share your videos."
            ),
            "",
            t._(
                "/settings: your default settings\n/language: the bot's language\n"
                "/seed 42: fix the seed (/seed alone: random)\n/negative text: what to avoid "
                "(/negative alone: clear)\n/cancel: drop unfinished cards\n/help: this message"
            ),
            *(
                [
                    "",
                    t._(
                        "💳 Videos are paid with credits bought with Telegram Stars (/buy, "
                        "/balance). Credits are for this bot only; a video that fails gives its "
                        "credits back. Questions: /paysupport."
                    ),
                ]
                if billing_on
                else []
            ),
        ]
    )
