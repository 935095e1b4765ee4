"""Scale-out with real processes (issue 21): two replicas in webhook mode on one PostgreSQL,
behind a round-robin proxy written here, each with its own data folder. Telegram's side of
the webhook is `Pump`: it posts every update the fake Bot API holds to the proxy, in order,
again until one is taken, as Telegram does."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
from aiohttp import web

from bot.storage.postgres import PostgresStorage
from tests.fakes.telegram_api import FloodLimits
from tests.harness import GENERATE, World, free_port, make_image, message_with, wait_card
from tests.postgres import fresh_database
from tests.test_e2e_advanced import MP3
from tests.test_e2e_process import HEADER, SECRET, start_process, stop_process, until
from tests.test_e2e_replicas import RestartingPostgres

GONE = (aiohttp.ClientConnectionError, asyncio.TimeoutError)


class RoundRobin:
    """The proxy: each request to the next replica in turn; a replica that cannot be reached
    is skipped (nginx's proxy_next_upstream), so a killed one costs no request."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.served: list[int] = []  # the replica's port of each request answered
        self._turn = itertools.cycle(ports)
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k in (HEADER, "Content-Type")}
        for _ in self.ports:
            port = next(self._turn)
            target = f"http://127.0.0.1:{port}{request.rel_url}"
            try:
                async with self._session.request(
                    request.method, target, data=body, headers=headers
                ) as answer:
                    self.served.append(port)
                    kept = {k: v for k, v in answer.headers.items() if k == "Content-Type"}
                    return web.Response(
                        status=answer.status, body=await answer.read(), headers=kept
                    )
            except GONE:
                continue
        raise web.HTTPBadGateway()


class Pump:
    """Telegram's side of the webhook: every pending update posted to `url` in order."""

    def __init__(self, world: World, url: str) -> None:
        self.tg = world.telegram
        self.url = url
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Pump:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        async with aiohttp.ClientSession() as session:
            while True:
                await self.tg.wait_for(lambda: self.tg._updates or None, timeout=3600)
                for update in self.tg.take_updates():
                    await self._post(session, update)

    async def _post(self, session: aiohttp.ClientSession, update: dict) -> None:
        while True:
            with contextlib.suppress(*GONE):
                async with session.post(self.url, json=update, headers={HEADER: SECRET}) as answer:
                    if answer.status == 200:
                        return
            await asyncio.sleep(0.05)  # Telegram, too, tries again a little later


class Replicas:
    """Two bot processes, each listening on its own port and with its own data folder."""

    def __init__(self, world: World, tmp_path: Path, database_url: str) -> None:
        self.world = world
        self.tmp_path = tmp_path
        self.database_url = database_url
        self.ports = [free_port(), free_port()]
        self.proxy = RoundRobin(self.ports)
        self.processes: list[asyncio.subprocess.Process] = []

    def log(self, index: int) -> Path:
        return self.tmp_path / f"replica{index}.log"

    async def start(self, **extra: str) -> None:
        await self.proxy.start()
        for index, port in enumerate(self.ports):
            env = {
                "DATABASE_URL": self.database_url,
                "DATA_DIR": str(self.tmp_path / f"data{index}"),
                "LEASE_SECONDS": "2",  # a killed replica's tasks are taken over quickly
                "WEBHOOK_URL": self.proxy.url,
                "WEBHOOK_SECRET": SECRET,
                "PUBLIC_BASE_URL": self.proxy.url,
                "PUBLIC_HOST": "127.0.0.1",
                "PUBLIC_PORT": str(port),
            }
            process = await start_process(self.world, self.log(index), **(env | extra))
            self.processes.append(process)
        for port in self.ports:
            await until(lambda p=port: healthy(p), bool, timeout=30)  # type: ignore[misc]

    async def stop(self) -> None:
        for process in self.processes:
            if process.returncode is None:
                assert await stop_process(process) == 0
        await self.proxy.stop()

    async def delivered_by(self, task_id: str) -> int:
        """Which replica delivered the task, by its log (written a moment after the card)."""

        async def logged() -> list[int]:
            return [
                n
                for n in range(len(self.ports))
                if any(
                    task_id in line and "delivered as message" in line
                    for line in self.log(n).read_text().splitlines()
                )
            ]

        await until(logged, bool)
        [index] = await logged()
        return index


async def healthy(port: int) -> bool:
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/healthz") as answer,
        ):
            return answer.status == 200
    except GONE:
        return False


