"""The lifecycle's timer on PTB's JobQueue: one poll job per task at a time, daily expiry."""

from __future__ import annotations

from typing import Any

from telegram.ext import JobQueue

from bot.telegram.context import BotContext

EXPIRE_EVERY = 24 * 3600.0
LINE_EVERY = 10.0


def _job_name(task_id: str) -> str:
    return f"poll:{task_id}"


class JobQueueScheduler:
    def __init__(self, job_queue: JobQueue[Any]) -> None:
        self._job_queue = job_queue

    def schedule_poll(self, task_id: str, delay: float) -> None:
        """A job that is running has already left the queue, so it can schedule its successor."""
        if self._job_queue.get_jobs_by_name(_job_name(task_id)):
            return
        self._job_queue.run_once(poll_task, when=delay, data=task_id, name=_job_name(task_id))

    def poll_now(self, task_id: str) -> None:
        for job in self._job_queue.get_jobs_by_name(_job_name(task_id)):
            job.schedule_removal()
        self._job_queue.run_once(poll_task, when=0, data=task_id, name=_job_name(task_id))

    def schedule_lease_keeping(self, every: float) -> None:
        self._job_queue.run_repeating(keep_leases, interval=every, first=every, name="leases")

    def schedule_line_keeping(self, every: float = LINE_EVERY) -> None:
        """A safety net for the line: a slot freed where no event reached this process
        (another replica, a task that ended by a path without a hook) is used anyway."""
        self._job_queue.run_repeating(advance_line, interval=every, first=every, name="line")

    def schedule_housekeeping(self) -> None:
        self._job_queue.run_repeating(
            expire_cards, interval=EXPIRE_EVERY, first=600, name="expire"
        )


async def poll_task(context: BotContext) -> None:
    """One step of a task's lifecycle (the lifecycle schedules the next)."""
    assert context.job is not None
    await context.services.generation.poll(str(context.job.data))


async def advance_line(context: BotContext) -> None:
    await context.services.generation.advance_line()


async def keep_leases(context: BotContext) -> None:
    """Renew this process's leases; take over the tasks of a process that died; count the
    replicas alive, which share the flood budget."""
    await context.services.generation.keep_leases()
    if context.services.flood_share is not None:
        await context.services.flood_share.beat()


async def expire_cards(context: BotContext) -> None:
    """Daily housekeeping: close week-old untouched cards, prune old history, and ask the
    provider for its prices again."""
    services = context.services
    await services.generation.housekeeping()
    if services.config.refresh_prices:
        await services.prices.refresh(services.video)
