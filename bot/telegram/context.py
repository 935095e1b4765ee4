"""Typed shared state: services live in bot_data, reached through a typed context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telegram import Update, User
from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from bot.adapters.apimart_video import ApimartVideoApi as VideoApi
from bot.admin import AdminService
from bot.apimart import ApimartClient
from bot.config import Config
from bot.domain.actions import Action
from bot.i18n import Catalogues, Translator
from bot.images import ImageConverter
from bot.lifecycle.billing import Billing
from bot.lifecycle.drafts import DraftService
from bot.lifecycle.prices import Prices
from bot.lifecycle.privacy import Privacy
from bot.lifecycle.profiles import Profiles
from bot.lifecycle.service import GenerationService
from bot.storage import Storage
from bot.storage.errors import is_unreachable
from bot.telegram.albums import PRESS_SECONDS, Albums, Arrivals
from bot.telegram.first_replies import FirstReplies
from bot.telegram.metrics import MetricsServer
from bot.telegram.payments.stars import StarsShop
from bot.telegram.replicas import FloodShare
from bot.telegram.web import WebApp


@dataclass
class Services:
    config: Config
    storage: Storage
    client: ApimartClient  # closed at the stop
    video: VideoApi  # the lifecycle's port on it (and the price list)
    catalogues: Catalogues
    generation: GenerationService
    drafts: DraftService  # cards
    profiles: Profiles  # defaults and language
    privacy: Privacy  # /history and /forget
    admin: AdminService
    web: WebApp | None = None  # the bot's web application, when it serves one
    metrics: MetricsServer | None = None  # METRICS_PORT: /metrics on its own socket
    prices: Prices = field(default_factory=Prices)
    billing: Billing | None = None  # BILLING=stars: the credits ledger
    payment_contact: str = ""  # whom /paysupport names (PAYSUPPORT_CONTACT, or admins' @names)
    shop: StarsShop | None = None  # ...and the provider that sells them
    first_replies: FirstReplies = field(default_factory=FirstReplies)
    albums: Albums = field(default_factory=Albums)
    # Again / ×3 pressed twice in a moment: the second does not start another batch
    presses: Arrivals = field(default_factory=lambda: Arrivals(PRESS_SECONDS))
    flood_share: FloodShare | None = None  # replicas on PostgreSQL: 1/N of the overall limit
    images: ImageConverter = field(default_factory=ImageConverter)  # two conversions at a time
    # Voice notes, last frames, joins, round notes: one at a time, apart from the photos
    videos: ImageConverter = field(default_factory=lambda: ImageConverter(limit=1))

    @staticmethod
    def storage_unreachable(error: BaseException | None) -> bool:
        """Whether an error only says the database is away for now (a restart, say)."""
        return is_unreachable(error)


class BotData:
    """bot_data: the config from build time, the services from post_init on."""

    def __init__(self) -> None:
        self.config: Config | None = None
        self.services: Services | None = None


class BotContext(CallbackContext[ExtBot[str], dict[Any, Any], dict[Any, Any], BotData]):
    """PTB builds one context per update and hands it to every handler group in turn, so what
    the access gate (group -1) settles here, every later handler reads: `t`, the user's
    translator. The button router adds `action`, the pressed button's, decoded once."""

    def __init__(
        self,
        application: BotApplication,
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application, chat_id, user_id)
        self._translator: Translator | None = None
        self._action: Action | None = None

    @property
    def services(self) -> Services:
        services = self.bot_data.services
        if services is None:
            raise RuntimeError("services are used before post_init created them")
        return services

    @property
    def t(self) -> Translator:
        """The update's translator, settled by the access gate before any handler runs."""
        if self._translator is None:
            raise RuntimeError("the translator is read before the access gate settled it")
        return self._translator

    @property
    def action(self) -> Action:
        """The pressed button's action, decoded once by `bot.telegram.routing.ButtonRouter`."""
        if self._action is None:
            raise RuntimeError("no button of this release was pressed in this update")
        return self._action

    @action.setter
    def action(self, action: Action) -> None:
        self._action = action

    async def translator_for(self, user: User | None) -> Translator:
        """The user's saved language, then Telegram's language_code, then English."""
        if user is None:
            return self.services.catalogues.translator()
        profile = await self.services.profiles.profile(user.id)
        return self.services.catalogues.translator(profile.language, user.language_code)

    async def translator(self, update: object) -> Translator:
        """Look the update's translator up once and keep it as `t`: the access gate calls this
        for every update; the error handler, whose context is a new one, as a fallback."""
        if self._translator is None:
            user = update.effective_user if isinstance(update, Update) else None
            self._translator = await self.translator_for(user)
        return self._translator


# ExtBot[str]: the TrafficShaper's per-request argument (DROPPABLE or nothing).
BotApplication = Application[
    ExtBot[str], BotContext, dict[Any, Any], dict[Any, Any], BotData, JobQueue[Any]
]
