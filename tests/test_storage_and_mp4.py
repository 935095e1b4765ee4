from __future__ import annotations

import logging
from pathlib import Path

from bot.logs import RedactSecrets
from bot.mp4 import read_video_meta
from tests.fakes.mp4 import make_mp4


def test_mp4_header_gives_size_and_duration(tmp_path: Path) -> None:
    path = tmp_path / "v.mp4"
    path.write_bytes(make_mp4(720, 1280, 7, padding=100))
    meta = read_video_meta(path)
    assert (meta.width, meta.height, meta.duration) == (720, 1280, 7)
    path.write_bytes(b"garbage")
    assert read_video_meta(path).width is None


def test_secrets_are_redacted_from_log_lines() -> None:
    record = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1, "POST %s", ("https://x/bot123:SECRET/getMe",), None
    )
    RedactSecrets(["123:SECRET", "sk-key"]).filter(record)
    assert record.getMessage() == "POST https://x/bot[REDACTED]/getMe"


def test_secrets_are_redacted_from_tracebacks_too() -> None:
    try:
        raise RuntimeError("The token `123:SECRET` was rejected by the server.")
    except RuntimeError:
        import sys

        record = logging.LogRecord(
            "telegram", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    RedactSecrets(["123:SECRET"]).filter(record)
    assert "123:SECRET" not in record.exc_text and "[REDACTED]" in record.exc_text
