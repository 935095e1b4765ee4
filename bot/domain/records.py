"""The records the bot keeps: a user's profile and one video task from card to delivery."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

from bot.domain.actions import Page
from bot.domain.notices import Notice
from bot.domain.settings import GenerationSettings


class TaskState(StrEnum):
    DRAFT = "draft"  # card shown, settings editable
    QUEUED = "queued"  # Generate pressed while the bot was full: starts when a slot frees
    SUBMITTING = "submitting"  # POST in flight; persisted first so a crash is never resubmitted
    RUNNING = "running"  # accepted by apimart, polled
    DELIVERING = "delivering"  # completed upstream; downloading and uploading the video
    DONE = "done"  # the video reached the chat
    FAILED = "failed"  # the API said failed/cancelled, or the result could not be fetched
    UNKNOWN = "unknown"  # the POST's outcome is unknown: the user decides whether to retry
    TIMED_OUT = "timed_out"  # not finished before the deadline
    CANCELLED = "cancelled"  # the user stopped it
    CLOSED = "closed"  # the chat is unreachable (bot blocked, chat deleted)


# States whose work resumes after a restart.
ACTIVE_STATES = frozenset({TaskState.SUBMITTING, TaskState.RUNNING, TaskState.DELIVERING})
# Over for good: the photo and any served soundtrack can go.
ENDED_STATES = frozenset({TaskState.DONE, TaskState.CANCELLED, TaskState.CLOSED})
# States from which "Try again" may submit anew (the user chose to spend again).
RETRYABLE_STATES = frozenset({TaskState.FAILED, TaskState.UNKNOWN, TaskState.TIMED_OUT})


@dataclass(frozen=True)
class Soundtrack:
    """Custom audio waiting for the user's next card."""

    url: str
    file: str | None = None  # set when we serve an uploaded file ourselves
    title: str = ""
    saved_at: float = 0.0  # when it was kept for the next photo (it expires: PROFILE_TTL)


@dataclass(frozen=True)
class UserProfile:
    user_id: int
    settings: GenerationSettings = field(default_factory=GenerationSettings)
    language: str | None = None
    soundtrack: Soundtrack | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "settings": self.settings.to_dict(),
            "language": self.language,
            "soundtrack": asdict(self.soundtrack) if self.soundtrack else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UserProfile:
        soundtrack = data.get("soundtrack")
        return cls(
            user_id=int(data["user_id"]),
            settings=GenerationSettings.from_dict(data.get("settings")),
            language=data.get("language"),
            soundtrack=Soundtrack(**soundtrack) if isinstance(soundtrack, dict) else None,
        )


@dataclass(frozen=True)
class TaskRecord:
    id: str
    user_id: int
    chat_id: int
    source_message_id: int
    image_file: str
    image_width: int
    image_height: int
    # Telegram's id of the photo: a replica without the kept copy fetches it again by it.
    photo_file_id: str | None = None
    prompt: str = ""
    settings: GenerationSettings = field(default_factory=GenerationSettings)
    language: str = "en"
    card_message_id: int | None = None
    state: TaskState = TaskState.DRAFT
    attempt: int = 0
    apimart_task_id: str | None = None
    api_status: str = ""
    progress: int = 0
    error: str = ""
    notice: Notice | None = None
    video_url: str | None = None
    expires_at: int | None = None
    video_message_id: int | None = None
    video_file_id: str | None = None  # the delivered video on Telegram: /history re-sends it
    template: str | None = None  # an effect template; the prompt is ignored when set
    soundtrack_url: str | None = None  # public URL of the custom audio (ours or the user's)
    soundtrack_file: str | None = None  # a file we serve under PUBLIC_BASE_URL, if uploaded
    soundtrack_title: str = ""  # what the user calls it (the file name), never the secret
    page: Page = Page.MAIN
    seed_used: int | None = None  # the fixed seed sent, or one the API reported
    quota_left: int | None = None  # seconds of video left today, when a quota applies
    shown_view: str = ""  # the progress view the card last showed
    shown_at: float = 0.0  # when the card last showed it
    created_at: float = 0.0
    submitted_at: float | None = None
    finished_at: float | None = None
    poll_failures: int = 0
    queued_at: float | None = None  # when Generate put it in line (fair order across users)
    queue_position: int = 0  # tasks ahead of it in line, as its card last said
    reservation: str | None = None  # the ledger ref of the credits it holds (BILLING=stars)
    # The secret path apimart calls back on when the task ends (webhook completion).
    callback_token: str | None = None
    # Which bot process works on this task, until when (several replicas share one database).
    lease_owner: str | None = None
    lease_until: float = 0.0
    # When the video's upload to the chat began; set while an upload may have reached it
    # (an answer lost, a stop mid-upload): then it is never uploaded again.
    upload_started_at: float | None = None
    # A story (issue 22): the clip this one continues (its picture is that clip's last
    # frame), this clip's place in the story, and Telegram's id of the video the frame came
    # from (a replica without the kept frame takes it again from that video).
    continues: str | None = None
    story_part: int = 1
    frame_of_video: str | None = None
    # In a group (issue 23): the ledger account its credits are held on (the group's wallet:
    # its chat id), when not the user's own; and the member's choice to pay past the group's
    # allowance.
    payer: int | None = None
    pays_self: bool = False
    deliver_private: bool = False  # the group sends finished videos to members in private
    group_wallet: bool = False  # the group's wallet pays within the allowance (card offers it)
    # Raised by every change: a claim that priced and checked one version of the card submits
    # exactly that one (an edit that lands in between makes the claim look again).
    version: int = 0

    @property
    def generating(self) -> bool:
        """Past the queue: the card shows a progress bar instead of "queued"."""
        return self.api_status == "processing" or self.progress > 0

    @property
    def progress_view(self) -> str:
        """What the progress part of the card shows; redrawn only when this changes."""
        return f"{self.generating}:{self.progress}"

    @property
    def account(self) -> int:
        """The ledger account that holds and spends this task's credits."""
        return self.user_id if self.payer is None else self.payer

    def leased_by_other(self, owner: str, now: float) -> bool:
        """Another process holds a lease on this task that has not run out."""
        return self.lease_owner not in (None, owner) and self.lease_until > now

    @property
    def idempotency_key(self) -> str:
        return f"{self.id}-{self.attempt}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["settings"] = self.settings.to_dict()
        data["state"] = self.state.value
        data["notice"] = self.notice.value if self.notice else ""
        data["page"] = self.page.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskRecord:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["settings"] = GenerationSettings.from_dict(data.get("settings"))
        values["state"] = TaskState(data.get("state", TaskState.DRAFT))
        values["notice"] = Notice.parse(data.get("notice"))
        values["page"] = Page(data["page"]) if data.get("page") in set(Page) else Page.MAIN
        return cls(**values)
