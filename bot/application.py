"""The composition root: build the Application, open services in post_init, close them after,
and run it: polling, or PTB's custom-webhook pattern (no Updater; the one web application puts
Telegram's updates on the update queue).

Only this module chooses the storage backend and wires the lifecycle to Telegram.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import secrets
import socket
import ssl
from collections.abc import Coroutine
from typing import Any

import httpx
from telegram import Update
from telegram.constants import FileSizeLimit, ParseMode
from telegram.ext import ApplicationBuilder, ContextTypes, Defaults
from telegram.request import HTTPXRequest

from bot.adapters.apimart_video import ApimartVideoApi
from bot.admin import AdminService
from bot.apimart import ApimartClient
from bot.config import Config
from bot.domain.access import AccessPolicy, Limits
from bot.i18n import Catalogues
from bot.images import ImageConverter
from bot.lifecycle.billing import Billing
from bot.lifecycle.ports import SoundtrackStore
from bot.lifecycle.prices import Prices
from bot.lifecycle.profiles import Profiles
from bot.lifecycle.service import GenerationService, LifecycleSettings, task_files
from bot.logs import POOL_LOGGER, POOL_RECONNECTS, SCHEDULER_LOGGER, STOPPED_JOBS
from bot.storage import Storage
from bot.storage.postgres import PostgresStorage
from bot.storage.tinydb import TinyDBStorage
from bot.telegram.albums import PRESS_SECONDS, Albums, Arrivals
from bot.telegram.clips import TelegramClips
from bot.telegram.context import BotApplication, BotContext, BotData, Services
from bot.telegram.flood_rules import FloodRules
from bot.telegram.group_roles import TelegramGroupRoles
from bot.telegram.handlers import COMMANDS, register_handlers
from bot.telegram.handlers.billing import payment_contact
from bot.telegram.jobs import JobQueueScheduler
from bot.telegram.messenger import TelegramMessenger
from bot.telegram.metrics import BotMetrics, MetricsServer
from bot.telegram.payments.stars import StarsShop
from bot.telegram.photos import TelegramPhotos
from bot.telegram.replicas import FloodShare
from bot.telegram.routing import command_menu
from bot.telegram.traffic import TrafficShaper
from bot.telegram.web import WEBHOOK_PATH, WebApp, Webhook

log = logging.getLogger(__name__)

# The largest video a bot may upload (PTB's decimal MB); past it, the user gets a link.
TELEGRAM_UPLOAD_LIMIT = FileSizeLimit.FILESIZE_UPLOAD
LOCAL_UPLOAD_LIMIT = FileSizeLimit.FILESIZE_UPLOAD_LOCAL_MODE  # a self-hosted Bot API server


@functools.cache
def tls() -> ssl.SSLContext:
    """The process's TLS context for the Bot API, as httpx makes it (certifi's CA bundle,
    or SSL_CERT_FILE/SSL_CERT_DIR), made once."""
    return httpx.create_ssl_context()


def build_application(config: Config, flood_rules: FloodRules | None = None) -> BotApplication:
    """`flood_rules`: Telegram's limits by default; tests shorten the windows."""
    builder = (
        ApplicationBuilder()
        .token(config.telegram_bot_token)
        .base_url(config.bot_api_base_url)
        .base_file_url(config.bot_file_base_url)
        .context_types(ContextTypes(context=BotContext, bot_data=BotData))
        # Every text is HTML unless a call says otherwise (video captions are plain text).
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .rate_limiter(TrafficShaper(flood_rules))
        # PTB's own defaults (256 connections, 1 for getUpdates), on one TLS context: httpx
        # would load the CA bundle for each client, ~40 ms of CPU every time.
        .request(HTTPXRequest(connection_pool_size=256, httpx_kwargs={"verify": tls()}))
        .get_updates_request(HTTPXRequest(connection_pool_size=1, httpx_kwargs={"verify": tls()}))
        # Submitting and uploading take seconds: one user's wait must not block the others.
        .concurrent_updates(True)
        .local_mode(config.telegram_local_mode)
        .post_init(start_services)
        .post_stop(finish_uploads)
        .post_shutdown(stop_services)
    )
    if config.webhook_url:
        builder.updater(None)  # the web application receives the updates
    app: BotApplication = builder.build()
    app.bot_data.config = config
    logging.getLogger(SCHEDULER_LOGGER).addFilter(STOPPED_JOBS)  # a stop is not an error
    logging.getLogger(POOL_LOGGER).addFilter(POOL_RECONNECTS)  # nor a database restart
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
    prices = Prices(config.prices, config.price_markup)
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
    metrics = BotMetrics() if config.metrics_port else None  # a registry per Application
    images = ImageConverter()  # two photo conversions at a time, new photos and fetched ones
    # Video work on a slot of its own (joins, round notes, voice notes): a round note's seconds
    # of encoding never hold up the card of a photo just sent, nor a delivery's last frame.
    videos = ImageConverter(limit=1)
    soundtracks, albums, presses = replica_parts(storage)
    generation = GenerationService(
        storage=storage,
        api=video,
        messenger=TelegramMessenger(app.bot, catalogues, prices, billing),
        scheduler=scheduler,
        files=task_files(config.data_dir, soundtracks),
        settings=settings,
        billing=billing,
        metrics=metrics,
        # Replicas: a card's photo may be on another replica's disk (one disk: it is here).
        photos=TelegramPhotos(app.bot, images) if config.database_url else None,
        clip_source=TelegramClips(app.bot),
        media=videos,
        frames=images,
        group_roles=TelegramGroupRoles(app.bot, config.group_admin_seconds),
    )
    metrics_server = await serve_metrics(app, metrics, storage, billing)
    web_app = None
    # Telegram's webhook (webhook mode), soundtracks and apimart's callbacks (PUBLIC_BASE_URL)
    # and /healthz (either) on one socket; `run` registers the webhook once it listens.
    if config.public_base_url or config.webhook_url:
        web_app = WebApp(
            generation.files.soundtracks,
            config.public_host,
            config.public_port,
            on_callback=generation.hint,
            webhook=webhook(app, config),
            checks={"storage": lambda: storage.get_user(0), "telegram": app.bot.get_me},
        )
        await web_app.start()
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
        web=web_app,
        metrics=metrics_server,
        prices=prices,
        billing=billing,
        shop=shop,
        payment_contact=await payment_contact(app.bot, config),
        images=images,
        videos=videos,
        albums=albums,
        presses=presses,
        flood_share=await flood_share(app, storage, settings.owner, config.lease_seconds),
    )
    await generation.sweep_soundtracks()
    generation.sweep_scratch()
    await generation.resume()
    if config.database_url:  # other processes may die and leave their tasks to this one
        scheduler.schedule_lease_keeping(config.lease_seconds / 3)
    scheduler.schedule_housekeeping()
    scheduler.schedule_line_keeping()
    await register_commands(app, catalogues)
    log.info("bot @%s started; data in %s", app.bot.username, config.data_dir)


