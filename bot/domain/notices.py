"""Why a card shows a message. Presentation turns each into translated text."""

from __future__ import annotations

from enum import StrEnum


class Notice(StrEnum):
    INVALID_REQUEST = "invalid_request"
    PROMPT_TOO_LONG = "prompt_too_long"
    SERVICE_UNAVAILABLE = "service_unavailable"
    NO_BALANCE = "no_balance"
    BUSY = "busy"
    UNREACHABLE = "unreachable"
    OUTCOME_UNKNOWN = "outcome_unknown"
    API_FAILED = "api_failed"
    NO_VIDEO = "no_video"
    LINK_EXPIRED = "link_expired"
    TOO_LARGE = "too_large"
    MAYBE_SENT = "maybe_sent"  # the upload's answer was lost: the link followed, not the video
    TIMED_OUT = "timed_out"
    QUOTA_LEFT_BEHIND = "quota_left_behind"  # its turn came, but today's allowance had gone
    SENT_IN_PRIVATE = "sent_in_private"  # a group that sends each member's video in private

    @classmethod
    def parse(cls, value: object) -> Notice | None:
        """A stored notice; None for none, or for one an older release wrote and this lacks."""
        try:
            return cls(str(value)) if value else None
        except ValueError:
            return None
