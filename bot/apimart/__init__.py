"""The apimart API client (contract: shared/api/README.md)."""

from .client import ApimartClient
from .errors import (
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
from .models import MODEL, GenerationRequest, TaskError, TaskStatus

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
