"""A photo (or image file) with a caption in, a settings card out; replies edit the prompt."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from dataclasses import replace

from telegram import Document, Message, PhotoSize, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError

from bot.domain.caption_flags import VALID_FLAGS, CaptionFlags, FlagError, parse_caption
from bot.domain.records import TaskRecord
from bot.domain.settings import GenerationSettings
from bot.i18n import Translator
from bot.images import (
    MIN_SIDE,
    ImageTooSmallError,
    NotAnImageError,
    PreparedImage,
    prepare_image,
)
from bot.telegram.cards import card_text
from bot.telegram.context import BotContext
from bot.telegram.handlers.access import quota_left
from bot.telegram.handlers.common import reply
from bot.telegram.keyboards import card_keyboard
from bot.text import escape

log = logging.getLogger(__name__)

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
# Bots may download files up to 20 MB through the Bot API.
DOWNLOAD_LIMIT = 20 * 1024 * 1024


async def receive_image(update: Update, context: BotContext) -> None:
    """A photo or file: in private chats always, in groups only when meant for the bot."""
    message = update.effective_message
    caption = addressed_prompt(message.caption or "", context.bot.username)
    if caption is None:
        if message.chat.type != ChatType.PRIVATE:
            return  # a group photo for the people, not for the bot
        caption = message.caption or ""
    await open_card(update, context, message, caption)


async def video_command(update: Update, context: BotContext) -> None:
    """`/video <prompt>` sent as a reply to a photo (the way to use the bot in groups)."""
    message = update.effective_message
    target = message.reply_to_message
    if target is None or not (target.photo or target.document):
        t = await context.translator(update)
        await reply(
            message,
            t._(
                "Reply to a photo with <code>/video your prompt</code>, or send "
                "a photo whose caption starts with /video."
            ),
        )
        return
    await open_card(update, context, target, " ".join(context.args or []))


def addressed_prompt(caption: str, bot_username: str) -> str | None:
    """The prompt of a caption that starts with /video[@bot] or mentions @bot; else None."""
    match = re.match(r"^\s*/video(@\w+)?(\s+|$)", caption, re.IGNORECASE)
    if match and (not match.group(1) or match.group(1)[1:].lower() == bot_username.lower()):
        return caption[match.end() :].strip()
    mention = re.compile(rf"@{re.escape(bot_username)}\b", re.IGNORECASE)
    if bot_username and mention.search(caption):
        return mention.sub("", caption).strip()
    return None


async def open_card(update: Update, context: BotContext, message: Message, caption: str) -> None:
    """Validate the image of `message`, keep it, and answer it with a settings card."""
    t = await context.translator(update)
    try:
        flags = parse_caption(caption)
    except FlagError as exc:
        await reply(update.effective_message, _flag_error(t, exc))
        return
    image = await _prepared_image(message, t)
    if image is None:
        return

    services = context.services
    profile = await services.storage.get_user(update.effective_user.id)
    settings = _with_flags(profile.settings, flags)
    soundtrack = profile.soundtrack
    if soundtrack is not None:
        settings = settings.with_audio(True)
    task_id = uuid.uuid4().hex[:16]
    record = TaskRecord(
        id=task_id,
        user_id=update.effective_user.id,
        chat_id=message.chat_id,
        source_message_id=message.message_id,
        image_file=services.generation.save_image(task_id, image),
        image_width=image.width,
        image_height=image.height,
        prompt=flags.prompt,
        settings=settings,
        language=t.locale,
        created_at=time.time(),
        soundtrack_url=soundtrack.url if soundtrack else None,
        soundtrack_file=soundtrack.file if soundtrack else None,
        quota_left=await quota_left(context, update.effective_user.id, time.time()),
    )
    card = await message.reply_text(
        card_text(t, record),
        parse_mode=ParseMode.HTML,
        reply_markup=card_keyboard(t, record),
        do_quote=True,
    )
    await services.storage.add_task(replace(record, card_message_id=card.message_id))
    if soundtrack is not None:  # a soundtrack is for the next video only
        await services.storage.save_user(replace(profile, soundtrack=None))
    log.info(
        "task %s user %s chat %s: card %s",
        task_id,
        record.user_id,
        message.chat_id,
        card.message_id,
    )


async def _prepared_image(message: Message, t: Translator) -> PreparedImage | None:
    """The message's image, ready for the API; None after telling the user what is wrong."""
    source = _image_source(message)
    if source is None:
        await reply(message, _not_an_image(t))
        return None
    if (source.file_size or 0) > DOWNLOAD_LIMIT:
        await reply(
            message,
            t._(
                "⚠️ That file is larger than 20 MB, the most a bot can "
                "download. Send it as a photo instead."
            ),
        )
        return None
    try:
        telegram_file = await source.get_file()
        raw = bytes(await telegram_file.download_as_bytearray())
    except TelegramError as exc:
        log.warning("chat %s: image download failed: %s", message.chat_id, exc)
        await reply(message, t._("⚠️ I could not download that image. Please send it again."))
        return None
    try:
        return await asyncio.to_thread(prepare_image, raw)
    except ImageTooSmallError as exc:
        await reply(
            message,
            t._(
                "⚠️ This image is {width}×{height} px. Each side must be at "
                "least {minimum} px: please send a larger one.",
                width=exc.width,
                height=exc.height,
                minimum=MIN_SIDE,
            ),
        )
    except NotAnImageError:
        await reply(message, _not_an_image(t))
    return None


def _not_an_image(t: Translator) -> str:
    return t._(
        "⚠️ That file is not an image I can use. Send a photo or a JPG, PNG, WEBP or BMP file."
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


def _with_flags(settings: GenerationSettings, flags: CaptionFlags) -> GenerationSettings:
    """Caption shortcuts override the defaults for this card only."""
    if flags.resolution:
        settings = settings.with_resolution(flags.resolution)
    if flags.duration:
        settings = settings.with_duration(flags.duration)
    if flags.audio is not None:
        settings = settings.with_audio(flags.audio)
    if flags.shot_type:
        settings = settings.with_shot_type(flags.shot_type)
    if flags.seed is not None:
        settings = settings.with_seed(flags.seed)
    if flags.negative_prompt is not None:
        settings = settings.with_negative_prompt(flags.negative_prompt)
    return settings


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
