"""The credit ledger on every backend: a random run of 500 operations (buys, replays,
generations, failures, restarts, grants, refunds) keeps the balance equal to the ledger's
sum, never below zero, and counts no charge twice."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from bot.domain.billing import Movement, Reason, account_of
from bot.storage import Storage
from tests.test_storage_contract import PERSISTENT, open_backend


@pytest.fixture(params=("memory", *PERSISTENT))
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_random_operations_keep_the_ledger_exact(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    rng = random.Random(20261124)
    storage: Storage = await open_backend(backend, tmp_path, request)
    charges: list[tuple[int, str]] = []
    reservations: list[tuple[int, str]] = []
    applied: Counter[tuple[str, str]] = Counter()
    users = (1, 2, 3)
    try:
        for step in range(500):
            user = rng.choice(users)
            kind = rng.choice(
                ["buy", "replay", "reserve", "spend", "release", "grant", "refund", "restart"]
            )
            movement: Movement | None = None
            if kind == "buy":
                charge = f"charge-{step}"
                charges.append((user, charge))
                movement = Movement(user, 50, Reason.PURCHASE, charge, step, stars=50)
            elif kind == "replay" and charges:
                owner, charge = rng.choice(charges)
                movement = Movement(owner, 50, Reason.PURCHASE, charge, step, stars=50)
            elif kind == "reserve":
                ref = f"task{step}:1"
                reservations.append((user, ref))
                movement = Movement(user, -rng.choice((10, 25, 40)), Reason.RESERVE, ref, step)
            elif kind in ("spend", "release") and reservations:
                owner, ref = rng.choice(reservations)
                reserve = next(
                    (m for m in await storage.ledger(owner) if m.key == ("reserve", ref)), None
                )
                held = -reserve.amount if reserve else 10
                amount = 0 if kind == "spend" else held
                movement = Movement(owner, amount, Reason(kind), ref, step)
            elif kind == "grant":
                movement = Movement(user, rng.choice((5, -5, 20)), Reason.GRANT, f"g{step}", step)
            elif kind == "refund" and charges:
                owner, charge = rng.choice(charges)
                movement = Movement(owner, -50, Reason.REFUND, charge, step, stars=50)
            elif kind == "restart" and backend != "memory":
                await storage.close()
                storage = await open_backend(backend, tmp_path, request)
            if movement is not None and await storage.ledger_apply(movement):
                applied[movement.key] += 1
        rows = await storage.ledger_rows()
        assert Counter(m.key for m in rows) == applied and max(applied.values()) == 1
        for user in users:
            mine = await storage.ledger(user)
            account = account_of(mine)
            assert account.balance == sum(m.amount for m in mine) >= 0
            purchases = Counter(m.ref for m in mine if m.reason is Reason.PURCHASE)
            assert all(n == 1 for n in purchases.values())
            settled = Counter(m.ref for m in mine if m.reason in (Reason.SPEND, Reason.RELEASE))
            assert all(n == 1 for n in settled.values())  # spent or returned, never both
        assert sum(1 for m in rows if m.reason is Reason.PURCHASE) > 20  # the run did buy
    finally:
        await storage.close()
