"""The bot's one web application: everything it serves over HTTP, on one listening socket.

- `POST /telegram`: Telegram's webhook (webhook mode only). PTB's custom-webhook pattern: the
  Application has no Updater, and each update is put on `application.update_queue`. Telegram
  proves itself with the secret token in a header; the path is fixed and carries no secret,
  since proxies log paths.
- `POST /hooks/<token>/callback`: apimart's hint that a task ended.
- `GET /audio/<name>`: uploaded soundtracks. The API accepts custom audio only as a public URL,
  and a Telegram file link would expose the bot token, so the bot serves the file itself under
  an unguessable name until the task ends.
- `GET /healthz`: 200 and `{"storage": "ok", "telegram": "ok"}` when both are reachable; 503
  naming what is not (a load balancer or an orchestrator stops sending work there).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from aiohttp import web
from telegram import Bot, Update
from telegram.ext import ExtBot

from bot.domain.soundtrack import is_served_name
from bot.lifecycle.ports import SoundtrackStore

log = logging.getLogger(__name__)

CONTENT_TYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav"}
WEBHOOK_PATH = "/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# In-flight requests get this long to finish at the stop (a webhook answer takes milliseconds).
SHUTDOWN_TIMEOUT = 5.0


@dataclass(frozen=True)
class Webhook:
    """Where Telegram's updates go: Telegram presents `secret` in SECRET_HEADER."""

    secret: str = field(repr=False)
    bot: Bot
    queue: asyncio.Queue[object]
    path: str = WEBHOOK_PATH

    def admits(self, presented: str | None) -> bool:
        """Constant time, on bytes: a str compare_digest raises on non-ASCII input, and the
        header is whatever the caller sent."""
        given = (presented or "").encode("utf-8", "surrogateescape")
        return hmac.compare_digest(given, self.secret.encode())


class WebApp:
    """One aiohttp application, started in post_init and stopped before the Application."""

    def __init__(
        self,
        soundtracks: SoundtrackStore,
        host: str,
        port: int,
        on_callback: Callable[[str], Awaitable[bool]] | None = None,
        webhook: Webhook | None = None,
        checks: Mapping[str, Callable[[], Awaitable[object]]] | None = None,
    ) -> None:
        self._soundtracks = soundtracks
        self._checks = dict(checks or {})
        self._on_callback = on_callback
        self._webhook = webhook
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def application(self) -> web.Application:
        app = web.Application()
        if self._webhook is not None:
            app.router.add_post(self._webhook.path, self._update)
        app.router.add_get("/audio/{name}", self._serve)
        app.router.add_get("/healthz", self._health)
        app.router.add_post("/hooks/{token}/callback", self._callback)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(
            self.application(), access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        routes = "/audio, /hooks, /healthz"
        if self._webhook is not None:
            routes = f"{self._webhook.path} (Telegram's webhook), {routes}"
        log.info("serving %s on %s:%s", routes, self._host, self.port)

    async def stop(self) -> None:
        """Idempotent: the run loop stops it first, post_shutdown again."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _update(self, request: web.Request) -> web.Response:
        """An update from Telegram: the header is checked before the body is read."""
        hook = self._webhook
        assert hook is not None
        if not hook.admits(request.headers.get(SECRET_HEADER)):
            raise web.HTTPForbidden()
        body = await request.read()  # past aiohttp's client_max_size (1 MiB): 413
        try:
            update = Update.de_json(json.loads(body), hook.bot)
        except Exception as exc:  # not an update PTB can read: say so, log no data
            log.warning("webhook: an update could not be read (%s)", type(exc).__name__)
            raise web.HTTPBadRequest() from None
        if isinstance(hook.bot, ExtBot):
            hook.bot.insert_callback_data(update)
        await hook.queue.put(update)
        return web.Response()

    async def _serve(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        data = await self._soundtracks.read(name) if is_served_name(name) else None
        if data is None:
            raise web.HTTPNotFound()
        suffix = name[name.rindex(".") :]
        # Served from the operator's domain: a browser must never render it as a page.
        headers = {
            "Content-Type": CONTENT_TYPES[suffix],
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'attachment; filename="soundtrack{suffix}"',
        }
        return web.Response(body=data, headers=headers)

    async def _callback(self, request: web.Request) -> web.Response:
        """A hint that a task ended; the bot asks the API itself before acting on it, so a
        forged or replayed call delivers nothing. An unknown path touches nothing: 404."""
        token = request.match_info["token"]
        if self._on_callback is None or not await self._on_callback(token):
            raise web.HTTPNotFound()
        return web.Response(text="ok")

    async def _health(self, request: web.Request) -> web.Response:
        found = dict(
            zip(
                self._checks,
                await asyncio.gather(*(_check(probe) for probe in self._checks.values())),
                strict=True,
            )
        )
        healthy = all(state == "ok" for state in found.values())
        return web.json_response(found, status=200 if healthy else 503)


HEALTH_TIMEOUT = 3.0  # seconds a check may take before it counts as unreachable


async def _check(probe: Callable[[], Awaitable[object]]) -> str:
    """ "ok", or what went wrong by its kind only (an error's text could carry a URL)."""
    try:
        await asyncio.wait_for(probe(), HEALTH_TIMEOUT)
    except TimeoutError:
        return "timeout"
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"
