"""Uploaded soundtracks on this process's disk: the embedded default (one process, one disk)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DiskSoundtracks:
    folder: Path

    async def save(self, name: str, data: bytes) -> None:
        await asyncio.to_thread(self._write, name, data)

    async def read(self, name: str) -> bytes | None:
        try:
            return await asyncio.to_thread((self.folder / name).read_bytes)
        except OSError:
            return None

    async def delete(self, name: str) -> None:
        (self.folder / name).unlink(missing_ok=True)

    async def sweep(self, in_use: set[str]) -> int:
        if not self.folder.is_dir():
            return 0
        orphans = [p for p in self.folder.iterdir() if p.is_file() and p.name not in in_use]
        for path in orphans:
            path.unlink(missing_ok=True)
        return len(orphans)

    def _write(self, name: str, data: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / name).write_bytes(data)
