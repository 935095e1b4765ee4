"""The apimart API client (contract: shared/api/README.md)."""

from bot.apimart.client import ApimartClient
from bot.apimart.errors import (
    ApimartAuthenticationError,
    ApimartConnectionError,
    ApimartError,
    ApimartInsufficientBalanceError,
    ApimartInvalidRequestError,
    ApimartRateLimitError,
    ApimartResponseError,
    ApimartServerError,
    ApimartTimeoutError,
    DownloadGoneError,
    DownloadTooLargeError,
    SubmitOutcomeUnknownError,
)
from bot.apimart.models import MODEL, GenerationRequest, TaskError, TaskStatus

__all__ = [
    "MODEL",
    "ApimartAuthenticationError",
    "ApimartClient",
    "ApimartConnectionError",
    "ApimartError",
    "ApimartInsufficientBalanceError",
    "ApimartInvalidRequestError",
    "ApimartRateLimitError",
    "ApimartResponseError",
    "ApimartServerError",
    "ApimartTimeoutError",
    "DownloadGoneError",
    "DownloadTooLargeError",
    "GenerationRequest",
    "SubmitOutcomeUnknownError",
    "TaskError",
    "TaskStatus",
]
