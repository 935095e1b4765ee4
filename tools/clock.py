"""The wall clock and the seeds of a screens run, so that the same bot gives the same pictures.

`FROZEN.install()` (before bot/ is imported: its clocks are `time.time` bound as default
arguments) makes `time.time` start at START and run at its normal pace, and the seeds the bot
draws (`secrets.randbelow`) come from one fixed sequence. `restart` goes back to START, so
every language shows the same dates and seeds; `advance` jumps ahead, as if a task had been
generating for a while. Not installed (tests), both do nothing that matters.
"""

from __future__ import annotations

import datetime
import random
import secrets
import time

START = datetime.datetime(2025, 6, 1, 12, 0, tzinfo=datetime.UTC).timestamp()


class FrozenClock:
    def __init__(self) -> None:
        self.installed = False
        self._base = START
        self._mark = time.monotonic()
        self._seeds = random.Random(START)

    def install(self) -> None:
        time.time = self.now
        secrets.randbelow = self._draw
        self.installed = True

    def now(self) -> float:
        return self._base + (time.monotonic() - self._mark)

    def restart(self) -> None:
        self._base, self._mark = START, time.monotonic()
        self._seeds = random.Random(START)

    def advance(self, seconds: float) -> None:
        self._base += seconds

    def _draw(self, exclusive_upper_bound: int) -> int:
        return self._seeds.randrange(exclusive_upper_bound)


FROZEN = FrozenClock()
