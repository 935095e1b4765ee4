"""Albums (media groups): one photo makes one video, so an album gets one card, for the first
of its photos to arrive, and one short note; the rest are left alone. The same count keeps a
button pressed twice in a moment from starting twice. Replicas on one database count in it:
an album's photos, or two presses, may each reach another replica."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from enum import Enum

KEEP_SECONDS = 120.0  # an album's photos arrive within a second or two of each other
PRESS_SECONDS = 3.0  # a second press of the same button within this is a double tap

# (key, keep_seconds) -> how many times the key arrived within keep_seconds before now
SharedCount = Callable[[str, float], Awaitable[int]]


class AlbumPhoto(Enum):
    FIRST = "first"  # open its card
    SECOND = "second"  # say once that only the first one is used
    OTHER = "other"  # nothing more to say


class Arrivals:
    """How many times a key arrived within `keep_seconds` before this time: counted in this
    process, or in the database replicas share."""

    def __init__(
        self,
        keep_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        shared: SharedCount | None = None,
    ) -> None:
        self.keep_seconds = keep_seconds
        self._clock = clock
        self._shared = shared
        self._seen: dict[str, tuple[int, float]] = {}  # key -> (arrivals, first seen)

    async def before(self, key: str) -> int:
        if self._shared is not None:
            return await self._shared(key, self.keep_seconds)
        now = self._clock()
        cutoff = now - self.keep_seconds
        for old in [k for k, (_, seen) in self._seen.items() if seen < cutoff]:
            del self._seen[old]
        count, first_seen = self._seen.get(key, (0, now))
        self._seen[key] = (count + 1, first_seen)
        return count


class Albums:
    def __init__(
        self, clock: Callable[[], float] = time.monotonic, shared: SharedCount | None = None
    ) -> None:
        self._arrivals = Arrivals(KEEP_SECONDS, clock, shared)

    async def arrived(self, media_group_id: str) -> AlbumPhoto:
        count = await self._arrivals.before(f"album:{media_group_id}")
        return (AlbumPhoto.FIRST, AlbumPhoto.SECOND)[count] if count < 2 else AlbumPhoto.OTHER
