"""Small pieces every handler file shares."""

from __future__ import annotations

from telegram import Message
from telegram.constants import ParseMode

from ..i18n import Translator


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
                "/settings: your default settings\n/language: the bot's language\n"
                "/cancel: drop unfinished cards\n/help: this message"
            ),
        ]
    )
