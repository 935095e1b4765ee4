"""Issue 21, item 3: the operator's numbers on METRICS_PORT (Prometheus text)."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from bot.apimart import ApimartConnectionError, ApimartInvalidRequestError, TaskStatus
from bot.config import ConfigError, load_config
from bot.domain.records import TaskRecord
from bot.telegram.metrics import BotMetrics, MetricsServer
from tests.factories import make_record
from tests.fakes.lifecycle import Lifecycle, build_lifecycle
from tests.harness import API_KEY, GENERATE, TOKEN, World, free_port, open_card, wait_card

BASE = {"TELEGRAM_BOT_TOKEN": TOKEN, "APIMART_API_KEY": API_KEY}


async def add(life: Lifecycle, record: TaskRecord, tmp_path: Path) -> TaskRecord:
    (tmp_path / "images").mkdir(exist_ok=True)
    (tmp_path / "images" / record.image_file).write_bytes(b"\xff\xd8jpeg")
    await life.storage.add_task(record)
    return record


def sample(metrics: BotMetrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def test_a_simulated_lifecycle_is_counted(tmp_path: Path) -> None:
    metrics = BotMetrics()
    life = build_lifecycle(tmp_path, metrics=metrics)
    metrics.watch(life.storage)
    # a: done after one failed status query; b: refused at submit; c: failed upstream
    life.api.statuses["api-1"] = [
        TaskStatus("api-1", "processing", progress=40),
        TaskStatus("api-1", "completed", video_url="https://cdn/v.mp4"),
    ]
    a = await add(life, make_record("a"), tmp_path)
    await life.generation.start(a)
    await metrics.render()
    assert sample(metrics, "wanbot_tasks_in_flight") == 1
    original = life.api.get_task
    calls = []

    async def flaky(task_id: str, *, language: str = "en") -> TaskStatus:
        calls.append(task_id)
        if len(calls) == 1:
            raise ApimartConnectionError("reset")
        return await original(task_id, language=language)

    life.api.get_task = flaky  # type: ignore[method-assign]
    life.now[0] += 30
    await life.run_polls()
    life.api.submit_error = ApimartInvalidRequestError("image is too small", status=400)
    await life.generation.start(await add(life, make_record("b"), tmp_path))
    life.api.statuses["api-2"] = [TaskStatus("api-2", "failed", error=None)]
    await life.generation.start(await add(life, make_record("c"), tmp_path))
    await life.run_polls()
    await life.generation.cancel(await add(life, make_record("d"), tmp_path))  # a draft: none

    text = (await metrics.render()).decode()
    assert 'wanbot_generations_total{outcome="done"} 1.0' in text
    assert 'wanbot_generations_total{outcome="refused"} 1.0' in text
    assert 'wanbot_generations_total{outcome="failed"} 1.0' in text
    assert 'wanbot_generations_total{outcome="cancelled"} 0.0' in text
    assert 'wanbot_apimart_errors_total{kind="unreachable"} 1.0' in text
    assert 'wanbot_apimart_errors_total{kind="refused"} 1.0' in text
    assert sample(metrics, "wanbot_status_queries_total") == 4  # a: 3 (one failed), c: 1
    assert sample(metrics, "wanbot_delivery_delay_seconds_count") == 1
    assert sample(metrics, "wanbot_tasks_in_flight") == 0
    assert sample(metrics, "wanbot_queue_length") == 0


async def test_429s_and_the_ledger_are_read_at_scrape_time(tmp_path: Path) -> None:
    metrics = BotMetrics()
    life = build_lifecycle(tmp_path, billing=True, metrics=metrics)

    class Shaper:
        retry_afters = 2

    shaper = Shaper()
    assert life.generation.billing is not None
    metrics.watch(life.storage, life.generation.billing, shaper)
    await metrics.render()
    shaper.retry_afters = 5
    text = (await metrics.render()).decode()
    assert "wanbot_telegram_429_total 5.0" in text
    assert "wanbot_ledger_stars_received 0.0" in text
    assert "wanbot_ledger_outstanding 0.0" in text


async def test_each_application_has_a_registry_of_its_own(tmp_path: Path) -> None:
    one, two = BotMetrics(), BotMetrics()
    one.generation_ended("done")
    assert sample(one, "wanbot_generations_total", outcome="done") == 1
    assert sample(two, "wanbot_generations_total", outcome="done") == 0
    server = MetricsServer(one, "127.0.0.1", 0)
    await server.start()
    try:
        url = f"http://127.0.0.1:{server.port}/metrics"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            assert 'wanbot_generations_total{outcome="done"} 1.0' in await response.text()
    finally:
        await server.stop()


def test_metrics_are_off_by_default_and_local_unless_told(tmp_path: Path) -> None:
    config = load_config(BASE, tmp_path / ".env")
    assert config.metrics_port is None and config.metrics_host == "127.0.0.1"
    config = load_config({**BASE, "METRICS_PORT": "9100"}, tmp_path / ".env")
    assert (config.metrics_host, config.metrics_port) == ("127.0.0.1", 9100)
    config = load_config({**BASE, "METRICS_PORT": "9100", "METRICS_HOST": "0.0.0.0"})
    assert config.metrics_host == "0.0.0.0"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"METRICS_PORT": "8080"}, "PUBLIC_PORT"),
        ({"METRICS_PORT": "9000", "PUBLIC_PORT": "9000"}, "PUBLIC_PORT"),
        ({"METRICS_PORT": "0"}, "METRICS_PORT"),
        ({"METRICS_PORT": "nine"}, "METRICS_PORT"),
        ({"METRICS_PORT": "70000"}, "METRICS_PORT"),
    ],
)
def test_the_metrics_port_is_never_the_public_one(tmp_path: Path, env: dict, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_config({**BASE, **env}, tmp_path / ".env")


async def test_e2e_one_generation_shows_on_metrics(world: World) -> None:
    tg = world.telegram
    ann = tg.user(1001)
    port = free_port()
    async with world.bot(metrics_port=port):
        card = await open_card(world, ann)
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        await tg.wait_for_call("sendVideo")
        await wait_card(world, card, "Done")
        url = f"http://127.0.0.1:{port}/metrics"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert response.status == 200
            text = await response.text()
    assert 'wanbot_generations_total{outcome="done"} 1.0' in text
    assert "wanbot_delivery_delay_seconds_count 1.0" in text
    assert "wanbot_status_queries_total" in text and "wanbot_tasks_in_flight 0.0" in text
    with pytest.raises(aiohttp.ClientConnectionError):  # stopped with the bot
        async with aiohttp.ClientSession() as session, session.get(url):
            pass
