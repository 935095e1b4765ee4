"""Cards before Generate: open one, press its buttons, set its prompt and soundtrack.

Every write to a card is guarded by the DRAFT state (a Generate press may win the race), every
redraw goes through the messenger, and a served soundtrack that leaves a card is deleted.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypedDict

from bot.domain.access import LimitReached, Limits
from bot.domain.actions import (
    CardEdit,
    ChooseEffect,
    Page,
    PaySelf,
    RemoveSoundtrack,
    SettingAction,
    ShowPage,
)
from bot.domain.caption_flags import CaptionFlags
from bot.domain.groups import Delivery, GroupSettings, in_group
from bot.domain.records import (
    Soundtrack,
    TaskRecord,
    TaskState,
)
from bot.domain.settings import GenerationSettings
from bot.domain.soundtrack import PROFILE_TTL
from bot.domain.transitions import CardPosted, EditCard
from bot.domain.usage import start_of_day
from bot.images import PreparedImage
from bot.lifecycle.clips import Clips
from bot.lifecycle.ending import TaskEnding
from bot.lifecycle.files import TaskFiles
from bot.lifecycle.groups import Groups
from bot.lifecycle.ports import Messenger
from bot.lifecycle.profiles import Profiles
from bot.lifecycle.tasklog import task_log
from bot.storage import Storage

log = logging.getLogger(__name__)

DRAFT = frozenset({TaskState.DRAFT})
_NO_SOUNDTRACK = EditCard(soundtrack_url=None, soundtrack_file=None, soundtrack_title="")


@dataclass(frozen=True)
class NewCard:
    """A usable photo and what its caption asked for."""

    user_id: int
    chat_id: int
    source_message_id: int
    language: str
    flags: CaptionFlags
    image: PreparedImage
    photo_file_id: str | None = None  # Telegram's: the photo again, on any replica


@dataclass(frozen=True)
class Cancelled:
    dropped: int  # unfinished cards closed
    running: int  # videos still being generated (they keep going)


MAX_AT_ONCE = 3  # "×3" variations
MAX_OPEN_CARDS = 20  # unused cards a user keeps at once (each keeps a photo on disk)


@dataclass(frozen=True)
class Room:
    count: int
    refused: LimitReached = LimitReached.USER_ACTIVE  # the limit to name when count is 0


@dataclass(kw_only=True)
class DraftService:
    """Cards before Generate; the user's defaults through `profiles`."""

    storage: Storage
    profiles: Profiles
    messenger: Messenger
    files: TaskFiles
    ending: TaskEnding  # cancelling cards
    admin_ids: frozenset[int] = frozenset()
    limits: Limits = field(default_factory=Limits)
    clock: Callable[[], float] = time.time
    # Replicas share the store: a photo missing from this disk may be on another replica's,
    # and Generate fetches it again from Telegram (one disk: missing means swept or forgotten).
    photos_elsewhere: bool = False
    clips: Clips | None = None  # last frames for ⏭ Continue
    groups: Groups | None = None  # a group's defaults on new cards there

    async def open(self, new: NewCard, *, card_message_id: int | None) -> TaskRecord:
        """Keep the photo and turn `card_message_id` (the placeholder that already answered
        it) into a card built from the user's defaults; None: the photo was ready before a
        placeholder was needed, and the card goes out as the one answer."""
        storage = self.storage
        await self._close_the_oldest_past(MAX_OPEN_CARDS - 1, new.user_id)
        profile = await storage.get_user(new.user_id)
        soundtrack = profile.soundtrack
        if soundtrack is not None and soundtrack.saved_at < self.clock() - PROFILE_TTL:
            soundtrack = None  # kept too long: swept, not used
        group = await self._group(new.chat_id)
        settings = new.flags.apply_to(_defaults(profile.settings, group))
        task_id = uuid.uuid4().hex[:16]
        record = TaskRecord(
            id=task_id,
            user_id=new.user_id,
            chat_id=new.chat_id,
            source_message_id=new.source_message_id,
            image_file=self.files.save_image(task_id, new.image),
            image_width=new.image.width,
            image_height=new.image.height,
            photo_file_id=new.photo_file_id,
            prompt=new.flags.prompt,
            settings=settings.with_audio(True) if soundtrack else settings,
            language=new.language,
            created_at=self.clock(),
            quota_left=await self.quota_left(new.user_id),
            **_group_fields(group),
            **(_soundtrack_fields(soundtrack) if soundtrack else {}),
        )
        record = replace(record, card_message_id=card_message_id)
        await storage.add_task(record)
        # Buttons only once the card is stored.
        if card_message_id is not None:
            await self.messenger.show_card(record)
        elif (posted := await self.messenger.post_card(record)) is not None:
            change = CardPosted(card_message_id=posted)
            record = await storage.update_task(record.id, change) or record
        if profile.soundtrack is not None:  # a soundtrack is for the next video only
            await storage.save_user(replace(profile, soundtrack=None))
        task_log(log, record).info("card %s", record.card_message_id)
        return record

    async def reopen(
        self,
        source: TaskRecord,
        *,
        chat_id: int,
        card_message_id: int,
        reply_to: int,
        keep_seed: bool,
    ) -> TaskRecord | None:
        """A new card from a delivered video: its photo, settings, prompt and effect; its
        seed when `keep_seed` ("Edit"), a new one drawn at Generate otherwise ("Again").
        The card is `card_message_id` in `chat_id`, where the button was pressed (a video
        /history re-sent in private makes its new one there, not in the source's group).
        None when the photo is no longer kept, here or by Telegram."""
        task_id = uuid.uuid4().hex[:16]
        image_file = self.files.copy_image(source, task_id)
        if image_file is None and (source.photo_file_id is None or not self.photos_elsewhere):
            return None
        # Not on this replica's disk: fetched again from Telegram by its id at Generate.
        seed = source.seed_used if keep_seed else None
        record = TaskRecord(
            id=task_id,
            user_id=source.user_id,
            chat_id=chat_id,
            source_message_id=reply_to,
            image_file=image_file or self.files.image_name(task_id),
            image_width=source.image_width,
            image_height=source.image_height,
            photo_file_id=source.photo_file_id,
            prompt=source.prompt,
            settings=source.settings.with_seed(seed),
            language=source.language,
            template=source.template,
            card_message_id=card_message_id,
            created_at=self.clock(),
            quota_left=await self.quota_left(source.user_id),
            **_group_fields(await self._group(chat_id)),
        )
        await self.storage.add_task(record)
        await self.messenger.show_card(record)
        task_log(log, record).info("card %s from task %s", card_message_id, source.id)
        return record

    async def continue_story(
        self, source: TaskRecord, *, chat_id: int, card_message_id: int, reply_to: int
    ) -> TaskRecord | None:
        """⏭ Continue: a new card whose picture is the last frame of `source`'s video, with
        its settings and a new seed; no prompt yet (the card asks what happens next). None
        when the frame can no longer be had."""
        frame = await self.clips.frame(source) if self.clips is not None else None
        if frame is None:
            return None
        task_id = uuid.uuid4().hex[:16]
        record = TaskRecord(
            id=task_id,
            user_id=source.user_id,
            chat_id=chat_id,
            source_message_id=reply_to,
            image_file=self.files.save_image(task_id, frame),
            image_width=frame.width,
            image_height=frame.height,
            settings=source.settings.with_seed(None),
            language=source.language,
            card_message_id=card_message_id,
            created_at=self.clock(),
            quota_left=await self.quota_left(source.user_id),
            continues=source.id,
            story_part=source.story_part + 1,
            frame_of_video=source.video_file_id,
            **_group_fields(await self._group(chat_id)),
        )
        await self.storage.add_task(record)
        await self.messenger.show_card(record)
        task_log(log, record).info("card %s continues task %s", card_message_id, source.id)
        return record

    async def _group(self, chat_id: int) -> GroupSettings | None:
        """A group's rules for a new card there (its defaults, where videos go)."""
        if self.groups is None or not in_group(chat_id):
            return None
        return await self.groups.settings(chat_id)

    async def room(self, user_id: int, duration: int) -> Room:
        """How many more videos of `duration` seconds this user's own limits allow now
        (a full bot does not count: those wait in line), and which limit says no."""
        if user_id in self.admin_ids:
            return Room(MAX_AT_ONCE)
        usage = await self.storage.usage(user_id, start_of_day(self.clock()))
        room = self.limits.max_active_per_user - usage.user_active
        refused = LimitReached.USER_ACTIVE
        if self.limits.has_quota:
            left = self.limits.daily_seconds_per_user - usage.used_today
            if left < duration:
                refused = LimitReached.DAILY_QUOTA
            room = min(room, left // duration)
        return Room(max(0, min(room, MAX_AT_ONCE)), refused)

    async def recaption(
        self, user_id: int, chat_id: int, photo_message_id: int, flags: CaptionFlags
    ) -> TaskRecord | None:
        """The user edited the caption of a photo: its draft card takes the new prompt and
        shortcuts. None when the photo has no card that is still a draft."""
        drafts = await self._drafts(user_id, chat_id)
        record = next((r for r in drafts if r.source_message_id == photo_message_id), None)
        if record is None:
            return None
        return await self._edit(
            record,
            EditCard(
                prompt=flags.prompt,
                settings=flags.apply_to(record.settings),
                notice=None,
                error="",
            ),
        )

    async def card(self, chat_id: int, message_id: int) -> TaskRecord | None:
        return await self.storage.find_card(chat_id, message_id)

    async def press(self, record: TaskRecord, action: SettingAction | CardEdit) -> bool:
        """Apply a button of a draft card; False when the card is no longer a draft."""
        if record.state is not TaskState.DRAFT:
            return False
        edit = _card_edit(record, action)
        if edit is None:
            return True  # a setting that was already so: nothing to redraw
        if isinstance(edit.settings, GenerationSettings):
            chosen = edit.settings
            await self.profiles.remember(record.user_id, lambda _: chosen)
        return await self._edit(record, replace(edit, notice=None, error="")) is not None

    async def set_prompt(self, record: TaskRecord, prompt: str) -> TaskRecord | None:
        """None when the card has already been used."""
        return await self._edit(record, EditCard(prompt=prompt.strip(), notice=None, error=""))

    async def change_defaults(
        self,
        user_id: int,
        chat_id: int,
        transform: Callable[[GenerationSettings], GenerationSettings],
    ) -> None:
        """Change the user's defaults and every open card of theirs in this chat alike."""
        await self.profiles.remember(user_id, transform)
        for record in await self._drafts(user_id, chat_id):
            await self._edit(record, EditCard(settings=transform(record.settings)))

    async def attach_soundtrack(
        self, user_id: int, chat_id: int, soundtrack: Soundtrack
    ) -> TaskRecord | None:
        """Put the soundtrack on the user's newest open card and return it, or keep it for
        their next photo (None)."""
        draft = await self.latest_draft(user_id, chat_id)
        if draft is not None:
            audio_on = draft.settings.with_audio(True)
            updated = await self._edit(
                draft, EditCard(**_soundtrack_fields(soundtrack), settings=audio_on)
            )
            if updated is not None:
                return updated
        profile = await self.profiles.profile(user_id)
        if profile.soundtrack is not None:
            await self.files.delete_soundtrack(profile.soundtrack.file)
        kept = replace(soundtrack, saved_at=self.clock())
        await self.storage.save_user(replace(profile, soundtrack=kept))
        return None

    async def _close_the_oldest_past(self, limit: int, user_id: int) -> None:
        """A user keeps at most MAX_OPEN_CARDS unused cards (each holds a photo on our disk):
        a new one closes the oldest."""
        drafts = await self.storage.tasks_in(DRAFT, user_id=user_id)
        for record in sorted(drafts, key=lambda r: r.created_at)[: max(0, len(drafts) - limit)]:
            if await self.ending.finish(record, TaskState.CLOSED, expect_version=record.version):
                self.files.forget_photo(record)
                task_log(log, record).info("closed: the user opened more than %s cards", limit)

    async def latest_draft(self, user_id: int, chat_id: int) -> TaskRecord | None:
        drafts = await self._drafts(user_id, chat_id)
        return max(drafts, key=lambda r: r.created_at) if drafts else None

    async def cancel_all(self, user_id: int, chat_id: int) -> Cancelled:
        """Drop the user's unfinished cards in this chat; running videos keep going."""
        dropped = 0
        for record in await self._drafts(user_id, chat_id):
            if await self.ending.finish(
                record, TaskState.CANCELLED, expect_version=record.version
            ):
                dropped += 1
        running = await self.storage.tasks_in(
            {TaskState.RUNNING}, user_id=user_id, chat_id=chat_id
        )
        return Cancelled(dropped, len(running))

    async def quota_left(self, user_id: int) -> int | None:
        """Seconds of video this user may still generate today, or None without a quota."""
        admin = user_id in self.admin_ids
        if admin or not self.limits.has_quota:
            return None  # no quota here: spare every new card a usage query
        usage = await self.storage.usage(user_id, start_of_day(self.clock()))
        return self.limits.seconds_left(admin=admin, used_today=usage.used_today)

    async def _drafts(self, user_id: int, chat_id: int) -> list[TaskRecord]:
        return await self.storage.tasks_in(DRAFT, user_id=user_id, chat_id=chat_id)

    async def _edit(self, record: TaskRecord, edit: EditCard) -> TaskRecord | None:
        """Change a draft and redraw it; None when it is no longer a draft."""
        updated = await self.storage.update_task(record.id, edit)
        if updated is None:
            return None
        if record.soundtrack_file and updated.soundtrack_file != record.soundtrack_file:
            await self.files.delete_soundtrack(record.soundtrack_file)
        await self.messenger.show_card(updated)
        return updated


def _defaults(mine: GenerationSettings, group: GroupSettings | None) -> GenerationSettings:
    """A new card's settings: the member's defaults, a group's over them in that group."""
    return mine if group is None else group.defaults_for(mine)


class _GroupFields(TypedDict, total=False):
    deliver_private: bool
    group_wallet: bool


def _group_fields(group: GroupSettings | None) -> _GroupFields:
    """What a new card in a group keeps of its rules: whether finished videos go to each
    member in private, and whether the group's wallet pays (the card offers "Group pays")."""
    if group is None:
        return {}
    return _GroupFields(
        deliver_private=group.delivery is Delivery.PRIVATE, group_wallet=group.wallet
    )


def _card_edit(record: TaskRecord, action: SettingAction | CardEdit) -> EditCard | None:
    """What a button changes on this card; None when it changes nothing."""
    if isinstance(action, ShowPage):
        return EditCard(page=action.page)
    if isinstance(action, ChooseEffect):
        return EditCard(template=action.template, page=Page.MAIN)
    if isinstance(action, RemoveSoundtrack):
        return _NO_SOUNDTRACK
    if isinstance(action, PaySelf):
        return None if action.on == record.pays_self else EditCard(pays_self=action.on)
    settings = action.apply(record.settings)
    if settings == record.settings:
        return None
    if not settings.audio and record.soundtrack_url:
        # "Silent" and a soundtrack exclude each other: the card shows what will happen.
        return replace(_NO_SOUNDTRACK, settings=settings)
    return EditCard(settings=settings)


def _soundtrack_fields(soundtrack: Soundtrack) -> dict[str, Any]:
    """The card's soundtrack fields, for a new card or an `EditCard`."""
    return {
        "soundtrack_url": soundtrack.url,
        "soundtrack_file": soundtrack.file,
        "soundtrack_title": soundtrack.title,
    }
