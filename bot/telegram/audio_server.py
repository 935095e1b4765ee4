"""A tiny public HTTP server for uploaded soundtracks (only when PUBLIC_BASE_URL is set).

The API accepts custom audio only as a public URL, and a Telegram file link would expose the
bot token, so the bot serves the file itself under an unguessable name until the task ends.
"""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web

from bot.domain.soundtrack import served_path

log = logging.getLogger(__name__)

CONTENT_TYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav"}


class AudioServer:
    def __init__(self, audio_dir: Path, host: str, port: int) -> None:
        self._audio_dir = audio_dir
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/audio/{name}", self._serve)
        app.router.add_get("/healthz", self._health)
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

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")
