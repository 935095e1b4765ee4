"""The Telegram side of the task lifecycle: redraw cards, upload videos."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from telegram import InputFile, ReplyParameters
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot.domain.notices import Notice
from bot.domain.records import TaskRecord, TaskState
from bot.i18n import Catalogues, Translator
from bot.lifecycle.billing import Billing
from bot.lifecycle.ports import (
    ChatUnreachableError,
    DeliveryRetryableError,
    DeliveryUncertainError,
    SentVideo,
)
from bot.lifecycle.prices import Prices
from bot.lifecycle.tasklog import task_log
from bot.mp4 import VideoMeta
from bot.telegram.cards import (
    CardCredits,
    card_text,
    link_text,
    maybe_sent_text,
    video_caption,
)
from bot.telegram.keyboards import card_keyboard, video_keyboard
from bot.telegram.traffic import BACKGROUND, DROPPABLE, SUPERSEDABLE, DroppedError

log = logging.getLogger(__name__)

UPLOAD_TIMEOUT = 300.0
_GONE_CHAT = ("chat not found", "bot was kicked", "user is deactivated", "group chat was")


def is_not_modified(error: BadRequest) -> bool:
    return "message is not modified" in error.message.lower()


def is_too_late(error: BadRequest) -> bool:
    """A button press answered after Telegram stopped waiting (a backlog, heavy load)."""
    return "query is too old" in error.message.lower()


class TelegramMessenger:
    def __init__(
        self,
        bot: ExtBot[str],
        catalogues: Catalogues,
        prices: Prices | None = None,
        billing: Billing | None = None,
    ) -> None:
        self._bot = bot
        self._catalogues = catalogues
        self._prices = prices
        self._billing = billing

    async def post_card(self, record: TaskRecord) -> int | None:
        t = self._catalogues.translator(record.language)
        try:
            message = await self._bot.send_message(
                chat_id=record.chat_id,
                text=await self._card_text(t, record),
                reply_markup=card_keyboard(t, record, billing_on=self._billing is not None),
                reply_parameters=self._reply_to(record),
            )
        except TelegramError as exc:
            task_log(log, record).warning("card not sent: %s", exc)
            return None
        return message.message_id

    async def show_card(self, record: TaskRecord) -> None:
        # Only the newest redraw of a card matters: a quicker press replaces a waiting one.
        await self._edit_card(record, SUPERSEDABLE)

    async def show_progress(self, record: TaskRecord) -> bool:
        shown = await self._edit_card(record, DROPPABLE)
        if shown:
            # "recording a video…" at the top of the chat for a few seconds: it is working.
            with contextlib.suppress(TelegramError):
                await self._bot.send_chat_action(record.chat_id, ChatAction.RECORD_VIDEO)
        return shown

    async def _edit_card(self, record: TaskRecord, rate_limit_args: str | None) -> bool:
        if record.card_message_id is None:
            return False
        t = self._catalogues.translator(record.language)
        try:
            await self._bot.edit_message_text(
                chat_id=record.chat_id,
                message_id=record.card_message_id,
                text=await self._card_text(t, record),
                reply_markup=card_keyboard(t, record, billing_on=self._billing is not None),
                rate_limit_args=rate_limit_args,
            )
        except DroppedError:
            task_log(log, record).debug("card edit dropped: the flood budget is busy")
            return False
        except TelegramError as exc:
            # The card is a view of stored state: a missed redraw loses nothing.
            if not (isinstance(exc, BadRequest) and is_not_modified(exc)):
                task_log(log, record).warning("card not updated: %s", exc)
        return True

    async def _card_text(self, t: Translator, record: TaskRecord) -> str:
        return card_text(
            t,
            record,
            self._prices.current if self._prices else None,  # billing off: the cost basis
            await self._credits(record),
            billing_on=self._billing is not None,
        )

    async def _credits(self, record: TaskRecord) -> CardCredits | None:
        """With BILLING=stars, a draft shows its price in credits next to the balance."""
        if self._billing is None or record.state is not TaskState.DRAFT:
            return None
        account = await self._billing.account(record.user_id)
        group = await self._billing.account(record.chat_id) if record.group_wallet else None
        return CardCredits(
            self._billing.price(record.settings),
            account.balance,
            None if group is None else group.balance,
        )

    async def send_video(self, record: TaskRecord, path: Path, meta: VideoMeta) -> SentVideo:
        if record.deliver_private:  # a group that sends videos to each member in private
            try:
                return await self._send_video(record, path, meta, private=True)
            except ChatUnreachableError as exc:  # never started the bot, or blocked it
                task_log(log, record).info("not sent in private (%s): sent in the group", exc)
        return await self._send_video(record, path, meta, private=False)

    async def _send_video(
        self, record: TaskRecord, path: Path, meta: VideoMeta, *, private: bool
    ) -> SentVideo:
        t = self._catalogues.translator(record.language)
        try:
            with path.open("rb") as video:
                message = await self._bot.send_video(
                    chat_id=record.user_id if private else record.chat_id,
                    # Streamed from disk as it uploads: a 50 MB video is never held in memory.
                    video=InputFile(video, filename="video.mp4", read_file_handle=False),
                    caption=video_caption(t, record),
                    parse_mode=None,  # plain text: the prompt as the user wrote it
                    width=meta.width,
                    height=meta.height,
                    duration=meta.duration or record.settings.duration,
                    supports_streaming=True,
                    reply_parameters=None if private else self._reply_to(record),
                    reply_markup=video_keyboard(t, record),
                    read_timeout=UPLOAD_TIMEOUT,
                    write_timeout=UPLOAD_TIMEOUT,
                    rate_limit_args=BACKGROUND,
                )
        except TelegramError as exc:
            if _answer_lost(exc):  # Telegram may have it: never uploaded again
                raise DeliveryUncertainError(str(exc)) from exc
            mapped = _delivery_error(exc)
            if mapped is not None:
                raise mapped from exc
            if not isinstance(exc, BadRequest):
                raise
            task_log(log, record).warning("video refused (%s), sending the link", exc.message)
            return SentVideo(await self.send_link(record))
        file_id = message.video.file_id if message.video else None
        return SentVideo(message.message_id, file_id, in_private=private)

    async def send_link(self, record: TaskRecord, *, maybe_sent: bool = False) -> int:
        t = self._catalogues.translator(record.language)
        try:
            message = await self._bot.send_message(
                chat_id=record.chat_id,
                text=maybe_sent_text(t, record) if maybe_sent else link_text(t, record),
                reply_parameters=self._reply_to(record),
                rate_limit_args=BACKGROUND,
            )
        except TelegramError as exc:
            mapped = _delivery_error(exc)
            if mapped is None:
                raise
            raise mapped from exc
        return message.message_id

    async def alert_admins(self, admin_ids: frozenset[int], notice: Notice) -> None:
        for admin_id in sorted(admin_ids):
            t = self._catalogues.translator()
            text = (
                t._(
                    "🚨 apimart rejected the API key: users can't generate videos. Check "
                    "APIMART_API_KEY."
                )
                if notice == Notice.SERVICE_UNAVAILABLE
                else t._(
                    "🚨 The apimart balance is exhausted: users can't generate videos. "
                    "Top up the account."
                )
            )
            try:
                await self._bot.send_message(chat_id=admin_id, text=text)
            except TelegramError as exc:
                log.warning("admin %s could not be alerted: %s", admin_id, exc)

    @staticmethod
    def _reply_to(record: TaskRecord) -> ReplyParameters:
        return ReplyParameters(record.source_message_id, allow_sending_without_reply=True)


def _answer_lost(error: TelegramError) -> bool:
    """A timeout or a dropped connection during an upload: the request may have reached
    Telegram (a 429, a refusal or a blocked chat are answers, so not these). A request
    refused by PTB's own client, closed by a stop (a RuntimeError inside), never left."""
    never_sent = isinstance(error.__cause__, RuntimeError)
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest) and not never_sent


def _delivery_error(error: TelegramError) -> Exception | None:
    """What a failed send means for the task: chat gone or try later; None: a plain failure."""
    if isinstance(error, Forbidden) or (isinstance(error, BadRequest) and is_chat_gone(error)):
        return ChatUnreachableError(error.message)
    if isinstance(error, RetryAfter | NetworkError) and not isinstance(error, BadRequest):
        return DeliveryRetryableError(str(error))
    return None


def is_chat_gone(error: BadRequest) -> bool:
    text = error.message.lower()
    return any(marker in text for marker in _GONE_CHAT)
