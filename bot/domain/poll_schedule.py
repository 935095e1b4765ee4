"""When to ask about a running task next: sparse early, dense near the expected end.

The expected end comes from the progress so far (its average rate since submission, which
smooths a stuck or jumping bar), else from the service's `estimated_time` hint, else it is
unknown and the gaps grow with the time already waited.
"""

from __future__ import annotations

FIRST_PROBE = 3.0  # after the POST: one early look gives the first rate
MIN_DELAY = 1.0  # near the end: at most this late after completion (plus the answer's trip)
MAX_DELAY = 30.0
SHARE_OF_REMAINING = 0.7  # wait this share of the expected rest, then look again
AIM_WITHIN = 10.0  # this close to the expected end, look just after it, not once more before
AIM_MARGIN = 0.2  # seconds after the expected end
OVERDUE_SHARE = 0.25  # past the expected end: back off gently, not every second forever
UNKNOWN_SHARE = 0.3  # no progress, no estimate: a share of the time already waited


def next_poll_delay(elapsed: float, progress: int, estimated_time: int | None) -> float:
    """Seconds until the next status query of a task submitted `elapsed` seconds ago."""
    remaining = expected_remaining(elapsed, progress, estimated_time)
    if remaining is None:
        return _clamp(UNKNOWN_SHARE * elapsed, FIRST_PROBE)
    if 0 < remaining <= AIM_WITHIN:
        # Short tasks (7-13 s) in two queries, as few as a fixed 5 s poll makes, and seen
        # within a fraction of a second of their end; a bar that ran ahead is looked at again
        # a second later at the earliest.
        return _clamp(remaining + AIM_MARGIN)
    if remaining > 0:
        return _clamp(SHARE_OF_REMAINING * remaining)
    return _clamp(OVERDUE_SHARE * -remaining)


def expected_remaining(elapsed: float, progress: int, estimated_time: int | None) -> float | None:
    """Seconds the task should still need (negative: overdue); None when nothing says."""
    if 0 < progress < 100 and elapsed > 0:
        return elapsed * (100 - progress) / progress
    if progress >= 100:
        return 0.0  # done upstream but not reported completed yet: look again soon
    if estimated_time:
        return estimated_time - elapsed
    return None


def _clamp(delay: float, minimum: float = MIN_DELAY) -> float:
    return max(minimum, min(MAX_DELAY, delay))
