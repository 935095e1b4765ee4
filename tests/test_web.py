"""The web application's webhook route, without a bot behind it: the secret token is checked
in constant time and before the body is read; only an admitted update reaches the queue."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from telegram import Bot, Update

from bot.telegram import web
from bot.telegram.web import SECRET_HEADER, WEBHOOK_PATH, WebApp, Webhook
from tests.harness import TOKEN

SECRET = "A" * 20 + "_-secret-0123456789"
UPDATE = {
    "update_id": 7,
    "message": {
        "message_id": 1,
        "date": 0,
        "chat": {"id": 1001, "type": "private"},
        "from": {"id": 1001, "is_bot": False, "first_name": "Ann"},
        "text": "/help",
    },
}


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[TestClient, asyncio.Queue[object]]]:
    queue: asyncio.Queue[object] = asyncio.Queue()
    hook = Webhook(secret=SECRET, bot=Bot(TOKEN), queue=queue)
    app = WebApp(tmp_path, "127.0.0.1", 0, webhook=hook)
    async with TestClient(TestServer(app.application())) as client:
        yield client, queue


def test_the_secret_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[object, object]] = []
    compare = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return compare(a, b)

    monkeypatch.setattr(web.hmac, "compare_digest", spy)
    hook = Webhook(secret=SECRET, bot=Bot(TOKEN), queue=asyncio.Queue())
    assert hook.admits(SECRET)
    assert not hook.admits(SECRET[:-1]) and not hook.admits(None) and not hook.admits("")
    # whatever a caller sends is compared as bytes: non-ASCII never raises
    assert not hook.admits("\udcff" + SECRET[1:]) and not hook.admits("é" * 40)
    assert compared and all(isinstance(a, bytes) and isinstance(b, bytes) for a, b in compared)
    assert SECRET not in repr(hook)


async def test_a_wrong_token_is_refused_before_the_body_is_read(
    served: tuple[TestClient, asyncio.Queue[object]],
) -> None:
    client, queue = served
    huge = b"x" * (3 * 1024 * 1024)  # past aiohttp's 1 MiB: reading it would answer 413
    for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET.lower()}):
        response = await client.post(WEBHOOK_PATH, data=huge, headers=headers)
        assert response.status == 403
        response = await client.post(WEBHOOK_PATH, json=UPDATE, headers=headers)
        assert response.status == 403
    assert queue.empty()
    response = await client.post(WEBHOOK_PATH, data=huge, headers={SECRET_HEADER: SECRET})
    assert response.status == 413


async def test_an_admitted_update_is_queued_and_answered_at_once(
    served: tuple[TestClient, asyncio.Queue[object]],
) -> None:
    client, queue = served
    for bad in (b"{", b"[1, 2]", b'"text"'):
        response = await client.post(WEBHOOK_PATH, data=bad, headers={SECRET_HEADER: SECRET})
        assert response.status == 400
    assert queue.empty()
    response = await client.post(WEBHOOK_PATH, json=UPDATE, headers={SECRET_HEADER: SECRET})
    assert response.status == 200
    update = queue.get_nowait()
    assert isinstance(update, Update) and update.update_id == 7
    assert update.message is not None and update.message.text == "/help"
    assert (await client.get("/healthz")).status == 200
    assert (await client.post(f"/{SECRET}", json=UPDATE)).status == 404


async def test_no_webhook_route_without_webhook_mode(tmp_path: Path) -> None:
    app = WebApp(tmp_path, "127.0.0.1", 0)
    async with TestClient(TestServer(app.application())) as client:
        response = await client.post(WEBHOOK_PATH, json=UPDATE, headers={SECRET_HEADER: "x"})
        assert response.status == 404  # polling mode: the route does not exist
        assert (await client.get("/healthz")).status == 200


async def test_health_names_what_is_unreachable_without_its_error_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(web, "HEALTH_TIMEOUT", 0.05)

    async def fine() -> None:
        return None

    async def down() -> None:
        raise ConnectionRefusedError("postgresql://bot:secret@db/bot refused")

    async def hangs() -> None:
        await asyncio.Event().wait()

    healthy = WebApp(tmp_path, "127.0.0.1", 0, checks={"storage": fine, "telegram": fine})
    async with TestClient(TestServer(healthy.application())) as client:
        response = await client.get("/healthz")
        assert response.status == 200
        assert await response.json() == {"storage": "ok", "telegram": "ok"}
    broken = WebApp(tmp_path, "127.0.0.1", 0, checks={"storage": down, "telegram": hangs})
    async with TestClient(TestServer(broken.application())) as client:
        response = await client.get("/healthz")
        assert response.status == 503
        body = await response.text()
    assert body == '{"storage": "error: ConnectionRefusedError", "telegram": "timeout"}'
    assert "secret" not in body
