"""A task's transitions, declared once: which states each may leave, which it enters, and the
fields it may set (its own fields, typed). Storage applies a change only as this table allows,
so no stage can set a field its transition does not own, or move a task from a state the
transition does not leave.

    draft ──Claim──▶ submitting ──Accepted──▶ running ──Completed──▶ delivering ──Ended──▶ done
      │ ▲              │  │ ▲                  │ ▲ Progressed             │
      │ │ BackToDraft ◀┘  │ └── UndoClaim      │ └ PollFailed, Redrawn    └─Ended─▶ failed, closed
      │ └──────────────── queued ◀──Enqueue── draft, failed, unknown, timed_out
      └─EditCard, CardPosted (draft → draft)  Ended ▶ failed, unknown, timed_out, cancelled, closed
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from bot.domain.actions import Page
from bot.domain.notices import Notice
from bot.domain.records import RETRYABLE_STATES, TaskRecord, TaskState
from bot.domain.settings import GenerationSettings


class Keep:
    """ "Leave this field as it is" in a change that sets some fields and not others."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP = Keep()

CLAIMABLE = frozenset({TaskState.DRAFT, *RETRYABLE_STATES})
CANCELLABLE = frozenset({TaskState.DRAFT, TaskState.QUEUED, TaskState.RUNNING, *RETRYABLE_STATES})


@dataclass(frozen=True, kw_only=True)
class EditCard:
    """A button, a reply or a caption changed a card that is still a draft."""

    prompt: str | Keep = KEEP
    settings: GenerationSettings | Keep = KEEP
    template: str | Keep | None = KEEP
    soundtrack_url: str | Keep | None = KEEP
    soundtrack_file: str | Keep | None = KEEP
    soundtrack_title: str | Keep = KEEP
    page: Page | Keep = KEEP
    pays_self: bool | Keep = KEEP
    notice: Notice | Keep | None = KEEP
    error: str | Keep = KEEP


@dataclass(frozen=True, kw_only=True)
class CardPosted:
    """The card went out as a message of its own (the photo was ready before a placeholder
    was needed): its id, so presses and redraws find it."""

    card_message_id: int


@dataclass(frozen=True, kw_only=True)
class Claim:
    """Generate: the card is this process's to submit (one attempt more)."""

    attempt: int
    seed_used: int
    lease_owner: str
    lease_until: float
    callback_token: str | None
    reservation: str | None
    payer: int | None = None  # the group's wallet pays (issue 23); None: the user
    notice: None = None
    error: str = ""
    progress: int = 0
    api_status: str = ""
    submitted_at: None = None  # set when the API accepts this attempt


@dataclass(frozen=True, kw_only=True)
class Enqueue:
    """Generate while the bot is full: the card waits in line, its credits held."""

    queued_at: float
    queue_position: int
    reservation: str | None
    payer: int | None = None
    notice: None = None
    error: str = ""
    submitted_at: None = None


@dataclass(frozen=True, kw_only=True)
class UndoClaim:
    """A claim without the credits to pay for it: the card goes back as it was."""

    before: TaskRecord


@dataclass(frozen=True, kw_only=True)
class MovedInLine:
    queue_position: int


@dataclass(frozen=True, kw_only=True)
class BackToDraft:
    """The service certainly did not take it (or its turn came past the allowance)."""

    notice: Notice | None
    error: str = ""


@dataclass(frozen=True, kw_only=True)
class Accepted:
    """The API took the submission: from now on it is polled."""

    apimart_task_id: str
    submitted_at: float
    shown_view: str
    shown_at: float
    api_status: str = "submitted"
    poll_failures: int = 0


@dataclass(frozen=True, kw_only=True)
class Progressed:
    api_status: str
    progress: int
    shown_view: str | Keep = KEEP
    shown_at: float | Keep = KEEP
    poll_failures: int = 0


@dataclass(frozen=True, kw_only=True)
class Redrawn:
    """What the card shows of the progress (written back when a redraw was dropped)."""

    shown_view: str
    shown_at: float


@dataclass(frozen=True, kw_only=True)
class PollFailed:
    poll_failures: int


@dataclass(frozen=True, kw_only=True)
class Completed:
    """The video is ready upstream: it is to be delivered."""

    api_status: str
    video_url: str
    expires_at: int | None
    seed_used: int | None
    progress: int = 100
    poll_failures: int = 0


