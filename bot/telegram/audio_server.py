"""A tiny public HTTP server for uploaded soundtracks (only when PUBLIC_BASE_URL is set).

The API accepts custom audio only as a public URL, and a Telegram file link would expose the
bot token, so the bot serves the file itself under an unguessable name until the task ends.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from bot.domain.soundtrack import served_path

log = logging.getLogger(__name__)

CONTENT_TYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav"}


class AudioServer:
    """Also where apimart calls back when a task ends (`/hooks/<token>/callback`)."""

    def __init__(
        self,
        audio_dir: Path,
        host: str,
        port: int,
        on_callback: Callable[[str], Awaitable[bool]] | None = None,
    ) -> None:
        self._audio_dir = audio_dir
        self._on_callback = on_callback
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/audio/{name}", self._serve)
        app.router.add_get("/healthz", self._health)
        app.router.add_post("/hooks/{token}/callback", self._callback)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        log.info("serving soundtracks on %s:%s", self._host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        path = served_path(self._audio_dir, request.match_info["name"])
        if path is None or not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Content-Type": CONTENT_TYPES[path.suffix]})

    async def _callback(self, request: web.Request) -> web.Response:
        """A hint that a task ended; the bot asks the API itself before acting on it, so a
        forged or replayed call delivers nothing. An unknown path touches nothing: 404."""
        token = request.match_info["token"]
        if self._on_callback is None or not await self._on_callback(token):
            raise web.HTTPNotFound()
        return web.Response(text="ok")

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")
