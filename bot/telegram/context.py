"""Typed shared state: services live in bot_data, reached through a typed context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telegram import Update, User
from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from bot.admin import AdminService
from bot.apimart import ApimartClient
from bot.config import Config
from bot.i18n import Catalogues, Translator
from bot.lifecycle.billing import Billing
from bot.lifecycle.drafts import DraftService
from bot.lifecycle.prices import Prices
from bot.lifecycle.service import GenerationService
from bot.storage import Storage
from bot.telegram.albums import Albums
from bot.telegram.audio_server import AudioServer
from bot.telegram.first_replies import FirstReplies


@dataclass
class Services:
    config: Config
    storage: Storage
    client: ApimartClient
    catalogues: Catalogues
    generation: GenerationService
    drafts: DraftService
    admin: AdminService
    audio_server: AudioServer | None = None
    prices: Prices = field(default_factory=Prices)
    billing: Billing | None = None  # BILLING=stars
    first_replies: FirstReplies = field(default_factory=FirstReplies)
    albums: Albums = field(default_factory=Albums)


class BotData:
    """bot_data: the config from build time, the services from post_init on."""

    def __init__(self) -> None:
        self.config: Config | None = None
        self.services: Services | None = None


class BotContext(CallbackContext[ExtBot[str], dict[Any, Any], dict[Any, Any], BotData]):
    @property
    def services(self) -> Services:
        services = self.bot_data.services
        if services is None:
            raise RuntimeError("services are used before post_init created them")
        return services

    async def translator_for(self, user: User | None) -> Translator:
        """The user's saved language, then Telegram's language_code, then English."""
        if user is None:
            return self.services.catalogues.translator()
        profile = await self.services.drafts.profile(user.id)
        return self.services.catalogues.translator(profile.language, user.language_code)

    async def translator(self, update: object) -> Translator:
        user = update.effective_user if isinstance(update, Update) else None
        return await self.translator_for(user)


# ExtBot[str]: the TrafficShaper's per-request argument (DROPPABLE or nothing).
BotApplication = Application[
    ExtBot[str], BotContext, dict[Any, Any], dict[Any, Any], BotData, JobQueue[Any]
]
