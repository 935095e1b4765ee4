"""Lifecycle behaviours that `make mutants` found untested (docs/benchmarks.md, "Mutation
testing"): the week-old card sweep's count and edge, and which pricing answers replace the
configured prices."""

from __future__ import annotations

from pathlib import Path

from bot.domain.pricing import DEFAULT_PER_SECOND, MODEL, PriceTable
from bot.domain.records import TaskState
from bot.lifecycle.ports import VideoServiceError
from bot.lifecycle.prices import Prices
from tests.factories import make_record
from tests.fakes.lifecycle import build_lifecycle

WEEK = 7 * 86400.0


async def test_the_sweep_closes_every_card_a_week_old_to_the_second_and_counts_them(
    tmp_path: Path,
) -> None:
    life = build_lifecycle(tmp_path)
    now = life.now[0]
    (tmp_path / "images").mkdir()
    ages = {"young": 3600.0, "week": WEEK, "older": WEEK + 60, "failed": WEEK * 2}
    for task_id, age in ages.items():  # the young card first: it must not stop the sweep
        (tmp_path / "images" / f"{task_id}.jpg").write_bytes(b"\xff\xd8jpeg")
        state = TaskState.FAILED if task_id == "failed" else TaskState.DRAFT
        await life.storage.add_task(make_record(task_id, state=state, created_at=now - age))
    assert await life.generation.expire(WEEK) == 3
    left = [await life.storage.get_task(task_id) for task_id in ages]
    assert {r.id: r.state for r in left if r is not None} == {
        "young": TaskState.DRAFT,
        "week": TaskState.CLOSED,
        "older": TaskState.CLOSED,
        "failed": TaskState.CLOSED,
    }
    assert await life.generation.expire(WEEK) == 0


class Pricing:
    def __init__(self, answer: object = None, error: bool = False) -> None:
        self.answer, self.error = answer, error

    async def get_pricing(self) -> object:
        if self.error:
            raise VideoServiceError("502")
        return self.answer


def answer(model: str) -> dict[str, object]:
    return {
        "data": [
            {"model": model, "resolution": r, "audio": a, "price_per_second": 0.01}
            for r in ("720p", "1080p")
            for a in (False, True)
        ]
    }


async def test_the_providers_prices_for_this_model_replace_the_configured_ones() -> None:
    prices = Prices()
    await prices.refresh(Pricing(answer(MODEL)))
    assert prices.current == PriceTable(dict.fromkeys(DEFAULT_PER_SECOND, 0.01), "USD")
    await prices.refresh(Pricing(answer("another-model")))
    assert prices.current == prices.configured


async def test_an_unavailable_pricing_endpoint_leaves_the_configured_prices() -> None:
    prices = Prices()
    await prices.refresh(Pricing(answer(MODEL)))
    await prices.refresh(Pricing(error=True))
    assert prices.current == prices.configured
