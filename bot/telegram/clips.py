"""A delivered video again from Telegram by its file id: for a join, a round note, or its last
frame on a replica that did not deliver it. Downloaded to disk, never held in memory."""

from __future__ import annotations

from pathlib import Path

from telegram import Bot
from telegram.error import TelegramError

from bot.lifecycle.ports import ClipUnavailableError


class TelegramClips:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def download(self, video_file_id: str, dest: Path) -> None:
        """Into `dest`, in a folder that exists; what a failure leaves there is the caller's
        to delete (it deletes `dest` in any case)."""
        try:
            telegram_file = await self._bot.get_file(video_file_id)
            await telegram_file.download_to_drive(dest)
        except TelegramError as exc:  # "file is too big" past 20 MB, an id gone
            raise ClipUnavailableError(f"Telegram: {exc.message}") from exc