async def finish_uploads(app: BotApplication) -> None:
    """After the Application stopped (its jobs cancelled), before its connections close."""
    services = app.bot_data.services
    if services is not None:
        await services.generation.finish_uploads()


async def stop_services(app: BotApplication) -> None:
    services = app.bot_data.services
    if services is None:
        return
    if services.web is not None:
        await services.web.stop()
    if services.metrics is not None:
        await services.metrics.stop()
    await services.generation.release()
    if services.flood_share is not None:
        await services.flood_share.stop()
    await services.client.close()
    await services.storage.close()
    app.bot_data.services = None


def replica_parts(storage: Storage) -> tuple[SoundtrackStore | None, Albums, Arrivals]:
    """Replicas share nothing but PostgreSQL: soundtracks (the provider's fetch may reach any
    replica), album counts and double taps live there. On the embedded files: this disk,
    this process."""
    if isinstance(storage, PostgresStorage):
        shared = storage.arrivals_before
        return (
            storage.soundtracks(),
            Albums(shared=shared),
            Arrivals(PRESS_SECONDS, shared=shared),
        )
    return None, Albums(), Arrivals(PRESS_SECONDS)


async def flood_share(
    app: BotApplication, storage: Storage, owner: str, lease_seconds: float
) -> FloodShare | None:
    """Replicas on PostgreSQL share one token's overall limit, counted before the first
    message goes; one process has it whole."""
    shaper = app.bot.rate_limiter
    if not isinstance(storage, PostgresStorage) or not isinstance(shaper, TrafficShaper):
        return None
    share = FloodShare(
        shaper,
        owner,
        lease_seconds,
        storage.replica_heartbeat,
        storage.leave_replicas,
        storage.take_chat_send,
    )
    await share.beat()
    return share


