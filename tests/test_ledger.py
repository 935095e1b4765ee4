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


async def test_random_bot_operations_keep_balances_exact_through_the_lifecycle(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The same invariants with the real lifecycle moving the credits: purchases and their
    replays, generations that complete or fail upstream, refused submits, cancels, grants,
    refunds and restarts (a new service on the same storage, which reconciles)."""
    from bot.apimart import ApimartInvalidRequestError, TaskStatus
    from bot.domain.records import TaskState
    from bot.lifecycle.billing import Billing
    from bot.lifecycle.service import GenerationService
    from tests.factories import make_record
    from tests.fakes.lifecycle import FakeVideoApi, ManualScheduler, build_lifecycle

    rng = random.Random(7)
    api, scheduler = FakeVideoApi(), ManualScheduler()
    storage: Storage = await open_backend(backend, tmp_path / "db", request)

    def service(store: Storage) -> tuple[GenerationService, Billing]:
        life = build_lifecycle(tmp_path, storage=store, api=api, scheduler=scheduler, billing=True)
        assert life.generation.ending.billing is not None
        return life.generation, life.generation.ending.billing

    generation, billing = service(storage)
    images = tmp_path / "images"
    images.mkdir()
    charges: list[tuple[int, str]] = []
    users = (1, 2, 3)
    try:
        for step in range(500):
            user = rng.choice(users)
            kind = rng.choice(
                ["buy", "replay", "generate", "poll", "cancel", "grant", "refund", "restart"]
            )
            if kind == "buy":
                charges.append((user, f"ch{step}"))
                await billing.purchase(user, f"ch{step}", 50, 50)
            elif kind == "replay" and charges:
                await billing.purchase(*rng.choice(charges), 50, 50)
            elif kind == "generate":
                record = make_record(f"t{step}", user_id=user, image_file=f"t{step}.jpg")
                (images / record.image_file).write_bytes(b"jpeg")
                await storage.add_task(record)
                claimed = await generation.claim(record)
                if isinstance(claimed, type(record)) and claimed.state is TaskState.SUBMITTING:
                    if rng.random() < 0.15:
                        api.submit_error = ApimartInvalidRequestError("refused", status=400)
                    running = await generation.submit(claimed)
                    if running is not None and running.apimart_task_id:
                        final = rng.choice(("completed", "failed"))
                        api.statuses[running.apimart_task_id] = [
                            TaskStatus(
                                running.apimart_task_id,
                                final,
                                progress=100,
                                video_url="https://cdn/v.mp4" if final == "completed" else None,
                            )
                        ]
            elif kind == "poll" and scheduler.due:
                task_id = next(iter(scheduler.due))
                del scheduler.due[task_id]
                await generation.poll(task_id)
            elif kind == "cancel":
                running = await storage.tasks_in({TaskState.RUNNING}, user_id=user)
                if running:
                    await generation.cancel(rng.choice(running))
            elif kind == "grant":
                await billing.grant(user, rng.choice((10, -10, 30)))
            elif kind == "refund" and charges:
                purchase = await billing.find_purchase(rng.choice(charges)[1])
                if purchase is not None:
                    await billing.take_back(purchase)
            elif kind == "restart":
                if backend != "memory":
                    await storage.close()
                    storage = await open_backend(backend, tmp_path / "db", request)
                generation, billing = service(storage)
                await generation.resume()
        rows = await storage.ledger_rows()
        keys = Counter(m.key for m in rows)
        assert max(keys.values()) == 1  # no movement twice, no charge counted twice
        for user in users:
            mine = await storage.ledger(user)
            account = account_of(mine)
            assert account.balance == sum(m.amount for m in mine) >= 0
            active = await storage.tasks_in(
                {TaskState.SUBMITTING, TaskState.RUNNING, TaskState.DELIVERING}, user_id=user
            )
            # What is held is exactly what the user's tasks in flight hold.
            assert account.reserved == sum(25 for r in active if r.reservation)
        assert len(api.submitted) > 20 and sum(m.reason is Reason.SPEND for m in rows) > 5
        assert sum(m.reason is Reason.RELEASE for m in rows) > 5  # failures returned
    finally:
        await storage.close()
