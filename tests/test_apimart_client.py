"""The apimart client against the fake apimart over real HTTP."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.apimart import (
    ApimartAuthenticationError,
    ApimartClient,
    ApimartConnectionError,
    ApimartInsufficientBalanceError,
    ApimartInvalidRequestError,
    ApimartRateLimitError,
    ApimartServerError,
    DownloadGoneError,
    DownloadTooLargeError,
    GenerationRequest,
    SubmitOutcomeUnknownError,
    TaskStatus,
)
from bot.images import prepare_image
from tests.factories import make_request
from tests.fakes.apimart_api import FakeApimart, Fault
from tests.fakes.server import serve
from tests.harness import API_KEY, make_image


@pytest.fixture
async def fake() -> AsyncIterator[FakeApimart]:
    server = FakeApimart(API_KEY)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def client(fake: FakeApimart) -> AsyncIterator[ApimartClient]:
    async with ApimartClient(api_key=API_KEY, base_url=fake.url, retry_delay=0) as c:
        yield c


def request(**overrides) -> GenerationRequest:
    image = prepare_image(make_image(320, 320))
    return make_request(image_data_url=image.data_url(), prompt="waves", **overrides)


async def test_submit_returns_the_task_id_and_sends_the_documented_body(
    client: ApimartClient, fake: FakeApimart
) -> None:
    task_id = await client.submit(
        request(resolution="1080p", duration=15, audio=False), idempotency_key="k1"
    )
    [sent] = fake.submissions
    assert task_id == sent.task_id
    assert sent.headers["Idempotency-Key"] == "k1"
    assert {k: v for k, v in sent.body.items() if k != "image_urls"} == {
        "model": "wan2.6-i2v-flash",
        "prompt": "waves",
        "resolution": "1080p",
        "duration": 15,
        "audio": False,
        "prompt_extend": True,
        "shot_type": "single",
        "watermark": False,
    }


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, ApimartInvalidRequestError),
        (401, ApimartAuthenticationError),
        (403, ApimartAuthenticationError),
        (402, ApimartInsufficientBalanceError),
    ],
)
async def test_submit_errors_map_to_the_hierarchy_without_retry(
    client: ApimartClient, fake: FakeApimart, status: int, error: type
) -> None:
    fake.submit_faults = [Fault(status=status)]
    with pytest.raises(error) as caught:
        await client.submit(request(), idempotency_key="k")
    assert caught.value.message == f"injected {status}"
    assert len(fake.submissions) == 1


@pytest.mark.parametrize(
    "fault", [Fault(status=500), Fault(status=502), Fault(status=504), Fault(disconnect=True)]
)
async def test_submit_with_unknown_outcome_is_not_retried(
    client: ApimartClient, fake: FakeApimart, fault: Fault
) -> None:
    fake.submit_faults = [fault]
    with pytest.raises(SubmitOutcomeUnknownError):
        await client.submit(request(), idempotency_key="k")
    assert len(fake.submissions) == 1


async def test_submit_timeout_after_sending_is_an_unknown_outcome(fake: FakeApimart) -> None:
    fake.submit_faults = [Fault(delay=1.0)]
    async with ApimartClient(api_key=API_KEY, base_url=fake.url, request_timeout=0.2) as c:
        with pytest.raises(SubmitOutcomeUnknownError):
            await c.submit(request(), idempotency_key="k")
    assert len(fake.submissions) == 1


async def test_submit_retries_only_what_was_certainly_not_accepted(
    client: ApimartClient, fake: FakeApimart
) -> None:
    fake.submit_faults = [Fault(status=429, retry_after=0), Fault(status=503)]
    assert await client.submit(request(), idempotency_key="k")
    assert [s.status for s in fake.submissions] == [429, 503, 200]


async def test_submit_gives_up_after_repeated_rate_limits(
    client: ApimartClient, fake: FakeApimart
) -> None:
    fake.submit_faults = [Fault(status=429, retry_after=0)] * 3
    with pytest.raises(ApimartRateLimitError) as caught:
        await client.submit(request(), idempotency_key="k")
    assert caught.value.retry_after == 0
    assert len(fake.submissions) == 3


async def test_connection_refused_is_retried_then_reported() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with ApimartClient(
        api_key=API_KEY, base_url=f"http://127.0.0.1:{port}", retry_delay=0
    ) as c:
        with pytest.raises(ApimartConnectionError) as caught:
            await c.submit(request(), idempotency_key="k")
    assert not isinstance(caught.value, SubmitOutcomeUnknownError)


async def test_get_task_parses_progress_and_both_url_shapes(
    client: ApimartClient, fake: FakeApimart
) -> None:
    task_id = await client.submit(request(), idempotency_key="k")
    statuses = [await client.get_task(task_id) for _ in range(4)]
    assert [(s.status, s.progress) for s in statuses] == [
        ("pending", 0),
        ("processing", 30),
        ("processing", 70),
        ("completed", 100),
    ]
    assert statuses[-1].video_url.endswith(f"/f/video/{task_id}.mp4")
    fake.tasks[task_id].url_as_string = True
    again = await client.get_task(task_id)
    assert again.video_url == statuses[-1].video_url and again.expires_at


async def test_get_task_errors(client: ApimartClient, fake: FakeApimart) -> None:
    fake.status_faults = [Fault(status=503), Fault(status=429, retry_after=7)]
    with pytest.raises(ApimartServerError):
        await client.get_task("task_x")
    with pytest.raises(ApimartRateLimitError) as caught:
        await client.get_task("task_x")
    assert caught.value.retry_after == 7
    with pytest.raises(ApimartInvalidRequestError):
        await client.get_task("task_missing")


def test_task_status_tolerates_missing_fields() -> None:
    status = TaskStatus.from_json("t1", {"status": "failed"})
    assert (status.task_id, status.progress, status.video_url, status.error) == (
        "t1",
        0,
        None,
        None,
    )
    failed = TaskStatus.from_json("t1", {"status": "failed", "error": {"message": "nsfw"}})
    assert failed.error.message == "nsfw" and failed.is_final
    empty = TaskStatus.from_json("t1", {"status": "completed", "result": {"videos": [{}]}})
    assert empty.video_url is None


async def test_download_streams_to_a_file_and_enforces_the_limit(
    client: ApimartClient, fake: FakeApimart, tmp_path: Path
) -> None:
    fake.video_padding = 200_000
    task_id = await client.submit(request(), idempotency_key="k")
    for _ in range(4):
        status = await client.get_task(task_id)
    size = await client.download(status.video_url, tmp_path / "v.mp4", max_bytes=1_000_000)
    assert size == len(fake.tasks[task_id].video) == (tmp_path / "v.mp4").stat().st_size
    with pytest.raises(DownloadTooLargeError):
        await client.download(status.video_url, tmp_path / "w.mp4", max_bytes=100_000)
    with pytest.raises(DownloadGoneError):
        await client.download(
            f"{fake.url}/f/video/nope.mp4", tmp_path / "x.mp4", max_bytes=1_000_000
        )


async def test_download_sends_no_credentials(
    client: ApimartClient, fake: FakeApimart, tmp_path: Path
) -> None:
    seen: list[str | None] = []
    from aiohttp import web

    async def record(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        return web.Response(body=b"x")

    app = web.Application()
    app.router.add_get("/v.mp4", record)
    runner, url = await serve(app)
    try:
        await client.download(f"{url}/v.mp4", tmp_path / "v", max_bytes=10)
    finally:
        await runner.cleanup()
    assert seen == [None]


def test_a_reported_seed_is_kept() -> None:
    status = TaskStatus.from_json("t", {"status": "completed", "result": {"seed": 99}})
    assert status.seed == 99
    assert TaskStatus.from_json("t", {"status": "completed", "seed": -1}).seed is None