async def serve_metrics(
    app: BotApplication, metrics: BotMetrics | None, storage: Storage, billing: Billing | None
) -> MetricsServer | None:
    """METRICS_PORT: /metrics on METRICS_HOST (127.0.0.1 unless set), its own socket."""
    config = app.bot_data.config
    if metrics is None or config is None or config.metrics_port is None:
        return None
    shaper = app.bot.rate_limiter
    metrics.watch(storage, billing, shaper if isinstance(shaper, TrafficShaper) else None)
    server = MetricsServer(metrics, config.metrics_host, config.metrics_port)
    await server.start()
    return server


async def register_commands(app: BotApplication, catalogues: Catalogues) -> None:
    """The command menu, once per language, so users see it in theirs."""
    config = app.bot_data.config
    billing_on = config is not None and config.billing_on
    for locale in catalogues.locales:
        commands = command_menu(catalogues.translator(locale), COMMANDS, billing_on)
        language = None if locale == "en" else locale.split("_")[0]
        await app.bot.set_my_commands(commands, language_code=language)


def webhook(app: BotApplication, config: Config) -> Webhook | None:
    """Webhook mode: where the web application puts the updates Telegram posts."""
    if not config.webhook_url:
        return None
    assert config.webhook_secret
    return Webhook(secret=config.webhook_secret, bot=app.bot, queue=app.update_queue)


def webhook_registration(config: Config) -> dict[str, Any]:
    """setWebhook's arguments: a fixed path (proxies log paths), the secret only in the
    header Telegram sends with every update."""
    assert config.webhook_url and config.webhook_secret
    return {
        "url": f"{config.webhook_url}{WEBHOOK_PATH}",
        "secret_token": config.webhook_secret,
        "allowed_updates": Update.ALL_TYPES,
        # Updates sent while the bot was down are processed, never dropped.
        "drop_pending_updates": False,
    }


async def run(app: BotApplication, stop: asyncio.Event) -> None:
    """Run the bot until `stop` is set; the caller owns the loop and the signals.

    Start: initialize, post_init (services and the web application), then updates flow:
    setWebhook in webhook mode, polling otherwise, and the Application starts. A stop during
    start-up cancels it. Stop, in order: the web application (no update is acknowledged that
    would not be processed), the poller, the Application (pending updates are processed),
    shutdown, post_shutdown. A start-up error (Telegram out of reach, a rejected token) is
    raised after that stop."""
    try:
        if await _unless_stopped(_start(app), stop):
            await stop.wait()
    finally:
        await _stop(app)


async def _start(app: BotApplication) -> None:
    config = app.bot_data.config
    assert config is not None
    await app.initialize()
    if app.post_init:
        await app.post_init(app)
    if app.updater is None:
        await app.bot.set_webhook(**webhook_registration(config))
    else:
        # As run_polling does: errors in fetching go to the error handlers.
        await app.updater.start_polling(
            allowed_updates=Update.ALL_TYPES,
            drop_pending_updates=False,
            error_callback=lambda exc: _report(app, exc),
        )
    await app.start()


def _report(app: BotApplication, error: Exception) -> None:
    app.create_task(app.process_error(update=None, error=error))


async def _stop(app: BotApplication) -> None:
    services = app.bot_data.services
    if services is not None and services.web is not None:
        await services.web.stop()
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
        if app.post_stop:
            await app.post_stop(app)
    await app.shutdown()
    if app.post_shutdown:
        await app.post_shutdown(app)


async def _unless_stopped(work: Coroutine[Any, Any, None], stop: asyncio.Event) -> bool:
    """Run `work` to its end (True, or its error), unless `stop` is set first: then it is
    cancelled (False)."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((task, stopped), return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not task.done():
            task.cancel()
            await asyncio.wait((task,))
    if task.cancelled():
        return False
    task.result()
    return True
