"""One log prefix for every line about a task: its id, user and chat — also as the record's
fields `task`, `user` and `chat`, for structured logs (LOG_FORMAT=json)."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

from bot.domain.records import TaskRecord
from bot.logs import TASK_PREFIX


class TaskLog(logging.LoggerAdapter[logging.Logger]):
    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        extra = dict(self.extra or {})
        kwargs["extra"] = {**extra, **kwargs.get("extra", {})}
        return f"{TASK_PREFIX.format(**extra)}{msg}", kwargs


def task_log(logger: logging.Logger, record: TaskRecord) -> TaskLog:
    return TaskLog(logger, {"task": record.id, "user": record.user_id, "chat": record.chat_id})
