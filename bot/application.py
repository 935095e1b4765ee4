"""The composition root: build the Application, open services in post_init, close them after.

Only this module chooses the storage backend and wires the lifecycle to Telegram.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket

from telegram import Update
from telegram.constants import FileSizeLimit, ParseMode
from telegram.ext import ApplicationBuilder, ContextTypes, Defaults

from bot.adapters.apimart_video import ApimartVideoApi
from bot.admin import AdminService
from bot.apimart import ApimartClient
from bot.config import Config
from bot.domain.access import AccessPolicy, Limits
from bot.i18n import Catalogues
from bot.lifecycle.billing import Billing
from bot.lifecycle.prices import Prices
from bot.lifecycle.profiles import Profiles
from bot.lifecycle.service import GenerationService, LifecycleSettings, task_files
from bot.storage import Storage
from bot.storage.postgres import PostgresStorage
from bot.storage.tinydb import TinyDBStorage
from bot.telegram.audio_server import AudioServer
from bot.telegram.context import BotApplication, BotContext, BotData, Services
from bot.telegram.flood_rules import FloodRules
from bot.telegram.handlers import COMMANDS, register_handlers
from bot.telegram.jobs import JobQueueScheduler
from bot.telegram.messenger import TelegramMessenger
from bot.telegram.payments.stars import StarsShop
from bot.telegram.routing import command_menu
from bot.telegram.traffic import TrafficShaper

log = logging.getLogger(__name__)

# The largest video a bot may upload (PTB's decimal MB); past it, the user gets a link.
TELEGRAM_UPLOAD_LIMIT = FileSizeLimit.FILESIZE_UPLOAD
LOCAL_UPLOAD_LIMIT = FileSizeLimit.FILESIZE_UPLOAD_LOCAL_MODE  # a self-hosted Bot API server


def build_application(config: Config, flood_rules: FloodRules | None = None) -> BotApplication:
    """`flood_rules`: Telegram's limits by default; tests shorten the windows."""
    app: BotApplication = (
        ApplicationBuilder()
        .token(config.telegram_bot_token)
        .base_url(config.bot_api_base_url)
        .base_file_url(config.bot_file_base_url)
        .context_types(ContextTypes(context=BotContext, bot_data=BotData))
        # Every text is HTML unless a call says otherwise (video captions are plain text).
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .rate_limiter(TrafficShaper(flood_rules))
        # Submitting and uploading take seconds: one user's wait must not block the others.
        .concurrent_updates(True)
        .local_mode(config.telegram_local_mode)
        .post_init(start_services)
        .post_shutdown(stop_services)
        .build()
    )
    app.bot_data.config = config
    register_handlers(app)
    return app


async def open_storage(config: Config) -> Storage:
    """PostgreSQL when DATABASE_URL is set (several processes may share it), else TinyDB."""
    if config.database_url:
        return await PostgresStorage.connect(
            config.database_url, retention_days=config.retention_days
        )
    return TinyDBStorage(config.data_dir, retention_days=config.retention_days)


def process_owner(config: Config) -> str:
    """Who holds a task's lease: one name per process on a shared database; on the
    embedded files (one process only) a fixed one, so a restart resumes at once."""
    if not config.database_url:
        return "local"
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def lifecycle_settings(config: Config) -> LifecycleSettings:
    return LifecycleSettings(
        poll_interval=config.poll_interval,
        task_timeout=config.task_timeout,
        progress_edit_interval=config.progress_edit_interval,
        upload_limit=LOCAL_UPLOAD_LIMIT if config.telegram_local_mode else TELEGRAM_UPLOAD_LIMIT,
        limits=Limits(
            config.max_active_tasks_per_user,
            config.daily_video_seconds_per_user,
            config.max_active_tasks,
        ),
        admin_ids=config.admin_user_ids,
        owner=process_owner(config),
        callback_base=config.public_base_url,
        lease_seconds=config.lease_seconds,
        retention_days=config.retention_days,
    )