@contextlib.asynccontextmanager
async def replicas(
    world: World, tmp_path: Path, database_url: str, **extra: str
) -> AsyncIterator[Replicas]:
    pair = Replicas(world, tmp_path, database_url)
    try:
        await pair.start(**extra)
        async with Pump(world, f"{pair.proxy.url}/telegram"):
            yield pair
    finally:
        await pair.stop()


async def test_behind_a_round_robin_proxy_every_replica_serves_soundtracks_and_again(
    world: World, tmp_path: Path, postgres_server: str
) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    url = await fresh_database(postgres_server)
    storage = await PostgresStorage.connect(url)
    try:
        async with replicas(world, tmp_path, url) as pair:
            tg.send_audio(ann, MP3, file_name="beat.mp3", mime_type="audio/mpeg", duration=10)
            await message_with(world, 1001, "Soundtrack saved", timeout=30)
            soundtrack = (await storage.get_user(1001)).soundtrack
            assert soundtrack is not None and soundtrack.file
            served = f"{pair.proxy.url}/audio/{soundtrack.file}"
            before = len(pair.proxy.served)
            async with aiohttp.ClientSession() as session:
                for _ in pair.ports:  # one fetch through each replica
                    async with session.get(served) as answer:
                        assert (answer.status, await answer.read()) == (200, MP3)
            assert sorted(pair.proxy.served[before:]) == sorted(pair.ports)

            photo = tg.send_photo(ann, make_image(), caption="a cat dances")
            card = await tg.wait_for(
                lambda: next(
                    (
                        m
                        for m in tg.bot_messages(1001)
                        if m.get("reply_markup") and "a cat dances" in m.get("text", "")
                    ),
                    None,
                ),
                timeout=30,
            )
            assert card["reply_to_message"]["message_id"] == photo["message_id"]
            await recorded(url, [card])
            tg.press(ann, card, tg.buttons(card)[GENERATE])
            await wait_card(world, card, "Done", timeout=30)
            [first] = api.accepted()
            assert api.tasks[first.task_id].audio_fetch == (200, MP3)

            # Again, pressed on the replica that did not deliver: it has no photo of its own.
            task_id = await storage._pool.fetchval("SELECT id FROM tasks WHERE state = 'done'")
            other = pair.ports[1 - await pair.delivered_by(task_id)]
            video = next(m for m in tg.bot_messages(1001) if "video" in m)
            tg.press(ann, video, tg.buttons(video)["🔁 Again"])
            [press] = tg.take_updates()
            async with (
                aiohttp.ClientSession() as session,
                session.post(
                    f"http://127.0.0.1:{other}/telegram", json=press, headers={HEADER: SECRET}
                ) as answer,
            ):
                assert answer.status == 200
            await tg.wait_for(
                lambda: len([m for m in tg.bot_messages(1001) if "video" in m]) == 2 or None,
                timeout=30,
            )
    finally:
        await storage.close()
    assert len(api.accepted()) == 2
    assert [c.params["chat_id"] for c in tg.calls_to("sendVideo")] == ["1001", "1001"]
    for index in range(2):
        assert "Traceback" not in pair.log(index).read_text()


async def recorded(database_url: str, cards: list[dict]) -> None:
    """Wait until the replica that posted these cards has recorded them: a press sent the
    instant a card appears may reach the other replica first (no human is that quick)."""
    connection = await asyncpg.connect(database_url)
    try:
        ids = [card["message_id"] for card in cards]
        query = "SELECT count(*) FROM tasks WHERE card_message_id = ANY($1::bigint[])"
        await until(lambda: connection.fetchval(query, ids), lambda n: n == len(ids))
    finally:
        await connection.close()


async def generate_for_each(world: World, users: list[dict], database_url: str) -> None:
    """Each user sends a photo and presses Generate on its card (once it is recorded); wait
    until the provider has accepted them all."""
    tg, api = world.telegram, world.apimart
    for user in users:
        tg.send_photo(user, make_image(), caption=f"user {user['id']} waves")
    chats = [user["id"] for user in users]
    cards = await tg.wait_for(
        lambda: all(card_of(world, c) for c in chats) and [card_of(world, c) for c in chats],
        timeout=60,
    )
    await recorded(database_url, cards)
    for user, card in zip(users, cards, strict=True):
        tg.press(user, card, tg.buttons(card)[GENERATE])
    await tg.wait_for(lambda: len(api.accepted()) == len(users) or None, timeout=60)


