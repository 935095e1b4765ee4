"""Expire: close cards nobody came back to, so disk use stays bounded."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.domain.records import TaskState
from bot.domain.transitions import CLAIMABLE
from bot.lifecycle.ending import TaskEnding
from bot.lifecycle.files import TaskFiles
from bot.storage import Storage

log = logging.getLogger(__name__)

CARD_MAX_AGE = 7 * 24 * 3600.0


async def expire_cards(
    storage: Storage,
    files: TaskFiles,
    ending: TaskEnding,
    clock: Callable[[], float],
    max_age: float = CARD_MAX_AGE,
) -> int:
    """Close abandoned drafts and failed tasks never retried within `max_age` seconds, and
    delete their photo and soundtrack. Returns how many were closed."""
    now = clock()
    closed = 0
    for record in await storage.tasks_in(CLAIMABLE):
        if now - (record.finished_at or record.created_at) < max_age:
            continue
        if await ending.finish(record, TaskState.CLOSED, expect_version=record.version):
            if record.state is TaskState.DRAFT:  # never made into a video: nothing to redo
                files.forget_photo(record)
            closed += 1
    if closed:
        log.info("closed %s cards left alone for more than %.0f hours", closed, max_age / 3600)
    return closed
