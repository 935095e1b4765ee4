from __future__ import annotations

import logging

import pytest

from bot.logs import configure_logging
from tests.harness import API_KEY, TOKEN, World, full_generation


async def test_a_whole_generation_logs_events_but_never_a_secret(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("DEBUG", [TOKEN, API_KEY])
    logging.getLogger("httpx").setLevel(logging.DEBUG)  # the noisiest, token-bearing logger
    try:
        async with world.bot():
            await full_generation(world, world.telegram.user(1001))
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        logging.getLogger("httpx").setLevel(logging.WARNING)
    output = capsys.readouterr().err
    assert "submitted as task_" in output and "delivered as message" in output
    assert TOKEN not in output and API_KEY not in output
    assert "[REDACTED]" in output
