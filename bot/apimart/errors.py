"""What can go wrong talking to apimart, as a short hierarchy callers can act on."""

from __future__ import annotations

from typing import Any


class ApimartError(Exception):
    """Base class; `message` is the API's own text when it sent one."""

    def __init__(self, message: str, *, status: int | None = None, code: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class ApimartConnectionError(ApimartError):
    """The request did not get an answer (connection refused, reset, DNS)."""


class ApimartTimeoutError(ApimartConnectionError):
    """No answer in time."""


class ApimartAuthenticationError(ApimartError):
    """401/403: the operator's key is wrong or lacks permission."""


class ApimartInsufficientBalanceError(ApimartError):
    """402: the account's balance or quota is exhausted."""


class ApimartRateLimitError(ApimartError):
    """429; `retry_after` is the server's hint in seconds, when it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ApimartInvalidRequestError(ApimartError):
    """400/404/422: the request will not succeed as it is; `message` says why."""


class ApimartServerError(ApimartError):
    """5xx from the service."""


class ApimartResponseError(ApimartError):
    """A 2xx answer we could not understand."""


class SubmitOutcomeUnknownError(ApimartError):
    """A generation POST was sent but whether the service accepted it is unknown.

    It must not be resubmitted silently: the task may exist and be billed.
    """


class DownloadTooLargeError(ApimartError):
    """The result is larger than we may upload."""

    def __init__(self, size: int | None, limit: int) -> None:
        super().__init__(f"download exceeds {limit} bytes")
        self.size = size
        self.limit = limit


class DownloadGoneError(ApimartError):
    """The result link answered 403/404/410: expired or removed."""
