from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Generator
from pathlib import Path

import pytest

from bot.domain import usage
from tests.harness import World, make_world

_PASSED = pytest.StashKey[bool]()


def pytest_configure(config: pytest.Config) -> None:
    # Every test's files (tmp_path, the bot's data, PostgreSQL's) in memory when the machine
    # has room and no TMPDIR is asked for: the bot fsyncs each TinyDB write twice, 10-100 ms
    # apiece on a busy disk, and every PostgreSQL test creates a database (~8 MB).
    if "TMPDIR" not in os.environ and (root := _memory_folder()) is not None:
        tempfile.tempdir = root
    config.addinivalue_line(
        "markers",
        "expected_errors(*fragments, strict=True): errors of the fake Bot API or apimart "
        "this test provokes on purpose (World.expect_error); any other fails the test",
    )


def _memory_folder() -> str | None:
    shm = Path("/dev/shm")
    try:
        roomy = shm.is_dir() and shutil.disk_usage(shm).free > 2 * 1024**3
    except OSError:
        return None
    return str(shm) if roomy and os.access(shm, os.W_OK) else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_PASSED] = report.passed
    return report


@pytest.fixture
async def world(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[World]:
    async with make_world(tmp_path / "data") as built:
        for marker in request.node.iter_markers("expected_errors"):
            for fragment in marker.args:
                built.expect_error(fragment, strict=marker.kwargs.get("strict", True))
        yield built
    # Every e2e test fails on a Bot API or apimart error it did not provoke on purpose
    # (checked once the fakes stopped, so every call is in; not after a failed test, whose
    # own failure says more).
    if request.node.stash.get(_PASSED, False) and (problems := built.error_problems()):
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def one_utc_day(monkeypatch: pytest.MonkeyPatch) -> float:
    """The bot's "today" stays the UTC day the test began, so a daily quota counted by an
    e2e test cannot straddle midnight (the bot's own clocks are `time.time`, bound in its
    defaults; the day is read through `start_of_day`). Returns that day's start."""
    real = usage.start_of_day
    today = real(time.time())
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] == "bot" and getattr(module, "start_of_day", None) is real:
            monkeypatch.setattr(module, "start_of_day", lambda now: today)
    return today


pytest_plugins = ["tests.postgres"]
