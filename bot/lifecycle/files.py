"""The files a task keeps: its photo and its video's last frame (on disk), and a soundtrack the
bot serves (on disk, or in PostgreSQL where replicas share it)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from bot.domain.records import TaskRecord
from bot.images import PreparedImage
from bot.lifecycle.ports import SoundtrackStore


@dataclass(frozen=True)
class TaskFiles:
    images_dir: Path
    soundtracks: SoundtrackStore
    work_dir: Path  # downloads in progress

    def image_path(self, record: TaskRecord) -> Path:
        return self.images_dir / record.image_file

    @staticmethod
    def image_name(task_id: str) -> str:
        return f"{task_id}.jpg"

    def save_image(self, task_id: str, image: PreparedImage) -> str:
        self.images_dir.mkdir(parents=True, exist_ok=True)
        name = self.image_name(task_id)
        (self.images_dir / name).write_bytes(image.jpeg)
        return name

    def keep_image(self, record: TaskRecord, image: PreparedImage) -> None:
        """A photo fetched again (another replica opened its card): kept under its name."""
        self.images_dir.mkdir(parents=True, exist_ok=True)
        self.image_path(record).write_bytes(image.jpeg)

    def read_image(self, record: TaskRecord) -> PreparedImage:
        """OSError when the photo is gone."""
        jpeg = self.image_path(record).read_bytes()
        return PreparedImage(jpeg, record.image_width, record.image_height)

    async def delete_soundtrack(self, name: str | None) -> None:
        """A served soundtrack that left its card: its public link must stop working."""
        if name:
            await self.soundtracks.delete(name)

    async def sweep_soundtracks(self, in_use: set[str]) -> int:
        """Delete served soundtracks nothing refers to (left by a crash or an older release),
        so no forgotten file stays public. Returns how many were deleted."""
        return await self.soundtracks.sweep(in_use)

    async def drop(self, record: TaskRecord) -> None:
        """The task is over: a soundtrack we served goes at once (its link is public); the
        photo stays for "Again", "Edit" and /history until RETENTION_DAYS (sweep_images)."""
        await self.delete_soundtrack(record.soundtrack_file)

    def forget_photo(self, record: TaskRecord) -> None:
        """The photo and, once delivered, the video's last frame (/forget, a closed card)."""
        self.image_path(record).unlink(missing_ok=True)
        (self.images_dir / self.frame_name(record.id)).unlink(missing_ok=True)

    def copy_image(self, record: TaskRecord, task_id: str) -> str | None:
        """The kept photo of `record` for a new task; None when it is no longer kept."""
        try:
            jpeg = self.image_path(record).read_bytes()
        except OSError:
            return None
        name = self.image_name(task_id)
        (self.images_dir / name).write_bytes(jpeg)
        return name

    @staticmethod
    def frame_name(task_id: str) -> str:
        return f"{task_id}.last.jpg"

    def save_frame(self, record: TaskRecord, frame: PreparedImage) -> None:
        """A delivered video's last frame, for ⏭ Continue: kept like its photo (and swept
        with it after RETENTION_DAYS)."""
        self.images_dir.mkdir(parents=True, exist_ok=True)
        (self.images_dir / self.frame_name(record.id)).write_bytes(frame.jpeg)

    def read_frame(self, record: TaskRecord) -> PreparedImage | None:
        """The kept last frame of `record`'s video; None when this disk has none."""
        try:
            jpeg = (self.images_dir / self.frame_name(record.id)).read_bytes()
            with Image.open(io.BytesIO(jpeg)) as header:  # the size only: nothing decoded
                width, height = header.size
        except (OSError, UnidentifiedImageError):
            return None
        return PreparedImage(jpeg, width, height)

    def sweep_images(self, in_use: set[str], older_than: float) -> int:
        """Delete kept photos past the retention that no live task needs."""
        if not self.images_dir.is_dir():
            return 0
        old = [
            p
            for p in self.images_dir.iterdir()
            if p.is_file() and p.name not in in_use and p.stat().st_mtime < older_than
        ]
        for path in old:
            path.unlink(missing_ok=True)
        return len(old)

    def sweep_work(self, older_than: float) -> int:
        """Delete what a stop or a crash left in the scratch folder (a download, a join or
        a round note cut short): nothing there lives an hour."""
        if not self.work_dir.is_dir():
            return 0
        left = [
            p for p in self.work_dir.rglob("*") if p.is_file() and p.stat().st_mtime < older_than
        ]
        for path in left:
            path.unlink(missing_ok=True)
        return len(left)

    def download_path(self, record: TaskRecord) -> Path:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        return self.work_dir / f"{record.id}.mp4"


def discard(path: Path) -> None:
    """A file the task no longer needs; already gone is fine (outside `async def`s' bodies,
    where a blocking Path call is flagged)."""
    path.unlink(missing_ok=True)
