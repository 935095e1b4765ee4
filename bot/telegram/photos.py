"""A card's photo fetched again from Telegram by its file id: what a replica does when the
card was opened on another one (its kept copy is on that replica's disk)."""

from __future__ import annotations

from telegram import Bot
from telegram.error import TelegramError

from bot.images import ImageConverter, ImageError, PreparedImage
from bot.lifecycle.ports import PhotoUnavailableError


class TelegramPhotos:
    def __init__(self, bot: Bot, images: ImageConverter) -> None:
        self._bot = bot
        self._images = images

    async def fetch(self, photo_file_id: str) -> PreparedImage:
        try:
            telegram_file = await self._bot.get_file(photo_file_id)
            raw = bytes(await telegram_file.download_as_bytearray())
        except TelegramError as exc:
            raise PhotoUnavailableError(f"Telegram: {exc.message}") from exc
        try:
            return await self._images.prepare(raw)
        except ImageError as exc:  # it was usable once; a changed converter may say no now
            raise PhotoUnavailableError(f"not usable: {exc}") from exc
