"""Logging set-up: one line per event, and secrets never reach the output."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
TASK_PREFIX = "task {task} user {user} chat {chat}: "  # every line about a task (tasklog)
_FORMATTER = logging.Formatter(FORMAT)
_log = logging.getLogger("bot.jobs")


class RedactSecrets(logging.Filter):
    """Replace known secrets in every record (httpx logs URLs that contain the bot token)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            # Exceptions can carry secrets too (PTB's InvalidToken message quotes the token).
            record.exc_text = self.redact(_FORMATTER.formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[REDACTED]")
        return text


class StoppedJobs(logging.Filter):
    """APScheduler cancels the jobs still running when the bot stops and logs each as an
    ERROR with a CancelledError traceback. A stop is not an error, and what a job left
    undone is resumed at the next start: one INFO line instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError):
            job = record.args[0] if isinstance(record.args, tuple) and record.args else "a job"
            _log.info("%s stopped by the shutdown; resumed at the next start", job)
            return False
        return True


# Installed on APScheduler's executor logger by every application (bot/application.py).
STOPPED_JOBS = StoppedJobs()
SCHEDULER_LOGGER = "apscheduler.executors.default"


class PoolReconnects(logging.Filter):
    """asyncpg's pool logs each failed attempt to reopen its connections, while PostgreSQL
    restarts, as an ERROR with a traceback; it tries again by itself and the bot's own lines
    say what waits for it. One WARNING line instead, with the error's kind."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            _log.warning(
                "database connection not restored yet (%s); retrying", type(error).__name__
            )
            return False
        return True


# Installed on asyncpg's pool logger by every application (bot/application.py).
POOL_RECONNECTS = PoolReconnects()
POOL_LOGGER = "asyncpg.pool"


class JsonFormatter(logging.Formatter):
    """One JSON object a line, for log pipelines: time, level, logger, message, and a task's
    `task`, `user` and `chat` as fields of their own (the text prefix left out)."""

    FIELDS = ("task", "user", "chat")

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        for name in self.FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if all(name in line for name in self.FIELDS):
            message = message.removeprefix(TASK_PREFIX.format(**line))
        line["message"] = message
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


def configure_logging(
    level: str,
    secrets: Iterable[str],
    reported: tuple[type[BaseException], ...] = (),
    *,
    json_lines: bool = False,
) -> None:
    """`reported`: exceptions the caller explains in one line itself, so no traceback."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(FORMAT))
    handler.addFilter(RedactSecrets(secrets))
    handler.addFilter(
        lambda record: not (record.exc_info and isinstance(record.exc_info[1], reported))
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # One line per Bot API request is noise, and those lines carry the token in the URL.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
