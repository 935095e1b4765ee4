"""How failed sends map onto the task lifecycle (a stub bot raises the Bot API's errors)."""

from __future__ import annotations

from pathlib import Path

import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.i18n import Catalogues
from bot.lifecycle.ports import (
    ChatUnreachableError,
    DeliveryRetryableError,
    DeliveryUncertainError,
)
from bot.mp4 import VideoMeta
from bot.telegram.messenger import TelegramMessenger
from tests.factories import make_record


class StubBot:
    def __init__(self, video_error: Exception, link_error: Exception | None = None) -> None:
        self.video_error, self.link_error = video_error, link_error
        self.links = 0

    async def send_video(self, **kwargs: object) -> None:
        raise self.video_error

    async def send_message(self, **kwargs: object) -> object:
        self.links += 1
        if self.link_error:
            raise self.link_error
        return type("Message", (), {"message_id": 77})()


async def send(bot: StubBot, tmp_path: Path) -> int:
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    messenger = TelegramMessenger(bot, Catalogues.load())  # type: ignore[arg-type]
    return await messenger.send_video(make_record(video_url="https://x/v.mp4"), video, VideoMeta())


async def test_a_refused_video_falls_back_to_the_link(tmp_path: Path) -> None:
    bot = StubBot(BadRequest("Wrong file identifier/http url specified"))
    assert (await send(bot, tmp_path)).message_id == 77 and bot.links == 1


def _never_sent() -> NetworkError:
    """What PTB raises for a request on a client a stop has shut (seen under load)."""
    error = NetworkError("Unknown error in HTTP implementation: RuntimeError(...)")
    error.__cause__ = RuntimeError("This HTTPXRequest is not initialized!")
    return error


@pytest.mark.parametrize(
    ("video_error", "link_error", "expected"),
    [
        (Forbidden("Forbidden: bot was blocked by the user"), None, ChatUnreachableError),
        (BadRequest("Bad Request: chat not found"), None, ChatUnreachableError),
        # the upload's answer lost: Telegram may have the video, so it is never sent again
        (TimedOut(), None, DeliveryUncertainError),
        (NetworkError("Server disconnected"), None, DeliveryUncertainError),
        (RetryAfter(3), None, DeliveryRetryableError),  # an answer: certainly not taken
        # PTB's client already closed by a stop: the request never left, so it is retried
        (_never_sent(), None, DeliveryRetryableError),
        # the fallback link fails too: still mapped, never a raw Telegram error
        (
            BadRequest("Wrong file"),
            Forbidden("Forbidden: bot was blocked by the user"),
            ChatUnreachableError,
        ),
        (BadRequest("Wrong file"), TimedOut(), DeliveryRetryableError),
    ],
)
async def test_send_failures_map_to_what_the_task_does_next(
    tmp_path: Path, video_error: Exception, link_error: Exception | None, expected: type
) -> None:
    with pytest.raises(expected):
        await send(StubBot(video_error, link_error), tmp_path)
