"""Logging set-up: one line per event, and secrets never reach the output."""

from __future__ import annotations

import logging
from collections.abc import Iterable

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_FORMATTER = logging.Formatter(FORMAT)


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


def configure_logging(
    level: str, secrets: Iterable[str], reported: tuple[type[BaseException], ...] = ()
) -> None:
    """`reported`: exceptions the caller explains in one line itself, so no traceback."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
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
