"""Benchmarks of the hot spots: image preparation and storage writes as tasks pile up.

Run: `.venv/bin/python -m bench.bench_core` (results are printed; see docs/benchmarks.md).
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
from bot.domain.transitions import Progressed
from bot.images import prepare_image
from bot.storage.tinydb import TinyDBStorage


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


async def bench_storage(task_counts: tuple[int, ...] = (100, 10_000, 100_000)) -> None:
    """One task update, with more and more history behind it: the cost must stay flat."""
    for count in task_counts:
        with tempfile.TemporaryDirectory() as tmp:
            storage = TinyDBStorage(Path(tmp))
            await asyncio.gather(
                *(storage.add_task(_task(f"h{n}", n, TaskState.DONE)) for n in range(count))
            )
            live = [_task(f"t{n}", n, TaskState.RUNNING) for n in range(100)]
            await asyncio.gather(*(storage.add_task(record) for record in live))
            timings = []
            for n in range(50):
                start = time.perf_counter()
                await storage.update_task(
                    f"t{n}", Progressed(api_status="processing", progress=n + 1)
                )
                timings.append(time.perf_counter() - start)
            history = sum(p.stat().st_size for p in (Path(tmp) / "db").rglob("*.jsonl"))
            print(
                f"storage update with {count} finished tasks ({history / 1e6:.1f} MB of "
                f"history): median {statistics.median(timings) * 1000:.1f} ms"
            )
            await storage.close()


def _task(task_id: str, n: int, state: TaskState) -> TaskRecord:
    return TaskRecord(
        id=task_id,
        user_id=n % 5000,
        chat_id=n % 5000,
        source_message_id=n,
        image_file=f"{task_id}.jpg",
        image_width=640,
        image_height=480,
        card_message_id=n,
        prompt="a cat waves " * 5,
        state=state,
        finished_at=time.time() if state is TaskState.DONE else None,
    )


if __name__ == "__main__":
    bench_prepare_image()
    asyncio.run(bench_storage())
