"""A fake apimart API for wan2.6-i2v-flash: every documented rule checked, faults on demand.

Validation follows shared/api/README.md; a request the real API would refuse fails here with
the same HTTP status and error shape, so a wrong request fails the test.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import io
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from PIL import Image

from .clips import clip_bytes
from .mp4 import make_mp4
from .server import serve

MODEL = "wan2.6-i2v-flash"
MAX_IMAGE_BYTES = 10 * 1024 * 1024
DATA_URL = re.compile(r"^data:(image/[a-z+.-]+);base64,(.*)$", re.DOTALL)
PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/bmp": "BMP", "image/webp": "WEBP"}
KNOWN_FIELDS = {
    "model", "image_urls", "prompt", "negative_prompt", "resolution", "duration", "audio",
    "audio_url", "prompt_extend", "shot_type", "seed", "watermark", "template", "webhook",
}  # fmt: skip
ERROR_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 402: "payment_required",
    403: "permission_error", 429: "rate_limit_error", 500: "server_error",
    502: "bad_gateway", 503: "server_error", 504: "server_error",
}  # fmt: skip
DEFAULT_SCRIPT = (("pending", 0), ("processing", 30), ("processing", 70), ("completed", 100))


@dataclass
class Fault:
    """What the next matching call gets instead of a normal answer."""

    status: int | None = None  # an HTTP error status
    retry_after: int | None = None
    disconnect: bool = False  # close the connection without an answer
    delay: float = 0.0  # answer late (before the normal answer)


_FAULT = web.RequestKey("fault", Fault)  # on a request answered with an injected Fault


@dataclass
class FakeTask:
    task_id: str
    body: dict[str, Any]
    script: list[tuple[str, int]]
    step: int = 0
    hold: bool = False
    error: dict[str, Any] | None = None
    url_as_string: bool = False
    video: bytes = b""
    polls: int = 0
    audio_fetch: tuple[int, bytes] | None = None
    # A task that runs for a time (benchmarks): progress grows with the clock, not the polls.
    runs_for: float | None = None
    started: float = 0.0
    answered_completed: float | None = None  # when a status query was first told "completed"

    @property
    def completes_at(self) -> float | None:
        return None if self.runs_for is None else self.started + self.runs_for


@dataclass
class ErrorAnswer:
    """An error the fake answered: `injected` when it was a `Fault` the test queued."""

    call: str  # "POST /v1/videos/generations"
    status: int
    message: str
    injected: bool = False

    def __str__(self) -> str:
        return f"apimart {self.call}: {self.status} {self.message}"


@dataclass
class Submission:
    body: dict[str, Any]
    headers: dict[str, str]
    task_id: str | None = None
    status: int = 200
    at: float = field(default_factory=time.monotonic)


class FakeApimart:
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.submissions: list[Submission] = []
        self.tasks: dict[str, FakeTask] = {}
        self.status_queries: list[str] = []
        self.downloads: list[str] = []
        self.submit_faults: list[Fault] = []
        self.status_faults: list[Fault] = []
        self.submit_delay = 0.0
        self.video_delay = 0.0  # seconds before a result video's download answers
        self.hold_new_tasks = False
        self.static_files: dict[str, bytes] = {}  # public files, e.g. a soundtrack link
        self.refused_templates: set[str] = set()
        # The real limit is unpublished: a test that wants one sets it.
        self.prompt_limit: int | None = None
        self.script: list[tuple[str, int]] = list(DEFAULT_SCRIPT)
        self.video_padding = 1024
        # Real H.264 clips of this size instead of a bare MP4 header (issue 22's frames and
        # joins), each with its own last colour; two seconds whatever was asked (fast to make).
        self.clip_size: tuple[int, int] | None = None
        # Benchmarks: new tasks run for this many seconds (by their request), then complete
        # and, when the request names a webhook, POST the callback as the service does.
        self.run_time: Callable[[dict[str, Any]], float] | None = None
        # GET /api/pricing/model: its real shape is undocumented; by default an answer the
        # bot cannot read prices from (so it keeps its configured table).
        self.pricing: Any = {"code": 200, "data": {"model": MODEL, "billing": "per_request"}}
        self.pricing_requests: list[str] = []
        self.error_answers: list[ErrorAnswer] = []  # every error answered, in order
        self._callbacks: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024, middlewares=[self._record_errors])
        app.router.add_post("/v1/videos/generations", self._submit)
        app.router.add_get("/v1/tasks/{task_id}", self._status)
        app.router.add_get("/f/video/{name}", self._video)
        app.router.add_get("/static/{name}", self._static)
        app.router.add_get("/api/pricing/model", self._pricing)
        self._runner, self.url = await serve(app)
        return self.url

    async def stop(self) -> None:
        for callback in list(self._callbacks):
            callback.cancel()
        if self._runner:
            await self._runner.cleanup()

    # -- control ---------------------------------------------------------------------------
    def errors(self) -> list[ErrorAnswer]:
        """The errors answered that no `Fault` of the test asked for: a request the real
        API would refuse (a bad field, a wrong key), a task or file it does not know."""
        return [e for e in self.error_answers if not e.injected]

    def accepted(self) -> list[Submission]:
        return [s for s in self.submissions if s.task_id]

    def add_completed_task(
        self, task_id: str, duration: int = 5, *, hold: bool = False
    ) -> FakeTask:
        """A task accepted before the test began (a bot restart) that has finished since, or
        (`hold`) that finishes once released."""
        script = [("processing", 50), ("completed", 100)] if hold else [("completed", 100)]
        task = FakeTask(task_id, {"duration": duration}, script, hold=hold)
        self.tasks[task_id] = task
        return task

    async def finish_and_call_back(self, task_id: str, *, times: int = 1) -> list[int]:
        """The task completes upstream and the service POSTs its status to the request's
        `<webhook>/callback`, `times` times in a row (it retries and may repeat itself)."""
        task = self.tasks[task_id]
        task.script, task.step, task.hold = [("completed", 100)], 0, False
        payload = {"code": 200, "data": self._task_json(None, task, "completed", 100)}
        url = task.body["webhook"] + "/callback"
        statuses = []
        async with aiohttp.ClientSession() as session:
            for _ in range(times):
                async with session.post(url, json=payload) as response:
                    statuses.append(response.status)
        return statuses

    def release(self, task_id: str) -> None:
        self.tasks[task_id].hold = False

    def fail_task(self, task_id: str, message: str, *, status: str = "failed") -> None:
        task = self.tasks[task_id]
        task.script = [(status, task.script[task.step][1])]
        task.step = 0
        task.error = {"code": "DataInspectionFailed", "message": message, "type": "task_failed"}
        task.hold = False

    def _run_timed(self, task: FakeTask, seconds: float) -> None:
        task.runs_for, task.started = seconds, time.monotonic()
        if "webhook" in task.body:
            callback = asyncio.get_running_loop().create_task(self._call_back_when_done(task))
            self._callbacks.add(callback)
            callback.add_done_callback(self._callbacks.discard)

    async def _call_back_when_done(self, task: FakeTask) -> None:
        assert task.completes_at is not None
        await asyncio.sleep(max(0.0, task.completes_at - time.monotonic()))
        payload = {"code": 200, "data": self._task_json(None, task, "completed", 100)}
        with contextlib.suppress(aiohttp.ClientError):
            async with aiohttp.ClientSession() as session:
                await session.post(task.body["webhook"] + "/callback", json=payload)

    async def wait_for(self, predicate, timeout: float = 10.0) -> Any:
        async def check() -> Any:
            async with self._changed:
                while not (result := predicate()):
                    await self._changed.wait()
                return result

        return await asyncio.wait_for(check(), timeout)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- endpoints -------------------------------------------------------------------------
    @web.middleware
    async def _record_errors(self, request: web.Request, handler: Any) -> web.StreamResponse:
        response = await handler(request)
        if response.status >= 400:
            message = ""
            if isinstance(response, web.Response) and isinstance(response.body, bytes):
                message = response.body.decode(errors="replace")
                with contextlib.suppress(ValueError, TypeError, KeyError):
                    message = json.loads(message)["error"]["message"]
            call = f"{request.method} {request.path}"
            self.error_answers.append(
                ErrorAnswer(call, response.status, message, injected=_FAULT in request)
            )
        return response

    async def _submit(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        submission = Submission(body={}, headers=dict(request.headers))
        self.submissions.append(submission)
        try:
            response = await self._fault_or_none(request, self.submit_faults)
            if response is not None:
                submission.status = response.status
                return response
            if (denied := self._auth(request)) is not None:
                submission.status = denied.status
                return denied
            try:
                body = json.loads(raw)
            except ValueError:
                submission.status = 400
                return _error(400, "invalid JSON body")
            submission.body = body
            problem = validate_generation(body)
            if (
                not problem
                and self.prompt_limit
                and len(body.get("prompt", "")) > self.prompt_limit
            ):
                problem = f"prompt length must not exceed {self.prompt_limit} characters"
            if not problem and body.get("template") in self.refused_templates:
                problem = f"template {body['template']} is not supported by {MODEL}"
            if problem:
                submission.status = 400
                return _error(400, problem)
            if self.submit_delay:
                await asyncio.sleep(self.submit_delay)
            task_id = f"task_{next(self._ids):026d}"
            submission.task_id = task_id
            task = FakeTask(task_id, body, list(self.script), hold=self.hold_new_tasks)
            self.tasks[task_id] = task
            if self.run_time is not None:
                self._run_timed(task, self.run_time(body))
            if "audio_url" in body and body.get("audio", True):
                # The service fetches custom audio itself while the task runs.
                task.audio_fetch = await _fetch(body["audio_url"])
                if task.audio_fetch[0] != 200:
                    task.script = [("failed", 0)]
                    task.error = {
                        "code": "InvalidParameter",
                        "type": "task_failed",
                        "message": "audio_url could not be downloaded",
                    }
            return web.json_response(
                {"code": 200, "data": [{"status": "submitted", "task_id": task_id}]}
            )
        finally:
            await self._notify()

    async def _status(self, request: web.Request) -> web.StreamResponse:
        task_id = request.match_info["task_id"]
        self.status_queries.append(task_id)
        try:
            response = await self._fault_or_none(request, self.status_faults)
            if response is not None:
                return response
            if (denied := self._auth(request)) is not None:
                return denied
            task = self.tasks.get(task_id)
            if task is None:
                return _error(404, "task not found")
            task.polls += 1
            if task.runs_for is not None:
                status, progress = _timed_status(task)
                if status == "completed" and task.answered_completed is None:
                    task.answered_completed = time.monotonic()
                return web.json_response(
                    {"code": 200, "data": self._task_json(request, task, status, progress)}
                )
            status, progress = task.script[task.step]
            if task.step < len(task.script) - 1:
                final_next = task.script[task.step + 1][0] in ("completed", "failed", "cancelled")
                if not (task.hold and final_next):
                    task.step += 1
            return web.json_response(
                {"code": 200, "data": self._task_json(request, task, status, progress)}
            )
        finally:
            await self._notify()

    async def _pricing(self, request: web.Request) -> web.StreamResponse:
        self.pricing_requests.append(request.query.get("model", ""))
        if (denied := self._auth(request)) is not None:
            return denied
        if self.pricing is None:
            return _error(503, "pricing temporarily unavailable")
        return web.json_response(self.pricing)

    async def _video(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.downloads.append(name)
        task = self.tasks.get(name.removesuffix(".mp4"))
        await self._notify()
        if self.video_delay:
            await asyncio.sleep(self.video_delay)
        if task is None or not task.video:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=task.video, content_type="video/mp4")

    async def _static(self, request: web.Request) -> web.StreamResponse:
        data = self.static_files.get(request.match_info["name"])
        if data is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=data, content_type="audio/mpeg")

    # -- helpers ---------------------------------------------------------------------------
    def _auth(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(401, "Invalid API key")
        return None

    async def _fault_or_none(
        self, request: web.Request, faults: list[Fault]
    ) -> web.StreamResponse | None:
        if not faults:
            return None
        fault = faults.pop(0)
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.disconnect:
            request.transport.close()  # type: ignore[union-attr]
            raise asyncio.CancelledError
        if fault.status:
            request[_FAULT] = fault  # asked for: not an error of the bot's making
            headers = (
                {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
            )
            return _error(fault.status, f"injected {fault.status}", headers=headers)
        return None

    def _task_json(
        self, request: web.Request | None, task: FakeTask, status: str, progress: int
    ) -> dict[str, Any]:
        now = int(time.time())
        data: dict[str, Any] = {
            "id": task.task_id,
            "status": status,
            "progress": progress,
            "created": now,
            "estimated_time": 120 if task.runs_for is None else round(task.runs_for),
        }
        if status == "completed":
            if not task.video and self.clip_size is not None:
                task.video = clip_bytes(
                    *self.clip_size, 2, last_colour=last_colour_of(task.task_id)
                )
            if not task.video:
                task.video = make_mp4(
                    1280,
                    720,
                    int(task.body.get("duration", 5)),
                    self.video_padding,
                    task.task_id.encode(),
                )
            url = f"{self.url}/f/video/{task.task_id}.mp4"
            data["completed"] = now
            data["result"] = {
                "videos": [
                    {"url": url if task.url_as_string else [url], "expires_at": now + 86400}
                ]
            }
        if status in ("failed", "cancelled") and task.error:
            data["error"] = task.error
        return data


def _timed_status(task: FakeTask) -> tuple[str, int]:
    assert task.runs_for is not None
    elapsed = time.monotonic() - task.started
    if elapsed >= task.runs_for:
        return "completed", 100
    if elapsed < 1.0:
        return "pending", 0
    return "processing", min(99, int(100 * elapsed / task.runs_for))


async def _fetch(url: str) -> tuple[int, bytes]:
    """GET a URL (only ever one on 127.0.0.1 in tests); (0, b"") when it cannot be reached."""
    try:
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return response.status, await response.read()
    except aiohttp.ClientError:
        return 0, b""


def validate_generation(body: Any) -> str | None:
    """The documented rules of POST /v1/videos/generations; None when the body is valid."""
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    unknown = set(body) - KNOWN_FIELDS
    if unknown:
        return f"unknown parameter: {sorted(unknown)[0]}"
    if body.get("model") != MODEL:
        return f"model must be {MODEL}"
    images = body.get("image_urls")
    if not isinstance(images, list) or len(images) != 1 or not isinstance(images[0], str):
        return "image_urls must be an array of exactly 1 image"
    if problem := _check_image(images[0]):
        return problem
    for name in ("prompt", "negative_prompt", "template"):
        if name in body and not isinstance(body[name], str):
            return f"{name} must be a string"
    if len(body.get("negative_prompt", "")) > 500:
        return "negative_prompt must be at most 500 characters"
    if body.get("resolution", "1080p") not in ("720p", "1080p"):
        return "resolution must be 720p or 1080p"
    duration = body.get("duration", 5)
    if type(duration) is not int or not 2 <= duration <= 15:
        return "duration must be an integer from 2 to 15"
    for name in ("audio", "prompt_extend", "watermark"):
        if name in body and not isinstance(body[name], bool):
            return f"{name} must be a boolean"
    if body.get("shot_type", "single") not in ("single", "multi"):
        return "shot_type must be single or multi"
    seed = body.get("seed", 0)
    if type(seed) is not int or not 0 <= seed <= 2147483647:
        return "seed must be an integer from 0 to 2147483647"
    for name in ("audio_url", "webhook"):
        if name in body and not re.match(r"^https?://", str(body[name])):
            return f"{name} must be a public http(s) URL"
    return None


def _check_image(url: str) -> str | None:
    if re.match(r"^https?://", url):
        return None
    match = DATA_URL.match(url)
    if match is None:
        return "image_urls[0] must be an http(s) URL or a base64 data URL"
    if len(url) > MAX_IMAGE_BYTES:
        return "image must be at most 10MB"
    mime, payload = match.groups()
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return "image data is not valid base64"
    try:
        with Image.open(io.BytesIO(raw)) as image:
            actual, size, mode = image.format, image.size, image.mode
    except Exception:
        return "image data cannot be decoded"
    if PIL_FORMATS.get(mime) != actual:
        return f"image MIME type {mime} does not match its content ({actual})"
    if not all(240 <= side <= 8000 for side in size):
        return "image width and height must be between 240 and 8000 pixels"
    if actual == "PNG" and mode in ("RGBA", "LA", "PA"):
        return "PNG images with transparency are not supported"
    return None


def _error(status: int, message: str, *, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(
        {"error": {"code": status, "message": message, "type": ERROR_TYPES.get(status, "error")}},
        status=status,
        headers=headers,
    )


def last_colour_of(task_id: str) -> tuple[int, int, int]:
    """A task's own flat last frame: a test tells which video a frame came from."""
    digest = hashlib.sha256(task_id.encode()).digest()
    return (digest[0], digest[1], digest[2])
