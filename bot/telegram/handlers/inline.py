"""Inline mode: "@<bot> words" in any chat lists the user's own delivered videos, newest
first, those whose prompt has the words; choosing one sends it there by Telegram's file id
(no upload). Enabled with @BotFather's /setinline (README)."""

from __future__ import annotations

import logging

from telegram import InlineQueryResultCachedVideo, Update
from telegram.constants import InlineQueryLimit
from telegram.error import BadRequest

from bot.domain.history import HistoryEntry
from bot.i18n import Translator
from bot.telegram.cards import effect_name
from bot.telegram.context import BotContext
from bot.telegram.history_view import when_made
from bot.telegram.messenger import is_too_late
from bot.text import is_number, truncate

log = logging.getLogger(__name__)

# Results are the user's own (is_personal) and change with every video: a short cache.
SHARE_CACHE_SECONDS = 10
TITLE_LIMIT = 64


async def share_videos(update: Update, context: BotContext) -> None:
    query = update.inline_query
    if query is None:
        return
    t = context.t
    entries = await context.services.privacy.shareable(query.from_user.id, query.query)
    start = int(query.offset) if is_number(query.offset) else 0  # "²" is a digit, no int
    page = entries[start : start + InlineQueryLimit.RESULTS]
    following = start + len(page)
    try:
        await query.answer(
            [_result(t, entry) for entry in page],
            cache_time=SHARE_CACHE_SECONDS,
            is_personal=True,
            next_offset=str(following) if following < len(entries) else "",
        )
    except BadRequest as exc:  # typed on, or a backlog: Telegram stopped waiting
        if not is_too_late(exc):
            raise
        log.info("inline query of user %s answered too late", query.from_user.id)


def _result(t: Translator, entry: HistoryEntry) -> InlineQueryResultCachedVideo:
    assert entry.video_file_id is not None  # shareable: delivered videos only
    about = effect_name(t, entry.template) if entry.template else entry.prompt
    made = when_made(entry.created_at, t.locale)
    return InlineQueryResultCachedVideo(
        id=entry.id,
        video_file_id=entry.video_file_id,
        title=truncate(about or t._("Video of {when}", when=made), TITLE_LIMIT),
        description=" · ".join(
            (made, entry.settings.resolution, t._("{n} s", n=entry.settings.duration))
        ),
    )
