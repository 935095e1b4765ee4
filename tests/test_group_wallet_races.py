"""A group's wallet across replicas (issue 23): two members of one group press Generate at the
same instant, on two bot processes sharing one PostgreSQL, with credits in the wallet for one
video only. Each round: one video, one refusal, and the wallet never below zero."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.domain.access import LimitReached, Limits
from bot.domain.billing import account_of
from bot.domain.settings import GenerationSettings
from bot.lifecycle.groups import Groups
from bot.lifecycle.submit import Claimed, Refused
from tests.factories import make_record
from tests.fakes.lifecycle import build_lifecycle
from tests.test_storage_contract import open_backend

GROUP = -100700
ROUNDS = 40


class NoAdmins:
    async def is_admin(self, chat_id: int, user_id: int) -> bool:
        return False


async def test_two_members_on_two_replicas_race_the_last_credits_of_their_group(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    first = await open_backend("postgres", tmp_path, request)
    second = await open_backend("postgres", tmp_path, request)
    lives = [
        build_lifecycle(
            tmp_path / f"r{n}",
            Limits(max_active_per_user=10**6, max_active_total=10**6),
            billing=True,
            storage=store,
        )
        for n, store in enumerate((first, second))
    ]
    for life in lives:
        life.generation.submitter.groups = Groups(
            storage=life.storage, roles=NoAdmins(), billing_on=True, clock=life.generation.clock
        )
    billing = lives[0].generation.billing
    assert billing is not None
    settings = GenerationSettings("720p", 5, True)
    price = billing.price(settings)
    outcomes = []
    try:
        for n in range(ROUNDS):
            await billing.grant(GROUP, price, f"round{n}")  # the wallet: one video's worth
            cards = [
                make_record(f"g{n:03}{who}", user_id=10 + who, chat_id=GROUP, settings=settings)
                for who in (1, 2)
            ]
            for card in cards:
                (tmp_path / "r0" / "images").mkdir(parents=True, exist_ok=True)
                await first.add_task(card)
            results = await asyncio.gather(
                *(
                    life.generation.submitter.claim(card)
                    for life, card in zip(lives, cards, strict=True)
                )
            )
            outcomes.append(sorted(type(r).__name__ for r in results))
            refused = [r for r in results if isinstance(r, Refused)]
            assert [r.limit for r in refused] == [LimitReached.GROUP_NO_CREDITS]
            [won] = [r.record for r in results if isinstance(r, Claimed)]
            assert won.payer == GROUP and won.account == GROUP
            wallet = account_of(await first.ledger(GROUP))
            assert (wallet.balance, wallet.reserved) == (0, price * (n + 1))
            for member in (11, 12):  # the members' own accounts were never touched
                assert await first.ledger(member) == []
    finally:
        await first.close()
        await second.close()
    assert outcomes == [["Claimed", "Refused"]] * ROUNDS
