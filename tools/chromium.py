"""Headless Chromium (Debian's `chromium` package) over the DevTools protocol.

One browser process serves every page: `load` a page, `evaluate` JavaScript in it (the
layout of its text, for tests/test_screens.py) and `screenshot` it at the height of its
content. The protocol is spoken over a WebSocket with aiohttp (already a dependency of the
bot), so nothing but the browser is needed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import re
import shutil
import tempfile
from collections import deque
from typing import Any

import aiohttp

_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_LISTENING = re.compile(r"DevTools listening on (ws://\S+)")
# The browser's own flags: no first-run dialogs, no network of its own, no GPU (headless
# machines have none), the same colours and glyph shapes everywhere. No sandbox: it renders
# only pages this program wrote, and the sandbox refuses to start as root (CI) or in a
# container without user namespaces.
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-extensions",
    "--disable-sync",
    "--hide-scrollbars",
    "--mute-audio",
    "--force-color-profile=srgb",
    "--font-render-hinting=none",
    "--remote-debugging-port=0",
)
START_TIMEOUT = 30.0
CALL_TIMEOUT = 30.0


class ChromiumError(RuntimeError):
    """The browser did not start, or answered a command with an error."""


def find_chromium() -> str | None:
    """The browser to use: $CHROMIUM, else the first of the usual names on PATH."""
    if override := os.environ.get("CHROMIUM"):
        return shutil.which(override)
    return next((found for name in _NAMES if (found := shutil.which(name))), None)


class Chromium:
    """`async with Chromium() as browser:` one headless browser and one tab in it."""

    def __init__(self, executable: str | None = None) -> None:
        self.executable = executable or find_chromium()
        self._profile: tempfile.TemporaryDirectory[str] | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._log: deque[str] = deque(maxlen=20)  # the browser's last words, for errors
        self._drain: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._waiters: list[tuple[str, asyncio.Future[dict[str, Any]]]] = []
        self._session = ""

    async def __aenter__(self) -> Chromium:
        if self.executable is None:
            raise ChromiumError("no chromium on PATH (Debian: apt-get install chromium)")
        try:
            await self._start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _start(self) -> None:
        assert self.executable is not None
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-", ignore_cleanup_errors=True)
        self._process = await asyncio.create_subprocess_exec(
            self.executable,
            *_FLAGS,
            f"--user-data-dir={self._profile.name}",
            "about:blank",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        url = await asyncio.wait_for(self._devtools_url(), START_TIMEOUT)
        self._drain = asyncio.create_task(self._keep_reading_stderr())
        self._http = aiohttp.ClientSession()
        self._socket = await self._http.ws_connect(url, max_msg_size=0)
        self._reader = asyncio.create_task(self._read())
        target = await self.call("Target.createTarget", url="about:blank")
        attached = await self.call(
            "Target.attachToTarget", targetId=target["targetId"], flatten=True
        )
        self._session = attached["sessionId"]
        await self.call("Page.enable")

    async def _devtools_url(self) -> str:
        assert self._process is not None and self._process.stderr is not None
        while line := await self._process.stderr.readline():
            text = line.decode(errors="replace").rstrip()
            self._log.append(text)
            if found := _LISTENING.search(text):
                return found.group(1)
        raise ChromiumError(f"{self.executable} exited: " + " | ".join(self._log))

    async def _keep_reading_stderr(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        while line := await self._process.stderr.readline():
            self._log.append(line.decode(errors="replace").rstrip())

    async def _read(self) -> None:
        assert self._socket is not None
        async for message in self._socket:
            if message.type is not aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(message.data)
            if "id" in data:
                future = self._pending.pop(data["id"], None)
                if future is None or future.done():
                    continue
                if "error" in data:
                    future.set_exception(ChromiumError(str(data["error"])))
                else:
                    future.set_result(data.get("result", {}))
            else:
                for method, waiter in list(self._waiters):
                    if method == data.get("method") and not waiter.done():
                        waiter.set_result(data.get("params", {}))
                        self._waiters.remove((method, waiter))
        gone = ChromiumError("the browser closed its DevTools connection: " + self.last_words)
        for future in [*self._pending.values(), *(w for _, w in self._waiters)]:
            if not future.done():
                future.set_exception(gone)

    @property
    def last_words(self) -> str:
        return " | ".join(self._log)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One DevTools command (in the tab once one is attached); its result."""
        assert self._socket is not None
        number = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[number] = future
        command: dict[str, Any] = {"id": number, "method": method, "params": params}
        if self._session and not method.startswith(("Target.", "Browser.")):
            command["sessionId"] = self._session
        await self._socket.send_str(json.dumps(command))
        return await asyncio.wait_for(future, CALL_TIMEOUT)

    def _expect(self, method: str) -> asyncio.Future[dict[str, Any]]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters.append((method, future))
        return future

    async def load(self, url: str, width: int, scale: float = 1.0) -> None:
        """Open `url` (`Path.as_uri()` of a page) in a viewport `width` CSS pixels wide; back
        once the page and its fonts are loaded."""
        await self._viewport(width, 800, scale)
        loaded = self._expect("Page.loadEventFired")
        await self.call("Page.navigate", url=url)
        await asyncio.wait_for(loaded, CALL_TIMEOUT)
        await self.evaluate("document.fonts.ready.then(() => true)")

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (a promise is awaited); JSON."""
        answer = await self.call(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            raise ChromiumError(str(details.get("exception", {}).get("description", details)))
        return answer["result"].get("value")

    async def screenshot(self, width: int, scale: float) -> bytes:
        """The loaded page as a PNG, `width` CSS pixels wide and as tall as its content."""
        height = await self.evaluate("Math.ceil(document.body.getBoundingClientRect().bottom)")
        await self._viewport(width, int(height), scale)
        shot = await self.call("Page.captureScreenshot", format="png", fromSurface=True)
        return base64.b64decode(shot["data"])

    async def _viewport(self, width: int, height: int, scale: float) -> None:
        await self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=scale,
            mobile=False,
        )

    async def close(self) -> None:
        if self._socket is not None and not self._socket.closed:
            with contextlib.suppress(ChromiumError, TimeoutError, ConnectionError):
                await asyncio.wait_for(self.call("Browser.close"), 5)
            await self._socket.close()
        if self._http is not None:
            await self._http.close()
        if self._process is not None and self._process.returncode is None:
            try:
                await asyncio.wait_for(self._process.wait(), 5)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        for task in (self._reader, self._drain):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._profile is not None:
            self._profile.cleanup()
