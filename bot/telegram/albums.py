"""Albums (media groups): one photo makes one video, so an album gets one card, for the first
of its photos to arrive, and one short note; the rest are left alone. Replicas on one database
count an album's photos there: its photos may each reach another replica."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from enum import Enum

KEEP_SECONDS = 120.0  # an album's photos arrive within a second or two of each other

# (media group id, keep_seconds) -> how many of its photos arrived before this one
SharedCount = Callable[[str, float], Awaitable[int]]


class AlbumPhoto(Enum):
    FIRST = "first"  # open its card
    SECOND = "second"  # say once that only the first one is used
    OTHER = "other"  # nothing more to say


class Albums:
    def __init__(
        self, clock: Callable[[], float] = time.monotonic, shared: SharedCount | None = None
    ) -> None:
        self._clock = clock
        self._shared = shared
        self._seen: dict[str, tuple[int, float]] = {}  # media group id -> (photos, first seen)

    async def arrived(self, media_group_id: str) -> AlbumPhoto:
        if self._shared is not None:
            count = await self._shared(media_group_id, KEEP_SECONDS)
        else:
            count = self._count(media_group_id)
        return (AlbumPhoto.FIRST, AlbumPhoto.SECOND)[count] if count < 2 else AlbumPhoto.OTHER

    def _count(self, media_group_id: str) -> int:
        now = self._clock()
        self._forget_older_than(now - KEEP_SECONDS)
        count, first_seen = self._seen.get(media_group_id, (0, now))
        self._seen[media_group_id] = (count + 1, first_seen)
        return count

    def _forget_older_than(self, cutoff: float) -> None:
        for group in [g for g, (_, seen) in self._seen.items() if seen < cutoff]:
            del self._seen[group]
