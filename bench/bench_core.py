"""Benchmarks of the hot spots: image preparation and storage writes as tasks pile up.

Run: `.venv/bin/python -m bench.bench_core` (results are printed; see bench/RESULTS.md).
"""

from __future__ import annotations

import asyncio
import io
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from PIL import Image

from bot.domain.records import TaskRecord, TaskState
from bot.images import prepare_image
from bot.storage.tinydb import Storage


def _photo(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((width, height), 60).convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def bench_prepare_image() -> None:
    for width, height in ((1280, 960), (2560, 1920), (6000, 4000)):
        raw = _photo(width, height)
        timings = []
        tracemalloc.start()
        for _ in range(5):
            start = time.perf_counter()
            prepared = prepare_image(raw)
            timings.append(time.perf_counter() - start)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(
            f"prepare_image {width}x{height} ({len(raw) / 1e6:.1f} MB in, "
            f"{len(prepared.jpeg) / 1e6:.1f} MB out): median "
            f"{statistics.median(timings) * 1000:.0f} ms, peak {peak / 1e6:.0f} MB"
        )


async def bench_storage(task_counts: tuple[int, ...] = (100, 1000, 5000)) -> None:
    for count in task_counts:
        with tempfile.TemporaryDirectory() as tmp:
            storage = Storage(Path(tmp) / "bot.json")
            for n in range(count):
                await storage.add_task(
                    TaskRecord(
                        id=f"t{n}",
                        user_id=n % 50,
                        chat_id=n % 50,
                        source_message_id=n,
                        image_file=f"t{n}.jpg",
                        image_width=640,
                        image_height=480,
                        card_message_id=n,
                        prompt="a cat waves " * 5,
                        state=TaskState.DONE,
                    )
                )
            timings = []
            for n in range(20):
                start = time.perf_counter()
                await storage.update_task(f"t{n}", progress=n)
                timings.append(time.perf_counter() - start)
            size = (Path(tmp) / "bot.json").stat().st_size
            print(
                f"storage update with {count} tasks ({size / 1e6:.1f} MB file): median "
                f"{statistics.median(timings) * 1000:.1f} ms"
            )
            storage.close()


if __name__ == "__main__":
    bench_prepare_image()
    asyncio.run(bench_storage())
