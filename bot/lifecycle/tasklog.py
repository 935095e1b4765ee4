"""One log prefix for every line about a task: its id, user and chat."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

from bot.domain.records import TaskRecord


class TaskLog(logging.LoggerAdapter[logging.Logger]):
    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        extra = self.extra or {}
        return f"task {extra['task']} user {extra['user']} chat {extra['chat']}: {msg}", kwargs


def task_log(logger: logging.Logger, record: TaskRecord) -> TaskLog:
    return TaskLog(logger, {"task": record.id, "user": record.user_id, "chat": record.chat_id})
