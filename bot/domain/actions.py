"""What a button asks for: one small frozen type per action, knowing nothing of Telegram.

Setting actions change `GenerationSettings` and exist on both a video card and the defaults
card; the others belong to one of them. `bot/telegram/callback_data.py` encodes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.settings import GenerationSettings


class Page(StrEnum):
    """Which page of a video card is shown."""

    MAIN = "main"
    MORE = "more"
    EFFECTS = "effects"


@dataclass(frozen=True)
class SetResolution:
    resolution: str

    def apply(self, settings: GenerationSettings) -> GenerationSettings:
        return settings.with_resolution(self.resolution)


@dataclass(frozen=True)
class SetDuration:
    seconds: int

    def apply(self, settings: GenerationSettings) -> GenerationSettings:
        return settings.with_duration(self.seconds)


@dataclass(frozen=True)
class StepDuration:
    step: int  # +1 or -1

    def apply(self, settings: GenerationSettings) -> GenerationSettings:
        return settings.with_duration(settings.duration + self.step)


@dataclass(frozen=True)
class SetAudio:
    on: bool

    def apply(self, settings: GenerationSettings) -> GenerationSettings:
        return settings.with_audio(self.on)


@dataclass(frozen=True)
class SetPromptExtend:
    on: bool

    def apply(self, settings: GenerationSettings) -> GenerationSettings:
        return settings.with_prompt_extend(self.on)


@dataclass(frozen=True)
class SetShotType:
    shot_type: str

    def apply(self, settings: GenerationSettings) -> GenerationSettings:
        return settings.with_shot_type(self.shot_type)


@dataclass(frozen=True)
class SetWatermark:
    on: bool

    def apply(self, settings: GenerationSettings) -> GenerationSettings:
        return settings.with_watermark(self.on)


@dataclass(frozen=True)
class RandomSeed:
    def apply(self, settings: GenerationSettings) -> GenerationSettings:
        return settings.with_seed(None)


@dataclass(frozen=True)
class ClearNegative:
    def apply(self, settings: GenerationSettings) -> GenerationSettings:
        return settings.with_negative_prompt("")


SettingAction = (
    SetResolution
    | SetDuration
    | StepDuration
    | SetAudio
    | SetPromptExtend
    | SetShotType
    | SetWatermark
    | RandomSeed
    | ClearNegative
)


@dataclass(frozen=True)
class Generate:
    again: bool = False  # "Try again" after a failure rather than the first "Generate"


@dataclass(frozen=True)
class Cancel:
    """Discard a draft, close a failed card, or stop waiting for a running task."""


@dataclass(frozen=True)
class Noop:
    """A label that looks like a button (the current duration)."""


@dataclass(frozen=True)
class ShowPage:
    page: Page


@dataclass(frozen=True)
class ChooseEffect:
    template: str | None  # None: back to a prompt-driven video


@dataclass(frozen=True)
class RemoveSoundtrack:
    pass


@dataclass(frozen=True)
class PaySelf:
    """On a card in a group with a wallet: the member pays with their own credits (True)
    or the group's wallet pays within their allowance (False)."""

    on: bool


# Draft edits that belong to one card only, not to the user's defaults.
CardEdit = ShowPage | ChooseEffect | RemoveSoundtrack | PaySelf


@dataclass(frozen=True)
class MakeAgain:
    """Under a delivered video: the same photo and settings, a new seed, started at once."""

    task_id: str


@dataclass(frozen=True)
class EditAgain:
    """Under a delivered video: a new card with its photo and settings, seed and prompt."""

    task_id: str


@dataclass(frozen=True)
class MakeVariations:
    """Under a delivered video: three variations, each a task with its own seed."""

    task_id: str
    count: int = 3


VideoAction = MakeAgain | EditAgain | MakeVariations


@dataclass(frozen=True)
class ContinueStory:
    """Under a delivered video: a new card whose picture is the video's last frame."""

    task_id: str


@dataclass(frozen=True)
class JoinStory:
    """Under a continued video: every clip of its story up to it, as one video."""

    task_id: str


@dataclass(frozen=True)
class MakeRound:
    """Under a delivered video: the video again as a round video note."""

    task_id: str


ClipAction = ContinueStory | JoinStory | MakeRound


@dataclass(frozen=True)
class SetGroupRule:
    """A button of /groupsettings (admins only): one of the group's rules set to `value`
    (`GroupSettings.with_rule` reads it; an unknown one changes nothing)."""

    rule: str
    value: str


@dataclass(frozen=True)
class HistoryPage:
    page: int


@dataclass(frozen=True)
class OpenHistory:
    """A line of /history: re-send its video, or offer to make it again."""

    task_id: str


HistoryAction = HistoryPage | OpenHistory


@dataclass(frozen=True)
class BuyPack:
    stars: int


@dataclass(frozen=True)
class ConfirmForget:
    confirmed: bool  # False: keep everything


@dataclass(frozen=True)
class CloseDefaults:
    pass


@dataclass(frozen=True)
class ChooseLanguage:
    locale: str


Action = (
    SettingAction
    | Generate
    | Cancel
    | Noop
    | CardEdit
    | CloseDefaults
    | ChooseLanguage
    | VideoAction
    | ClipAction
    | SetGroupRule
    | HistoryAction
    | ConfirmForget
    | BuyPack
)
