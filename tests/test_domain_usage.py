"""Counting what users spent (bot/domain/usage.py): the UTC day whatever the server's zone,
the quota's first second, and /stats counted from tasks, carried over pruning and stored."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.domain.notices import Notice
from bot.domain.records import TaskRecord, TaskState
from bot.domain.settings import GenerationSettings
from bot.domain.usage import Stats, day_of, start_of_day, stats_of, usage_of
from tests.factories import make_record

# 2026-03-14 13:45:30.5 UTC: 19:15 on the same day in India, 09:45 in New York.
NOON_ISH = datetime(2026, 3, 14, 13, 45, 30, 500_000, UTC).timestamp()
MIDNIGHT = datetime(2026, 3, 14, tzinfo=UTC).timestamp()
# 2026-03-14 20:00 UTC: already the 15th in India.
EVENING = datetime(2026, 3, 14, 20, tzinfo=UTC).timestamp()


@pytest.fixture(params=["UTC0", "IST-5:30", "EST+5"])
def server_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """The machine's local time zone (POSIX rules: no zone database needed)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    try:
        yield request.param
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def test_quotas_reset_at_midnight_utc_whatever_the_servers_zone(server_zone: str) -> None:
    assert start_of_day(NOON_ISH) == MIDNIGHT
    assert start_of_day(MIDNIGHT) == MIDNIGHT
    assert start_of_day(MIDNIGHT - 0.5) == MIDNIGHT - 86400
    assert day_of(NOON_ISH) == day_of(EVENING) == "2026-03-14"
    assert day_of(MIDNIGHT - 1) == "2026-03-13"


def charged(task_id: str, at: float, seconds: int = 5, user: int = 1) -> TaskRecord:
    return make_record(
        task_id,
        user_id=user,
        state=TaskState.DONE,
        apimart_task_id="api",
        submitted_at=at,
        settings=GenerationSettings(duration=seconds),
    )


def test_a_video_submitted_at_the_first_second_of_the_day_counts_for_that_day() -> None:
    records = [charged("a", MIDNIGHT, 5), charged("b", MIDNIGHT - 1, 7), charged("c", EVENING, 3)]
    assert usage_of(records, 1, MIDNIGHT).used_today == 8


TODAY = "2026-03-14"


def tasks() -> list[TaskRecord]:
    hd = GenerationSettings(resolution="1080p", duration=10, audio=True)
    sd = GenerationSettings(resolution="720p", duration=5, audio=False)
    done = TaskState.DONE
    return [
        make_record("d1", state=done, settings=hd, apimart_task_id="1", created_at=MIDNIGHT),
        make_record("d2", state=done, settings=hd, apimart_task_id="2", created_at=NOON_ISH),
        make_record(
            "f1",
            state=TaskState.FAILED,
            notice=Notice.API_FAILED,
            settings=sd,
            apimart_task_id="3",
            created_at=MIDNIGHT - 60,  # yesterday
        ),
        make_record(
            "f2", state=TaskState.TIMED_OUT, notice=Notice.API_FAILED, created_at=NOON_ISH
        ),
        make_record("u1", state=TaskState.UNKNOWN, settings=sd, created_at=NOON_ISH),
        make_record("r1", state=TaskState.RUNNING, settings=sd, apimart_task_id="4"),
        make_record("x1", settings=hd, created_at=NOON_ISH),  # a draft: no task yet
    ]


EXPECTED = Stats(
    users=3,
    day=TODAY,
    today=Counter({"done": 2, "timed_out": 1, "unknown": 1}),
    total=Counter({"done": 2, "failed": 1, "timed_out": 1, "unknown": 1, "running": 1}),
    seconds_by_resolution=Counter({"1080p": 20}),
    failures=Counter({"api_failed": 2, "unknown": 1}),
    charged_seconds=Counter({"1080p+audio": 20, "720p": 10}),
)


def test_stats_count_each_task_once_by_state_day_resolution_failure_and_charge() -> None:
    assert stats_of(tasks(), 3, NOON_ISH) == EXPECTED


def test_a_task_taken_out_of_the_stats_leaves_them_as_without_it() -> None:
    stats = stats_of(tasks(), 3, NOON_ISH)
    for record in tasks()[:3]:
        stats.count(record, -1)
    assert +stats.total == Counter({"timed_out": 1, "unknown": 1, "running": 1})
    assert +stats.today == Counter({"timed_out": 1, "unknown": 1})
    assert +stats.failures == Counter({"api_failed": 1, "unknown": 1})
    assert +stats.charged_seconds == Counter({"720p": 5})
    assert +stats.seconds_by_resolution == Counter()


def test_totals_carried_over_pruning_are_added_and_never_changed() -> None:
    base = Stats(day=TODAY, today=Counter({"done": 4}), total=Counter({"done": 9}))
    base.seconds_by_resolution["720p"] = 30
    base.failures["timed_out"] = 2
    base.charged_seconds["720p"] = 30
    kept = Stats.from_dict(base.to_dict())
    first = stats_of(tasks(), 3, NOON_ISH, base)
    again = stats_of(tasks(), 3, NOON_ISH, base)
    assert first == again
    assert base == kept
    assert first.total["done"] == 11 and first.today["done"] == 6
    assert first.seconds_by_resolution == Counter({"720p": 30, "1080p": 20})
    assert first.failures["timed_out"] == 2 and first.charged_seconds["720p"] == 40
    tomorrow = stats_of([], 3, MIDNIGHT + 86400, base)
    assert (tomorrow.day, +tomorrow.today, tomorrow.total) == ("2026-03-15", Counter(), base.total)


def test_stats_come_back_from_their_stored_form() -> None:
    stats = stats_of(tasks(), 3, NOON_ISH)
    stats.legacy_usd = 1.25
    assert Stats.from_dict(json.loads(json.dumps(stats.to_dict()))) == stats
    assert Stats.from_dict(None) == Stats() == Stats.from_dict({})
    assert Stats.from_dict({"estimated_usd": 2.5}).legacy_usd == 2.5
