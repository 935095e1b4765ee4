"""Serve an aiohttp app on a random port of 127.0.0.1 (the only address tests may use)."""

from __future__ import annotations

from aiohttp import web

# How long stopping a fake waits for requests still being answered before it cancels them.
# aiohttp's default is 60 s; a test's teardown would otherwise wait out the long-poll
# `getUpdates` the stopped bot left behind (~1 s each). 0 would mean "no limit" to aiohttp.
SHUTDOWN_TIMEOUT = 0.05


async def serve(app: web.Application, port: int = 0) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"
