"""A small aiohttp client for apimart: submit a generation, query a task, download a result."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

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
from bot.apimart.models import MODEL, GenerationRequest, TaskStatus

log = logging.getLogger(__name__)

MAX_RETRY_AFTER = 30.0
ERROR_LANGUAGES = {"en", "zh", "ko", "ja"}


class ApimartClient:
    """One ClientSession for the app's lifetime; closed here only if opened here."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = "https://api.apimart.ai",
        session: aiohttp.ClientSession | None = None,
        request_timeout: float = 60.0,
        submit_attempts: int = 3,
        retry_delay: float = 1.0,
    ) -> None:
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._session = session
        self._owns_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=request_timeout, connect=10)
        self._submit_attempts = submit_attempts
        self._retry_delay = retry_delay

    async def __aenter__(self) -> ApimartClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    async def submit(self, request: GenerationRequest, *, idempotency_key: str) -> str:
        """POST a generation and return its task id.

        Retried only when the service certainly did not accept it (connection refused, 429,
        503). A timeout or 500/502/504 after sending raises SubmitOutcomeUnknownError.
        """
        headers = {"Idempotency-Key": idempotency_key}
        for attempt in range(1, self._submit_attempts + 1):
            try:
                payload = await self._request(
                    "POST", "/v1/videos/generations", json=request.to_json(), headers=headers
                )
            except ApimartError as exc:
                await asyncio.sleep(self._submit_retry_delay(exc, attempt))
                continue
            return _task_id_from_submit(payload)
        raise AssertionError("unreachable")

    def _submit_retry_delay(self, error: ApimartError, attempt: int) -> float:
        """How long to wait before posting again; raises when posting again is not safe."""
        _raise_unless_refused(error)
        if attempt == self._submit_attempts:
            if isinstance(error, _NotSentError):
                raise ApimartConnectionError(str(error)) from error
            raise error
        retry_after = error.retry_after if isinstance(error, ApimartRateLimitError) else None
        return self._backoff(attempt, retry_after)

    async def get_task(self, task_id: str, *, language: str = "en") -> TaskStatus:
        """GET the task's status; idempotent, so callers may retry freely."""
        params = {"language": language if language in ERROR_LANGUAGES else "en"}
        try:
            payload = await self._request("GET", f"/v1/tasks/{task_id}", params=params)
        except _NotSentError as exc:
            raise ApimartConnectionError(str(exc)) from exc
        data = payload.get("data")
        if isinstance(data, list) and data:
            data = data[0]
        if not isinstance(data, dict):
            raise ApimartResponseError("task response has no data object")
        try:
            return TaskStatus.from_json(task_id, data)
        except (ValueError, TypeError) as exc:
            raise ApimartResponseError(f"unreadable task status: {exc}") from exc

    async def get_pricing(self) -> Any:
        """The provider's price list for the model (its shape is undocumented: raw JSON)."""
        try:
            return await self._request("GET", "/api/pricing/model", params={"model": MODEL})
        except _NotSentError as exc:
            raise ApimartConnectionError(str(exc)) from exc

    async def download(self, url: str, dest: Path, *, max_bytes: int) -> int:
        """Stream `url` into `dest` (never the whole video in memory); return its size.

        No Authorization header: the result host is not the API and needs none.
        """
        timeout = aiohttp.ClientTimeout(total=900, connect=10, sock_read=60)
        try:
            async with self._http().get(url, timeout=timeout) as response:
                if response.status in (401, 403, 404, 410):
                    raise DownloadGoneError(f"HTTP {response.status}", status=response.status)
                if response.status >= 400:
                    raise ApimartServerError(f"HTTP {response.status}", status=response.status)
                if response.content_length and response.content_length > max_bytes:
                    raise DownloadTooLargeError(response.content_length, max_bytes)
                size = 0
                with dest.open("wb") as out:
                    async for chunk in response.content.iter_chunked(256 * 1024):
                        size += len(chunk)
                        if size > max_bytes:
                            raise DownloadTooLargeError(None, max_bytes)
                        out.write(chunk)
                return size
        except TimeoutError as exc:
            raise ApimartTimeoutError("download timed out") from exc
        except aiohttp.ClientError as exc:
            raise ApimartConnectionError(f"download failed: {type(exc).__name__}") from exc

    async def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._api_key}", **kwargs.pop("headers", {})}
        url = self._base_url + path
        try:
            async with self._http().request(
                method, url, headers=headers, timeout=self._timeout, **kwargs
            ) as response:
                body = await response.read()
                status = response.status
                retry_after = response.headers.get("Retry-After")
        except TimeoutError as exc:
            raise ApimartTimeoutError(f"{method} {path} timed out") from exc
        except aiohttp.ClientConnectorError as exc:
            raise _NotSentError(f"{method} {path}: cannot connect ({exc.os_error})") from exc
        except aiohttp.ClientError as exc:
            raise ApimartConnectionError(f"{method} {path}: {type(exc).__name__}") from exc
        payload = _json_or_none(body)
        if 200 <= status < 300:
            if not isinstance(payload, dict):
                raise ApimartResponseError(f"{method} {path}: response is not a JSON object")
            return payload
        raise _error_for(status, payload, retry_after)

    def _backoff(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER)
        return float(self._retry_delay * 2 ** (attempt - 1))


class _NotSentError(ApimartConnectionError):
    """The connection was never made, so the request certainly did not arrive."""


def _raise_unless_refused(error: ApimartError) -> None:
    """Raise what a failed POST means, unless the service certainly did not accept it
    (never connected, 429, 503): only then is posting again safe."""
    if isinstance(error, _NotSentError | ApimartRateLimitError):
        return
    if isinstance(error, ApimartServerError) and error.status == 503:
        return
    if isinstance(error, ApimartConnectionError):  # sent, maybe received; a timeout too
        raise SubmitOutcomeUnknownError(str(error)) from error
    if isinstance(error, ApimartServerError):
        raise SubmitOutcomeUnknownError(error.message, status=error.status) from error
    raise error


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def _task_id_from_submit(payload: dict[str, Any]) -> str:
    data = payload.get("data")
    if isinstance(data, list) and data:
        data = data[0]
    task_id = data.get("task_id") or data.get("id") if isinstance(data, dict) else None
    if not isinstance(task_id, str) or not task_id:
        raise SubmitOutcomeUnknownError("submit response carries no task_id")
    return task_id


def _error_for(status: int, payload: Any, retry_after: str | None) -> ApimartError:
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        error = {}
    message = str(error.get("message") or f"HTTP {status}")
    code = error.get("code")
    if status in (401, 403):
        return ApimartAuthenticationError(message, status=status, code=code)
    if status == 402:
        return ApimartInsufficientBalanceError(message, status=status, code=code)
    if status == 429:
        return ApimartRateLimitError(
            message, status=status, code=code, retry_after=_seconds(retry_after)
        )
    if 400 <= status < 500:
        return ApimartInvalidRequestError(message, status=status, code=code)
    return ApimartServerError(message, status=status, code=code)


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