def card_of(world: World, chat: int) -> dict | None:
    return next((m for m in world.telegram.bot_messages(chat) if m.get("reply_markup")), None)


def videos(world: World) -> Counter[str]:
    tg = world.telegram
    return Counter(str(c.params["chat_id"]) for c in tg.calls_to("sendVideo") if c.error is None)


def served(world: World, chats: list[int]) -> set[int]:
    """The chats that got their video, or the link to it that follows an upload a kill left
    unconfirmed ("Telegram did not confirm your video. If it is not above…")."""
    sent = videos(world)
    return {
        chat
        for chat in chats
        if sent[str(chat)]
        or any("did not confirm" in m.get("text", "") for m in world.telegram.bot_messages(chat))
    }


async def test_fifty_users_over_two_replicas_meet_no_flood_limit_and_survive_a_kill(
    world: World, tmp_path: Path, postgres_server: str
) -> None:
    """Replicas on one token share its ~30 messages a second: zero 429s; one SIGKILLed in the
    middle of the backlog: the other delivers the rest, every video once."""
    tg, api = world.telegram, world.apimart
    tg.flood_limits = FloodLimits()
    users = [tg.user(5000 + n) for n in range(50)]
    chats = [user["id"] for user in users]
    api.hold_new_tasks = True
    url = await fresh_database(postgres_server)
    async with replicas(world, tmp_path, url, MAX_ACTIVE_TASKS="50", POLL_INTERVAL="0.5") as pair:
        await generate_for_each(world, users, url)
        for task in api.accepted()[:25]:
            api.release(task.task_id)
        await tg.wait_for(lambda: len(served(world, chats)) >= 10 or None, timeout=60)
        pair.processes[0].kill()  # no clean stop, in the middle of the backlog
        await pair.processes[0].wait()
        for task in api.accepted()[25:]:
            api.release(task.task_id)
        await tg.wait_for(lambda: served(world, chats) == set(chats) or None, timeout=90)
    assert tg.flood_errors() == []
    assert max(videos(world).values()) == 1  # never a video twice
    assert len(api.accepted()) == 50


async def test_both_replicas_ride_out_a_database_restart(
    world: World, tmp_path: Path, postgres_server: str
) -> None:
    """PostgreSQL away for 5 s while 20 tasks are in flight: both replicas reconnect by
    themselves, every video comes once, and a user meanwhile hears to try again shortly."""
    tg, api = world.telegram, world.apimart
    users = [tg.user(6000 + n) for n in range(20)]
    ann = tg.user(1001)
    database = RestartingPostgres(postgres_server)
    await database.up()
    direct = await fresh_database(postgres_server)
    url = database.url(direct)
    api.hold_new_tasks = True
    # Leases longer than the outage, as by default (30 s): replicas that cannot renew them
    # while the database is away must not take each other's tasks when it is back.
    async with replicas(world, tmp_path, url, LEASE_SECONDS="30") as pair:
        chats = [user["id"] for user in users]
        await generate_for_each(world, users, direct)
        await database.down()
        away = time.monotonic()
        for task in api.accepted():
            api.release(task.task_id)
        tg.send_text(ann, "/settings")
        await message_with(world, 1001, "busy for a moment", timeout=30)
        await asyncio.sleep(max(0.0, 5 - (time.monotonic() - away)))  # the outage itself
        await database.up()
        try:
            await tg.wait_for(lambda: served(world, chats) == set(chats) or None, timeout=60)
        except AssertionError as exc:  # once seen on a loaded machine: say what held it up
            missing = sorted(set(chats) - served(world, chats))
            noted = [
                f"replica {n}: {line}"
                for n in range(2)
                for line in pair.log(n).read_text().splitlines()
                if " INFO " not in line or any(str(chat) in line for chat in missing)
            ]
            tail = "\n".join(noted[-60:])
            raise AssertionError(f"{exc}\nnot served: {missing}; the logs:\n{tail}") from None
        for port in pair.ports:
            assert await healthy(port)
        tg.send_text(ann, "/settings")
        await message_with(world, 1001, "Your default settings", timeout=30)
    assert videos(world) == Counter({str(chat): 1 for chat in chats})  # no kill here: videos
    for index in range(2):
        assert "Traceback" not in pair.log(index).read_text()
