from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bot.domain.records import UserProfile
from bot.logs import RedactSecrets
from bot.mp4 import read_video_meta
from bot.storage import StorageCorruptError
from bot.storage.tinydb import TinyDBStorage
from tests.factories import make_record
from tests.fakes.mp4 import make_mp4


def test_corrupt_file_refuses_to_start(tmp_path: Path) -> None:
    path = tmp_path / "bot.json"
    path.write_text('{"tasks": {"1": ')
    with pytest.raises(StorageCorruptError, match=r"bot\.json"):
        TinyDBStorage(path)
    assert path.read_text() == '{"tasks": {"1": '  # never overwritten


async def test_records_from_older_releases_load(tmp_path: Path) -> None:
    path = tmp_path / "bot.json"
    row = make_record(user_id=5).to_dict() | {"obsolete_field": 1}
    path.write_text(json.dumps({"tasks": {"1": row}}))
    assert (await TinyDBStorage(path).get_task("t1")) == make_record(user_id=5)


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


async def test_every_write_keeps_the_previous_file_as_backup(tmp_path: Path) -> None:
    path = tmp_path / "bot.json"
    storage = TinyDBStorage(path)
    await storage.save_user(UserProfile(1))
    first = path.read_text()
    await storage.save_user(UserProfile(2))
    assert (tmp_path / "bot.json.bak").read_text() == first
    assert path.read_text() != first


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