@dataclass(frozen=True, kw_only=True)
class UploadStarted:
    """The video is about to be uploaded: from now on, sending it again could send it twice."""

    upload_started_at: float | None  # None: the upload certainly did not reach the chat


@dataclass(frozen=True, kw_only=True)
class Ended:
    """Done, failed, timed out, unknown, cancelled or closed (ENDINGS says from where)."""

    state: TaskState
    finished_at: float
    notice: Notice | None = None
    error: str = ""
    video_message_id: int | Keep | None = KEEP
    video_file_id: str | Keep | None = KEEP


TaskChange = (
    EditCard
    | CardPosted
    | Claim
    | Enqueue
    | UndoClaim
    | MovedInLine
    | BackToDraft
    | Accepted
    | Progressed
    | Redrawn
    | PollFailed
    | Completed
    | UploadStarted
    | Ended
)


@dataclass(frozen=True)
class Transition:
    sources: frozenset[TaskState]
    target: TaskState | None  # None: the task stays in its state


_RUNNING = frozenset({TaskState.RUNNING})
# The table: every change, the states it may leave and the state it enters.
TRANSITIONS: dict[type[Any], Transition] = {
    EditCard: Transition(frozenset({TaskState.DRAFT}), None),
    CardPosted: Transition(frozenset({TaskState.DRAFT}), None),
    Claim: Transition(CLAIMABLE | {TaskState.QUEUED}, TaskState.SUBMITTING),
    Enqueue: Transition(CLAIMABLE, TaskState.QUEUED),
    UndoClaim: Transition(frozenset({TaskState.SUBMITTING, TaskState.QUEUED}), None),
    MovedInLine: Transition(frozenset({TaskState.QUEUED}), None),
    BackToDraft: Transition(frozenset({TaskState.SUBMITTING, TaskState.QUEUED}), TaskState.DRAFT),
    Accepted: Transition(frozenset({TaskState.SUBMITTING}), TaskState.RUNNING),
    Progressed: Transition(_RUNNING, None),
    Redrawn: Transition(_RUNNING, None),
    PollFailed: Transition(frozenset({TaskState.RUNNING, TaskState.DELIVERING}), None),
    Completed: Transition(_RUNNING, TaskState.DELIVERING),
    UploadStarted: Transition(frozenset({TaskState.DELIVERING}), None),
}
# Where each ending may come from.
ENDINGS: dict[TaskState, frozenset[TaskState]] = {
    TaskState.DONE: frozenset({TaskState.DELIVERING}),
    TaskState.FAILED: frozenset({TaskState.RUNNING, TaskState.DELIVERING}),
    TaskState.TIMED_OUT: frozenset({TaskState.RUNNING, TaskState.DELIVERING}),
    TaskState.UNKNOWN: frozenset({TaskState.SUBMITTING}),
    TaskState.CANCELLED: CANCELLABLE,
    TaskState.CLOSED: frozenset({TaskState.DELIVERING, *CLAIMABLE}),
}


def transition_of(change: TaskChange) -> Transition:
    if isinstance(change, Ended):
        return Transition(ENDINGS.get(change.state, frozenset()), change.state)
    return TRANSITIONS[type(change)]


def apply_change(
    current: TaskRecord | None, change: TaskChange, expect_version: int | None = None
) -> TaskRecord | None:
    """The record after `change`, or None when the task is missing, in a state the change
    may not leave, or changed since `expect_version`. Every change raises the version."""
    if current is None:
        return None
    transition = transition_of(change)
    if current.state not in transition.sources:
        return None
    if expect_version is not None and current.version != expect_version:
        return None
    values = _values(change)
    if transition.target is not None:
        values["state"] = transition.target
    return replace(current, **values, version=current.version + 1)


def _values(change: TaskChange) -> dict[str, Any]:
    if isinstance(change, UndoClaim):
        return {name: getattr(change.before, name) for name in CLAIMED_FIELDS}
    return {
        f.name: getattr(change, f.name)
        for f in fields(change)
        if not isinstance(getattr(change, f.name), Keep)
    }


# Everything a claim (or a place in line) may change, so undoing one restores exactly these.
CLAIMED_FIELDS = ("state", *sorted({f.name for f in (*fields(Claim), *fields(Enqueue))}))
