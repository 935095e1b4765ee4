"""A photo (or image file) with a caption in, a settings card out; replies edit the prompt."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import replace

from telegram import Document, Message, PhotoSize, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError

from ..cards import card_text
from ..context import BotContext
from ..images import MIN_SIDE, ImageTooSmallError, NotAnImageError, prepare_image
from ..keyboards import card_keyboard
from ..records import TaskRecord, TaskState
from .common import reply

log = logging.getLogger(__name__)

IMAGE_TYPES = {"image/jpeg", "image/png", "image/webp", "image/bmp", "image/x-ms-bmp"}
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
# Bots may download files up to 20 MB through the Bot API.
DOWNLOAD_LIMIT = 20 * 1024 * 1024


async def receive_image(update: Update, context: BotContext) -> None:
    """Validate the image, keep it, and answer with a settings card."""
    message = update.effective_message
    t = await context.translator(update)
    source = _image_source(message)
    if source is None:
        await reply(
            message,
            t._(
                "⚠️ That file is not an image I can use. Send a photo or a "
                "JPG, PNG, WEBP or BMP file."
            ),
        )
        return
    if (source.file_size or 0) > DOWNLOAD_LIMIT:
        await reply(
            message,
            t._(
                "⚠️ That file is larger than 20 MB, the most a bot can "
                "download. Send it as a photo instead."
            ),
        )
        return
    try:
        telegram_file = await source.get_file()
        raw = bytes(await telegram_file.download_as_bytearray())
    except TelegramError as exc:
        log.warning("chat %s: image download failed: %s", message.chat_id, exc)
        await reply(message, t._("⚠️ I could not download that image. Please send it again."))
        return
    try:
        image = await asyncio.to_thread(prepare_image, raw)
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
        return
    except NotAnImageError:
        await reply(
            message,
            t._(
                "⚠️ That file is not an image I can use. Send a photo or a "
                "JPG, PNG, WEBP or BMP file."
            ),
        )
        return

    services = context.services
    profile = await services.storage.get_user(update.effective_user.id)
    task_id = uuid.uuid4().hex[:16]
    record = TaskRecord(
        id=task_id,
        user_id=update.effective_user.id,
        chat_id=message.chat_id,
        source_message_id=message.message_id,
        image_file=services.generation.save_image(task_id, image),
        image_width=image.width,
        image_height=image.height,
        prompt=(message.caption or "").strip(),
        settings=profile.settings,
        language=t.locale,
        created_at=time.time(),
    )
    card = await message.reply_text(
        card_text(t, record),
        parse_mode=ParseMode.HTML,
        reply_markup=card_keyboard(t, record),
        do_quote=True,
    )
    await services.storage.add_task(replace(record, card_message_id=card.message_id))
    log.info(
        "task %s chat %s: card %s for user %s",
        task_id,
        message.chat_id,
        card.message_id,
        record.user_id,
    )


async def reply_to_card(update: Update, context: BotContext) -> None:
    """Text sent as a reply to a card replaces that card's prompt."""
    message = update.effective_message
    t = await context.translator(update)
    target = message.reply_to_message
    services = context.services
    record = await services.storage.find_card(message.chat_id, target.message_id)
    if record is None:
        await text_without_photo(update, context)
        return
    if record.user_id != update.effective_user.id:
        return
    updated = await services.storage.update_task(
        record.id, expect={TaskState.DRAFT}, prompt=message.text.strip(), notice="", error=""
    )
    if updated is None:
        await reply(
            message, t._("This card has already been used. Send the photo again for a new video.")
        )
        return
    await services.generation.messenger.show_card(updated)


async def text_without_photo(update: Update, context: BotContext) -> None:
    """Plain text: point the user at what the bot needs."""
    t = await context.translator(update)
    await reply(
        update.effective_message,
        t._(
            "📷 Send me a photo with a caption describing "
            "the motion, and I'll turn it into a video."
        ),
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
