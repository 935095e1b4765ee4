"""The lifecycle's `VideoApi` on the apimart client: our requests as apimart's, its answers
and errors as ours (the client owns its errors; the caller maps them at its boundary, as
python-open-meteo leaves it to Home Assistant)."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from bot.apimart import (
    ApimartAuthenticationError,
    ApimartError,
    ApimartInsufficientBalanceError,
    ApimartInvalidRequestError,
    ApimartRateLimitError,
    DownloadGoneError,
    DownloadTooLargeError,
    GenerationRequest,
    TaskStatus,
)
from bot.apimart import SubmitOutcomeUnknownError as ApimartOutcomeUnknown
from bot.domain.records import TaskRecord
from bot.images import PreparedImage
from bot.lifecycle.ports import (
    ResultGoneError,
    ResultTooLargeError,
    ServiceBalanceError,
    ServiceBusyError,
    ServiceKeyError,
    ServiceUnreachableError,
    SubmitOutcomeUnknownError,
    SubmitRefusedError,
    VideoServiceError,
    VideoStatus,
)

T = TypeVar("T")


class ApimartApi(Protocol):
    """The part of `bot.apimart.ApimartClient` this adapter uses."""

    async def submit(self, request: GenerationRequest, *, idempotency_key: str) -> str: ...

    async def get_task(self, task_id: str, *, language: str = "en") -> TaskStatus: ...

    async def download(self, url: str, dest: Path, *, max_bytes: int) -> int: ...

    async def get_pricing(self) -> Any: ...


def generation_request(
    record: TaskRecord, image: PreparedImage, webhook: str | None = None
) -> GenerationRequest:
    """The body is exactly what the card shows (and, with a public address, where to call
    back: an unguessable per-attempt path, never a secret of ours)."""
    settings = record.settings
    return GenerationRequest(
        image_data_url=image.data_url(),
        prompt=record.prompt,
        resolution=settings.resolution,
        duration=settings.duration,
        audio=settings.audio,
        prompt_extend=settings.prompt_extend,
        shot_type=settings.shot_type,
        watermark=settings.watermark,
        seed=record.seed_used,
        negative_prompt=settings.negative_prompt,
        audio_url=record.soundtrack_url,
        template=record.template,
        webhook=webhook,
    )


# Most specific first: a SubmitOutcomeUnknownError is an ApimartError too.
_ERRORS: tuple[tuple[type[ApimartError], type[VideoServiceError]], ...] = (
    (ApimartOutcomeUnknown, SubmitOutcomeUnknownError),
    (DownloadGoneError, ResultGoneError),
    (DownloadTooLargeError, ResultTooLargeError),
    (ApimartInvalidRequestError, SubmitRefusedError),
    (ApimartAuthenticationError, ServiceKeyError),
    (ApimartInsufficientBalanceError, ServiceBalanceError),
    # Connection refused, timeouts and 5xx after the client's own retries.
    (ApimartError, ServiceUnreachableError),
)


def video_service_error(error: ApimartError) -> VideoServiceError:
    """The lifecycle's error for one of the client's."""
    if isinstance(error, ApimartRateLimitError):
        return ServiceBusyError(error.message, error.retry_after)
    kind = next(ours for theirs, ours in _ERRORS if isinstance(error, theirs))
    return kind(error.message)


def video_status(status: TaskStatus) -> VideoStatus:
    return VideoStatus(
        status=status.status,
        progress=status.progress,
        video_url=status.video_url,
        expires_at=status.expires_at,
        estimated_time=status.estimated_time,
        error=status.error.message if status.error else "",
        seed=status.seed,
    )


@dataclass
class ApimartVideoApi:
    client: ApimartApi

    async def submit(
        self,
        record: TaskRecord,
        image: PreparedImage,
        *,
        webhook: str | None,
        idempotency_key: str,
    ) -> str:
        request = generation_request(record, image, webhook)
        return await _mapped(self.client.submit(request, idempotency_key=idempotency_key))

    async def get_task(self, task_id: str, *, language: str = "en") -> VideoStatus:
        return video_status(await _mapped(self.client.get_task(task_id, language=language)))

    async def download(self, url: str, dest: Path, *, max_bytes: int) -> int:
        return await _mapped(self.client.download(url, dest, max_bytes=max_bytes))

    async def get_pricing(self) -> object:
        return await _mapped(self.client.get_pricing())


async def _mapped(call: Awaitable[T]) -> T:
    try:
        return await call
    except ApimartError as exc:
        raise video_service_error(exc) from exc