async def start_services(app: BotApplication) -> None:
    """Open storage and the API client, then resume every unfinished task."""
    config = app.bot_data.config
    assert config is not None and app.job_queue is not None
    config.data_dir.mkdir(parents=True, exist_ok=True)
    storage = await open_storage(config)
    catalogues = Catalogues.load()
    client = ApimartClient(api_key=config.apimart_api_key, base_url=config.apimart_base_url)
    video = ApimartVideoApi(client)
    settings = lifecycle_settings(config)
    scheduler = JobQueueScheduler(app.job_queue)
    prices = Prices(config.prices)
    if config.refresh_prices:
        await prices.refresh(video)
    billing = (
        Billing(storage, prices, config.credits_per_usd, config.welcome_credits)
        if config.billing_on
        else None
    )
    shop = (
        StarsShop(config.telegram_bot_token, config.star_packs, config.credits_per_star)
        if config.billing_on
        else None
    )
    generation = GenerationService(
        storage=storage,
        api=video,
        messenger=TelegramMessenger(app.bot, catalogues, prices, billing),
        scheduler=scheduler,
        files=task_files(config.data_dir),
        settings=settings,
        billing=billing,
    )
    audio_server = None
    # Also the /healthz endpoint in webhook mode (PTB's webhook server has no custom routes).
    if config.public_base_url or config.webhook_url:
        audio_server = AudioServer(
            generation.files.audio_dir,
            config.public_host,
            config.public_port,
            on_callback=generation.hint,
        )
        await audio_server.start()
    profiles = Profiles(storage)
    app.bot_data.services = Services(
        config=config,
        storage=storage,
        client=client,
        video=video,
        catalogues=catalogues,
        generation=generation,
        drafts=generation.drafts(settings.limits, profiles),
        profiles=profiles,
        privacy=generation.privacy(),
        admin=AdminService(
            storage,
            AccessPolicy(config.allowed_user_ids, config.allowed_chat_ids, config.admin_user_ids),
        ),
        audio_server=audio_server,
        prices=prices,
        billing=billing,
        shop=shop,
    )
    await generation.sweep_soundtracks()
    await generation.resume()
    if config.database_url:  # other processes may die and leave their tasks to this one
        scheduler.schedule_lease_keeping(config.lease_seconds / 3)
    scheduler.schedule_housekeeping()
    scheduler.schedule_line_keeping()
    await register_commands(app, catalogues)
    log.info("bot @%s started; data in %s", app.bot.username, config.data_dir)


async def stop_services(app: BotApplication) -> None:
    services = app.bot_data.services
    if services is None:
        return
    if services.audio_server is not None:
        await services.audio_server.stop()
    await services.generation.release()
    await services.client.close()
    await services.storage.close()
    app.bot_data.services = None


async def register_commands(app: BotApplication, catalogues: Catalogues) -> None:
    """The command menu, once per language, so users see it in theirs."""
    config = app.bot_data.config
    billing_on = config is not None and config.billing_on
    for locale in catalogues.locales:
        commands = command_menu(catalogues.translator(locale), COMMANDS, billing_on)
        language = None if locale == "en" else locale.split("_")[0]
        await app.bot.set_my_commands(commands, language_code=language)


def webhook_options(config: Config) -> dict[str, object]:
    """Arguments of run_webhook/start_webhook: Telegram must present the secret token."""
    assert config.webhook_url and config.webhook_secret
    return {
        "listen": config.webhook_listen,
        "port": config.webhook_port,
        "url_path": config.webhook_secret,
        "webhook_url": f"{config.webhook_url}/{config.webhook_secret}",
        "secret_token": config.webhook_secret,
        "allowed_updates": Update.ALL_TYPES,
        # Updates sent while the bot was down are processed, never dropped.
        "drop_pending_updates": False,
    }
