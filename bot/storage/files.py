"""Files that are never half-written: JSON by temp file + fsync + rename, history by append.

Each JSON file has a `.bak` beside it holding the same content as last written (a copy of its
own, written the same way right after the file), so `python -m bot --repair` restores a
damaged file without losing a change.

`AtomicJSONStorage` is a TinyDB storage, so every `.json` file of the embedded backend is a
TinyDB document ({table: {doc_id: row}}) that TinyDB itself can open.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tinydb.storages import Storage as TinyStorage

from bot.storage.base import StorageCorruptError


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".bak")


class AtomicJSONStorage(TinyStorage):
    """JSON written to a temporary file, fsynced and renamed: a kill never leaves half a file.

    Every write also replaces `<name>.bak` with the same content (see `write_atomically`), so
    `python -m bot --repair` restores a damaged file as it was last written.
    """

    def __init__(self, path: str) -> None:
        self._path = Path(path)

    def read(self) -> dict[str, Any] | None:
        try:
            raw = self._path.read_bytes()
        except FileNotFoundError:
            return None
        if not raw.strip():
            return None
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise StorageCorruptError(f"{self._path} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise StorageCorruptError(f"{self._path} does not hold a TinyDB document")
        return data

    def write(self, data: dict[str, Any]) -> None:
        write_atomically(self._path, json.dumps(data, ensure_ascii=False, separators=(",", ":")))

    def close(self) -> None:
        pass


def write_atomically(path: Path, text: str) -> None:
    """Put `text` in `path`, then the same text in its `.bak`, each by temp + fsync + rename.

    The backup is a copy of its own (not a hard link), so damage to the file's inode never
    reaches it. The file goes first: a crash between the two leaves a good file and a backup
    one write behind, which is only read if the file itself is damaged.
    """
    _replace(path, text)
    _replace(backup_path(path), text)


def _replace(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".db-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def append_lines(path: Path, lines: list[str]) -> None:
    """Append and fsync; a kill can only leave a torn last line, which readers skip."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write("".join(line + "\n" for line in lines))
        out.flush()
        os.fsync(out.fileno())


def read_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of an append-only file, skipping a line a kill tore."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            yield row


def repair_file(path: Path) -> str | None:
    """Set a damaged JSON file aside and restore its backup; None when it was readable."""
    try:
        AtomicJSONStorage(str(path)).read()
        return None
    except StorageCorruptError:
        pass
    aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
    os.replace(path, aside)
    backup = backup_path(path)
    try:
        data = AtomicJSONStorage(str(backup)).read() if backup.exists() else None
    except StorageCorruptError:
        data = None
    if data is None:
        return f"{path} was damaged and no good backup exists; it was moved to {aside}."
    AtomicJSONStorage(str(path)).write(data)
    return (
        f"{path} was damaged: moved to {aside} and restored from {backup}, as it was last written."
    )
