"""Background polling of apimart tasks on the JobQueue, one job per task at a time."""

from __future__ import annotations

import logging

from telegram.ext import JobQueue

from bot.telegram.context import BotContext

log = logging.getLogger(__name__)


def _job_name(task_id: str) -> str:
    return f"poll:{task_id}"


def schedule_poll(job_queue: JobQueue, task_id: str, delay: float) -> None:
    """Start polling a task unless a poll for it is already scheduled."""
    if job_queue.get_jobs_by_name(_job_name(task_id)):
        return
    job_queue.run_once(poll_task, when=delay, data=task_id, name=_job_name(task_id))


async def poll_task(context: BotContext) -> None:
    """One step of a task's lifecycle; schedules the next step when there is one."""
    task_id: str = context.job.data
    generation = context.services.generation
    try:
        delay = await generation.poll(task_id)
    except Exception:
        # A bug must not strand a paid task: log it and keep the task alive.
        log.exception("task %s: unexpected error while polling", task_id)
        delay = generation.poll_interval * 3
    if delay is not None:
        context.job_queue.run_once(poll_task, when=delay, data=task_id, name=_job_name(task_id))


CARD_MAX_AGE = 7 * 24 * 3600.0


async def expire_cards(context: BotContext) -> None:
    """Daily housekeeping: close week-old untouched cards and free their files."""
    await context.services.generation.expire(CARD_MAX_AGE)
