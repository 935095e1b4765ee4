"""Run the real bot (real Application, real HTTP) against the fakes, as `run_polling` would."""

from __future__ import annotations

import io
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PIL import Image

from bot.application import build_application
from bot.config import Config
from bot.telegram.context import BotApplication
from bot.telegram.flood_rules import FloodRules, Window
from tests.fakes.apimart_api import FakeApimart
from tests.fakes.telegram_api import FakeTelegram

TOKEN = "123456789:AAE-test-token_abcdefghijklmnopqrstuv"
API_KEY = "sk-test-apimart-key-0123456789"
GENERATE = "▶️ Generate"
_UNLIMITED = Window(10**9, 1.0)
NO_FLOOD_LIMITS = FloodRules(
    _UNLIMITED, _UNLIMITED, _UNLIMITED
)  # the label of the card's Generate button, in English


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_image(
    width: int = 640,
    height: int = 480,
    fmt: str = "JPEG",
    mode: str = "RGB",
    color: Any = (200, 60, 40),
) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), color).save(buffer, fmt)
    return buffer.getvalue()


@dataclass(frozen=True)
class ExpectedError:
    """An error a test provokes on purpose (see `World.expect_error`)."""

    fragment: str
    strict: bool = True  # it must happen: an opt-out that no longer applies fails too


@dataclass
class World:
    telegram: FakeTelegram
    apimart: FakeApimart
    config: Config
    expected_errors: list[ExpectedError] = field(default_factory=list)

    def expect_error(self, fragment: str, *, strict: bool = True) -> None:
        """The test provokes errors containing `fragment`, in `"<method>: <description>"` of
        the fake Bot API (`"sendVideo: Forbidden: bot was blocked by the user"`) or in
        `"apimart <METHOD> <path>: <status> <message>"`. Every other error fails the test at
        teardown (tests/conftest.py); `strict`: so does a fragment that never matched.
        The marker `@pytest.mark.expected_errors(fragment, ..., strict=True)` does the same."""
        self.expected_errors.append(ExpectedError(fragment, strict))

    def error_problems(self) -> list[str]:
        """Errors the fakes answered that the test did not expect, and strict expectations
        that never happened; empty when all is as expected. Faults a test queued on the fake
        apimart (`submit_faults`, `status_faults`) are expected by their nature."""
        seen = [f"{c.method}: {c.error}" for c in self.telegram.errors()]
        seen += [str(e) for e in self.apimart.errors()]
        expected = self.expected_errors
        problems = [
            f"unexpected error: {s}" for s in seen if not any(e.fragment in s for e in expected)
        ]
        problems += [
            f"expected error never happened: {e.fragment!r}"
            for e in expected
            if e.strict and not any(e.fragment in s for s in seen)
        ]
        return problems

    @asynccontextmanager
    async def bot(
        self, flood_rules: FloodRules | None = None, **overrides: Any
    ) -> AsyncIterator[BotApplication]:
        """The bot running against the fakes; stopped like SIGTERM stops `run_polling`.
        Its flood shaping is off unless the test gives rules (tests/test_e2e_flood.py):
        one test user presses faster than Telegram lets one chat be answered."""
        app = build_application(replace(self.config, **overrides), flood_rules or NO_FLOOD_LIMITS)
        await app.initialize()
        await app.post_init(app)
        await app.updater.start_polling(poll_interval=0, timeout=1, drop_pending_updates=False)
        await app.start()
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()
            if app.post_stop:  # as bot.application.run stops it
                await app.post_stop(app)
            await app.shutdown()
            await app.post_shutdown(app)


@asynccontextmanager
async def make_world(data_dir: Path) -> AsyncIterator[World]:
    telegram = FakeTelegram(TOKEN)
    apimart = FakeApimart(API_KEY)
    await telegram.start()
    await apimart.start()
    config = Config(
        telegram_bot_token=TOKEN,
        apimart_api_key=API_KEY,
        telegram_api_url=telegram.url,
        apimart_base_url=apimart.url,
        data_dir=data_dir,
        poll_interval=0.05,
        task_timeout=60,
        progress_edit_interval=0,
    )
    try:
        yield World(telegram, apimart, config)
    finally:
        await apimart.stop()
        await telegram.stop()


async def open_card(
    world: World,
    user: dict,
    *,
    caption: str | None = "the cat waves",
    image: bytes | None = None,
    timeout: float = 10.0,
) -> dict:
    """Send a photo and return the card the bot answered it with."""
    tg = world.telegram
    photo = tg.send_photo(user, image or make_image(), caption=caption)

    def card() -> dict | None:
        for message in tg.bot_messages(photo["chat"]["id"]):
            replied = message.get("reply_to_message") or {}
            if replied.get("message_id") == photo["message_id"] and message.get("reply_markup"):
                return message
        return None

    return await tg.wait_for(card, timeout)


async def wait_card(world: World, card: dict, fragment: str, timeout: float = 10.0) -> str:
    """Wait until the card's text contains `fragment`; return the text."""
    tg = world.telegram
    return await tg.wait_for(
        lambda: tg.current(card)["text"] if fragment in tg.current(card)["text"] else None,
        timeout,
    )


def answers(world: World) -> list[str]:
    return [str(c.params.get("text", "")) for c in world.telegram.calls_to("answerCallbackQuery")]


async def full_generation(world: World, user: dict) -> None:
    """One whole generation for `user`: proves the bot (and its job queue) is fully running,
    so what did not happen for others meanwhile really did not happen."""
    tg = world.telegram
    card = await open_card(world, user, caption="barrier")
    tg.press(user, card, tg.buttons(card)[GENERATE])
    chat = str(user["id"])
    await tg.wait_for_call("sendVideo", where=lambda c: c.params.get("chat_id") == chat)
    await wait_card(world, card, "Done")


async def generating_card(world: World, user: dict, caption: str | None = "the cat waves") -> dict:
    """A card whose task apimart accepted and is generating (held until the test releases it:
    `world.apimart.release(...)`, with `hold_new_tasks` set by the test)."""
    tg = world.telegram
    card = await open_card(world, user, caption=caption)
    tg.press(user, card, tg.buttons(card)[GENERATE])
    await wait_card(world, card, "Generating")
    return card


async def message_with(world: World, chat_id: int, fragment: str, timeout: float = 10.0) -> dict:
    """Wait for the bot's first message in the chat whose text contains `fragment`."""
    tg = world.telegram

    def found() -> dict | None:
        return next((m for m in tg.bot_messages(chat_id) if fragment in m.get("text", "")), None)

    return await tg.wait_for(found, timeout)


async def completed_upstream(
    world: World, count: int, first_user: int = 3000, *, hold: bool = False
) -> list[int]:
    """`count` tasks stored as running, each done at apimart: what a restart resumes and
    delivers (each user's chat talked to the bot before). Returns the chat ids. `hold`: they
    stay running at apimart until released (`task_<chat>`)."""
    import time

    from bot.domain.records import TaskState
    from bot.storage.tinydb import TinyDBStorage
    from tests.factories import make_record

    tg, api = world.telegram, world.apimart
    storage = TinyDBStorage(world.config.data_dir)
    chats = [first_user + n for n in range(count)]
    for n, chat in enumerate(chats):
        tg._chat(chat, tg.user(chat))
        api.add_completed_task(f"task_{first_user + n:04}", hold=hold)
        await storage.add_task(
            make_record(
                f"r{first_user + n:04}",
                user_id=chat,
                card_message_id=None,
                state=TaskState.RUNNING,
                apimart_task_id=f"task_{first_user + n:04}",
                submitted_at=time.time(),
            )
        )
    await storage.close()
    return chats
