"""A photo (or image file) with a caption in, a settings card out; replies edit the prompt."""

from __future__ import annotations

import asyncio
import logging
import re

from telegram import Document, Message, PhotoSize, Update
from telegram.constants import ChatType, FileSizeLimit
from telegram.error import TelegramError

from bot.domain.caption_flags import VALID_FLAGS, FlagError, parse_caption
from bot.i18n import Translator
from bot.images import (
    MAX_PIXELS,
    MAX_SIDE,
    MIN_SIDE,
    FormatNotAllowedError,
    ImageConverter,
    ImageError,
    ImageTooLargeError,
    ImageTooNarrowError,
    ImageTooSmallError,
    PreparedImage,
)
from bot.lifecycle.drafts import NewCard
from bot.telegram.albums import AlbumPhoto
from bot.telegram.context import BotContext
from bot.telegram.filters import mention_of
from bot.telegram.handlers.card import who_refused_text
from bot.telegram.handlers.common import Incoming, incoming, reply
from bot.text import escape

log = logging.getLogger(__name__)

# A photo ready this soon is answered with its card alone; a slower one (a large file, twenty
# photos at once) gets a placeholder first, so nobody waits long for a sign of life.
CARD_WITHIN = 0.3

# What the API accepts, plus what Pillow can convert (a GIF gives its first frame).
IMAGE_TYPES = {
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/bmp",
    "image/x-ms-bmp",
    "image/gif",
    "image/tiff",
    "image/heic",
    "image/heif",
}
IMAGE_EXTENSIONS = (
    ".jpg",
    ".jpeg",
    ".png",
    ".webp",
    ".bmp",
    ".gif",
    ".tif",
    ".tiff",
    ".heic",
    ".heif",
)


async def receive_image(update: Update, context: BotContext) -> None:
    """A photo or file: in private chats always, in groups only when meant for the bot."""
    message = incoming(update).message
    if message.media_group_id:
        album = await context.services.albums.arrived(message.media_group_id)
        if album is AlbumPhoto.SECOND and message.chat.type == ChatType.PRIVATE:
            t = context.t
            await reply(
                message,
                t._("📎 One photo makes one video, so the card is for the album's first photo."),
            )
        if album is not AlbumPhoto.FIRST:
            return
    caption = addressed_prompt(message.caption or "", context.bot.username)
    if caption is None:
        if message.chat.type != ChatType.PRIVATE:
            return  # a group photo for the people, not for the bot
        caption = message.caption or ""
    await open_card(update, context, message, caption)


async def edit_caption(update: Update, context: BotContext) -> None:
    """An edited caption changes the prompt of that photo's card (while it is a draft); it
    never opens a second card."""
    sender = incoming(update)
    message = sender.message
    caption = addressed_prompt(message.caption or "", context.bot.username)
    if caption is None:
        if message.chat.type != ChatType.PRIVATE:
            return
        caption = message.caption or ""
    try:
        flags = parse_caption(caption)
    except FlagError as exc:
        t = context.t
        await reply(message, _flag_error(t, exc))
        return
    await context.services.drafts.recaption(
        sender.user.id, message.chat_id, message.message_id, flags
    )


async def video_command(update: Update, context: BotContext) -> None:
    """`/video <prompt>` sent as a reply to a photo (the way to use the bot in groups)."""
    message = incoming(update).message
    target = message.reply_to_message
    if target is None or not (target.photo or target.document):
        t = context.t
        await reply(
            message,
            t._(
                "Reply to a photo with <code>/video your prompt</code>, or send "
                "a photo whose caption starts with /video."
            ),
        )
        return
    await open_card(update, context, target, " ".join(context.args or []))


async def _refused_in_group(context: BotContext, sender: Incoming, chat_id: int) -> bool:
    """A group whose admins let only some members make videos, and this one is not among
    them: told so at once (True), before any card."""
    groups = context.services.generation.groups
    refused = None if groups is None else await groups.member_refused(chat_id, sender.user.id)
    if refused is None:
        return False
    await reply(sender.message, who_refused_text(context.t, refused) or "")
    return True


def addressed_prompt(caption: str, bot_username: str) -> str | None:
    """The prompt of a caption that starts with /video[@bot] or mentions @bot; else None."""
    match = re.match(r"^\s*/video(@\w+)?(\s+|$)", caption, re.IGNORECASE)
    if match and (not match.group(1) or match.group(1)[1:].lower() == bot_username.lower()):
        return caption[match.end() :].strip()
    mention = mention_of(bot_username)
    if mention.search(caption):
        return mention.sub("", caption).strip()
    return None


