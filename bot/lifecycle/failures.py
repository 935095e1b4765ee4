"""Every way a task can go wrong, and what each means: its next state, notice and log level."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import Enum

from bot.domain.notices import Notice
from bot.domain.records import TaskState
from bot.lifecycle.ports import (
    ServiceBalanceError,
    ServiceBusyError,
    ServiceKeyError,
    SubmitOutcomeUnknownError,
    SubmitRefusedError,
    VideoServiceError,
)


class Failure(Enum):
    IMAGE_MISSING = "image file is missing"
    OUTCOME_UNKNOWN = "submit outcome unknown"
    RESTARTED_IN_SUBMIT = "restart during submit, outcome unknown"
    REFUSED = "request refused"
    PROMPT_TOO_LONG = "request refused: prompt too long"
    KEY_REJECTED = "API key rejected: check APIMART_API_KEY"
    NO_BALANCE = "apimart balance exhausted: top up the account"
    RATE_LIMITED = "rate limited on submit"
    UNREACHABLE = "submit failed"
    FAILED_UPSTREAM = "failed upstream"
    NO_VIDEO = "completed without a video"
    LINK_GONE = "result link gone"
    DEADLINE = "deadline passed"
    CHAT_GONE = "chat unreachable, closing"


@dataclass(frozen=True)
class Outcome:
    state: TaskState  # DRAFT: certainly not accepted, the user may adjust and retry
    notice: Notice | None
    level: int
    alert: bool = False  # the operators must act
    redraw: bool = True  # False when the chat can no longer be reached


OUTCOMES: dict[Failure, Outcome] = {
    Failure.IMAGE_MISSING: Outcome(TaskState.DRAFT, Notice.INVALID_REQUEST, logging.ERROR),
    Failure.OUTCOME_UNKNOWN: Outcome(TaskState.UNKNOWN, Notice.OUTCOME_UNKNOWN, logging.WARNING),
    Failure.RESTARTED_IN_SUBMIT: Outcome(
        TaskState.UNKNOWN, Notice.OUTCOME_UNKNOWN, logging.WARNING
    ),
    Failure.REFUSED: Outcome(TaskState.DRAFT, Notice.INVALID_REQUEST, logging.INFO),
    Failure.PROMPT_TOO_LONG: Outcome(TaskState.DRAFT, Notice.PROMPT_TOO_LONG, logging.INFO),
    Failure.KEY_REJECTED: Outcome(
        TaskState.DRAFT, Notice.SERVICE_UNAVAILABLE, logging.CRITICAL, alert=True
    ),
    Failure.NO_BALANCE: Outcome(TaskState.DRAFT, Notice.NO_BALANCE, logging.CRITICAL, alert=True),
    Failure.RATE_LIMITED: Outcome(TaskState.DRAFT, Notice.BUSY, logging.WARNING),
    Failure.UNREACHABLE: Outcome(TaskState.DRAFT, Notice.UNREACHABLE, logging.WARNING),
    Failure.FAILED_UPSTREAM: Outcome(TaskState.FAILED, Notice.API_FAILED, logging.INFO),
    Failure.NO_VIDEO: Outcome(TaskState.FAILED, Notice.NO_VIDEO, logging.WARNING),
    Failure.LINK_GONE: Outcome(TaskState.FAILED, Notice.LINK_EXPIRED, logging.WARNING),
    Failure.DEADLINE: Outcome(TaskState.TIMED_OUT, Notice.TIMED_OUT, logging.WARNING),
    Failure.CHAT_GONE: Outcome(TaskState.CLOSED, None, logging.WARNING, redraw=False),
}

_SUBMIT_ERRORS: tuple[tuple[type[VideoServiceError], Failure], ...] = (
    (SubmitOutcomeUnknownError, Failure.OUTCOME_UNKNOWN),
    (SubmitRefusedError, Failure.REFUSED),
    (ServiceKeyError, Failure.KEY_REJECTED),
    (ServiceBalanceError, Failure.NO_BALANCE),
    (ServiceBusyError, Failure.RATE_LIMITED),
    # Unreachable, or anything else: certainly not accepted.
    (VideoServiceError, Failure.UNREACHABLE),
)


# The model's prompt limit is not published; a refusal that names it is told as such.
_PROMPT_LENGTH = re.compile(r"prompt.{0,40}(too long|length|exceed|characters|max)", re.I)


def submit_failure(error: VideoServiceError) -> Failure:
    failure = next(failure for kind, failure in _SUBMIT_ERRORS if isinstance(error, kind))
    if failure is Failure.REFUSED and _PROMPT_LENGTH.search(error.message):
        return Failure.PROMPT_TOO_LONG
    return failure
