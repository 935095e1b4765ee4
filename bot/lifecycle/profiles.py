"""A user's profile: default settings for new cards, language, a soundtrack for the next
photo."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.domain.actions import SettingAction
from bot.domain.records import UserProfile
from bot.domain.settings import GenerationSettings
from bot.storage import Storage


@dataclass
class Profiles:
    storage: Storage

    async def profile(self, user_id: int) -> UserProfile:
        return await self.storage.get_user(user_id)

    async def press_default(
        self, user_id: int, action: SettingAction
    ) -> GenerationSettings | None:
        """A button of the /settings card; None when it changed nothing."""
        profile = await self.profile(user_id)
        settings = action.apply(profile.settings)
        if settings == profile.settings:
            return None
        await self.storage.save_user(replace(profile, settings=settings))
        return settings

    async def remember(
        self, user_id: int, transform: Callable[[GenerationSettings], GenerationSettings]
    ) -> None:
        """The user's choices become their defaults."""
        profile = await self.profile(user_id)
        await self.storage.save_user(replace(profile, settings=transform(profile.settings)))

    async def set_language(self, user_id: int, locale: str) -> None:
        profile = await self.profile(user_id)
        await self.storage.save_user(replace(profile, language=locale))
