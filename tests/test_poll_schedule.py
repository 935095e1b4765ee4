"""The adaptive poll schedule on a simulated clock: how late and how often it looks."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.domain.poll_schedule import FIRST_PROBE, MAX_DELAY, next_poll_delay

Progress = Callable[[float], int]


def steady(duration: float) -> Progress:
    return lambda t: min(100, int(100 * t / duration))


def simulate(
    duration: float, progress: Progress, estimated: int | None = None
) -> tuple[float, int]:
    """(seconds from completion to the query that sees it, number of queries)."""
    t, queries = FIRST_PROBE, 0
    while True:
        queries += 1
        if t >= duration:
            return t - duration, queries
        t += next_poll_delay(t, progress(t), estimated)


def fixed(duration: float, interval: float = 5.0) -> tuple[float, int]:
    polls = int(duration // interval) + 1
    return polls * interval - duration, polls


@pytest.mark.parametrize("duration", [5, 7, 13, 19, 25])
def test_short_tasks_are_seen_within_a_second(duration: float) -> None:
    late, _ = simulate(duration, steady(duration))
    assert late <= 1.0


@pytest.mark.parametrize("duration", [5, 7, 9, 13, 19, 23, 25])
def test_short_tasks_take_no_more_queries_than_a_fixed_5_s_poll(duration: float) -> None:
    """Issue 20: 7/13/23 s tasks took 3/4/5 queries where a fixed 5 s poll takes 2/3/5."""
    late, queries = simulate(duration, steady(duration))
    assert queries <= fixed(duration)[1], (queries, fixed(duration))
    assert late <= 1.0


def test_tasks_of_30_to_90_s_are_seen_sooner_with_half_the_queries() -> None:
    durations = [30, 33, 45, 60, 61, 75, 87, 90]
    results = [simulate(d, steady(d)) for d in durations]
    mean_late = sum(late for late, _ in results) / len(results)
    queries = sum(q for _, q in results)
    fixed_queries = sum(fixed(d)[1] for d in durations)
    assert mean_late < 1.5
    assert queries <= fixed_queries / 2, (queries, fixed_queries)


def test_a_stuck_bar_spaces_the_queries_out_but_never_beyond_the_cap() -> None:
    stuck: Progress = lambda t: 20 if t < 400 else 100  # noqa: E731
    late, queries = simulate(400, stuck)
    assert late <= MAX_DELAY
    assert queries < 400 / 5  # far fewer than a fixed 5 s poll


def test_a_jumping_bar_is_followed_closely_once_seen() -> None:
    jump: Progress = lambda t: 5 if t < 40 else 95  # noqa: E731
    late, queries = simulate(70, jump)
    assert late <= 3.0 and queries <= 10


def test_no_progress_uses_the_estimate_then_backs_off() -> None:
    late, queries = simulate(60, lambda t: 0, estimated=60)
    assert late <= 1.0 and queries < 12
    # an estimate far too short: past it the gaps grow instead of hammering every second
    assert next_poll_delay(200, 0, 60) > 10
    assert next_poll_delay(2000, 0, 60) == MAX_DELAY


def test_no_progress_and_no_estimate_grows_from_a_first_probe() -> None:
    assert next_poll_delay(0, 0, None) == FIRST_PROBE
    assert next_poll_delay(60, 0, None) == pytest.approx(18)
    assert next_poll_delay(600, 0, None) == MAX_DELAY
