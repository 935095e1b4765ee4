"""How every stage ends a task or sends it back to its card: one place for each."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from bot.domain.notices import Notice
from bot.domain.records import ENDED_STATES, TaskRecord, TaskState
from bot.domain.transitions import BackToDraft, Ended
from bot.lifecycle.billing import Billing
from bot.lifecycle.failures import OUTCOMES, Failure
from bot.lifecycle.files import TaskFiles
from bot.lifecycle.ports import Messenger, Metrics, NoMetrics, SentVideo
from bot.lifecycle.tasklog import task_log
from bot.storage import Storage

log = logging.getLogger(__name__)

ADMIN_ALERT_INTERVAL = 3600.0

# A generation is under way in these: ending from one counts one outcome (a discarded draft,
# or a failed card closed later, counts none).
GENERATING_STATES = frozenset(
    {TaskState.QUEUED, TaskState.SUBMITTING, TaskState.RUNNING, TaskState.DELIVERING}
)


@dataclass
class TaskEnding:
    storage: Storage
    messenger: Messenger
    files: TaskFiles
    admin_ids: frozenset[int] = frozenset()
    clock: Callable[[], float] = time.time
    billing: Billing | None = None  # BILLING=stars: credits move with the task's state
    metrics: Metrics = field(default_factory=NoMetrics)  # outcomes, for the operator
    # When each kind of admin alert was last sent: one alert per problem, not one per user.
    _alerted: dict[Notice, float] = field(default_factory=dict)

    async def finish(
        self,
        record: TaskRecord,
        state: TaskState,
        notice: Notice | None = None,
        error: str = "",
        *,
        expect_version: int | None = None,
        redraw: bool = True,
        sent: SentVideo | None = None,
    ) -> TaskRecord | None:
        """Move the task to a final (or retryable) state; None when it was not in a state
        that ending may leave (`bot.domain.transitions.ENDINGS`), or had changed since
        `expect_version`.

        Ended tasks free their soundtrack (the photo stays for "Again" until RETENTION_DAYS);
        `redraw=False` when the chat can no longer be reached.
        """
        ended = Ended(state=state, notice=notice, error=error, finished_at=self.clock())
        if sent is not None:
            ended = replace(ended, video_message_id=sent.message_id, video_file_id=sent.file_id)
            if sent.in_private and notice is None:  # the group's card says where it went
                ended = replace(ended, notice=Notice.SENT_IN_PRIVATE)
        updated = await self.storage.update_task(record.id, ended, expect_version=expect_version)
        if updated is None:
            return None
        if record.state in GENERATING_STATES:
            self.metrics.generation_ended(state.value)
        if self.billing is not None:
            await self.billing.settle(updated)
        if state in ENDED_STATES:
            await self.files.drop(updated)
        if redraw:
            await self.messenger.show_card(updated)
        return updated

    async def back_to_draft(
        self, record: TaskRecord, notice: Notice | None, error: str = ""
    ) -> TaskRecord | None:
        """The service certainly did not accept the task: let the user adjust and retry."""
        updated = await self.storage.update_task(
            record.id, BackToDraft(notice=notice, error=error)
        )
        if updated is not None:
            if record.state in GENERATING_STATES:
                self.metrics.generation_ended("refused")  # certainly not accepted
            if self.billing is not None:
                await self.billing.settle(updated)
            await self.messenger.show_card(updated)
        return updated

    async def fail(
        self, record: TaskRecord, failure: Failure, detail: object = "", *, error: str = ""
    ) -> TaskRecord | None:
        """Log the failure, alert the operators if they must act, and move the task on."""
        outcome = OUTCOMES[failure]
        suffix = f": {detail}" if detail != "" else ""
        task_log(log, record).log(outcome.level, "%s%s", failure.value, suffix)
        if outcome.alert and outcome.notice is not None:
            await self._alert(outcome.notice)
        if outcome.state is TaskState.DRAFT:
            return await self.back_to_draft(record, outcome.notice, error)
        return await self.finish(
            record, outcome.state, outcome.notice, error, redraw=outcome.redraw
        )

    async def _alert(self, notice: Notice) -> None:
        now = self.clock()
        if not self.admin_ids or now - self._alerted.get(notice, -1e18) < ADMIN_ALERT_INTERVAL:
            return
        self._alerted[notice] = now
        await self.messenger.alert_admins(self.admin_ids, notice)