async def open_card(update: Update, context: BotContext, message: Message, caption: str) -> None:
    """Answer with the card itself when the photo is ready within `CARD_WITHIN` seconds
    (one message, half of a chat's flood budget); else with a placeholder first, turned into
    the card (or into the reason the image cannot be used) once it is."""
    sender = incoming(update)
    first_replies = context.services.first_replies
    t = context.t
    if await _refused_in_group(context, sender, message.chat_id):
        return
    async with first_replies.sending():
        try:
            flags = parse_caption(caption)
        except FlagError as exc:
            await reply(sender.message, _flag_error(t, exc))
            return
        source = _image_source(message)
        problem = _source_problem(source, t)
        if problem is not None or source is None:
            await reply(message, problem or _not_an_image(t))
            return
    preparing = asyncio.ensure_future(
        _prepared_after_first_replies(source, context, message.chat_id, t)
    )
    try:
        image = await asyncio.wait_for(asyncio.shield(preparing), CARD_WITHIN)
        placeholder = None
    except TimeoutError:
        async with first_replies.sending():
            placeholder = await message.reply_text(t._("⏳ Preparing your photo…"), do_quote=True)
        image = await preparing
    finally:
        preparing.cancel()  # only when this handler itself was cancelled or failed
    if isinstance(image, str):
        if placeholder is None:
            await reply(message, image)
        else:
            await placeholder.edit_text(image)
        return
    new = NewCard(
        user_id=sender.user.id,
        chat_id=message.chat_id,
        source_message_id=message.message_id,
        language=t.locale,
        flags=flags,
        image=image,
        photo_file_id=source.file_id,
    )
    card_message_id = placeholder.message_id if placeholder else None
    await context.services.drafts.open(new, card_message_id=card_message_id)


async def _prepared_after_first_replies(
    source: PhotoSize | Document, context: BotContext, chat_id: int, t: Translator
) -> PreparedImage | str:
    """Downloads and conversions wait while other chats' first replies are going out."""
    await context.services.first_replies.settled()
    return await _prepared_image(source, context.services.images, chat_id, t)


def _source_problem(source: PhotoSize | Document | None, t: Translator) -> str | None:
    """What is wrong with the file, as far as its description tells, without downloading."""
    if source is None:
        return _not_an_image(t)
    if (source.file_size or 0) > FileSizeLimit.FILESIZE_DOWNLOAD:  # what a bot may download
        return t._(
            "⚠️ That file is larger than 20 MB, the most a bot can "
            "download. Send it as a photo instead."
        )
    return None


async def _prepared_image(
    source: PhotoSize | Document, images: ImageConverter, chat_id: int, t: Translator
) -> PreparedImage | str:
    """The image, ready for the API, or what to tell the user instead."""
    try:
        telegram_file = await source.get_file()
        raw = bytes(await telegram_file.download_as_bytearray())
    except TelegramError as exc:
        log.warning("chat %s: image download failed: %s", chat_id, exc)
        return t._("⚠️ I could not download that image. Please send it again.")
    try:
        return await images.prepare(raw)
    except ImageError as exc:
        log.info("chat %s: image refused: %s", chat_id, exc)
        return _refusal(t, exc)


def _refusal(t: Translator, error: ImageError) -> str:
    """Why the image cannot be used, in the user's words."""
    match error:
        case ImageTooNarrowError(width=width, height=height):
            return t._(
                "⚠️ This image is {width}×{height} px, too long and narrow to use: its long "
                "side may be at most {ratio} times its short side. Please crop it and send it "
                "again.",
                width=width,
                height=height,
                ratio=MAX_SIDE // MIN_SIDE,
            )
        case ImageTooSmallError(width=width, height=height):
            return t._(
                "⚠️ This image is {width}×{height} px. Each side must be at "
                "least {minimum} px: please send a larger one.",
                width=width,
                height=height,
                minimum=MIN_SIDE,
            )
        case ImageTooLargeError(width=int(width), height=int(height)):
            return t._(
                "⚠️ This image is too big to process: {width}×{height} px. Send one of at "
                "most {limit} megapixels.",
                width=width,
                height=height,
                limit=MAX_PIXELS // 1_000_000,
            )
        case ImageTooLargeError():  # past Pillow's own limit: its size was never read
            return t._(
                "⚠️ This image is too big to process. Send one of at most {limit} megapixels.",
                limit=MAX_PIXELS // 1_000_000,
            )
        case FormatNotAllowedError():
            return t._(
                "⚠️ I can't use images in this format. Send a photo or a JPG, PNG, WEBP, HEIC, "
                "BMP, GIF or TIFF file."
            )
    return _not_an_image(t)


def _not_an_image(t: Translator) -> str:
    return t._(
        "⚠️ That file is not an image I can use. Send a photo or a JPG, PNG, WEBP, BMP or HEIC "
        "file."
    )


def _image_source(message: Message) -> PhotoSize | Document | None:
    if message.photo:
        return message.photo[-1]
    document = message.document
    if document is None:
        return None
    name = (document.file_name or "").lower()
    if document.mime_type in IMAGE_TYPES or name.endswith(IMAGE_EXTENSIONS):
        return document
    return None


def _flag_error(t: Translator, error: FlagError) -> str:
    flags = escape(" ".join(VALID_FLAGS))
    if error.unknown:
        return t._(
            "⚠️ I don't know the shortcut {flag}. Valid shortcuts: {flags}",
            flag=escape(error.flag),
            flags=flags,
        )
    return t._(
        "⚠️ The value of {flag} is missing or out of range. Valid shortcuts: {flags}",
        flag=escape(error.flag),
        flags=flags,
    )
