"""Configuration: one frozen object, validated once at start-up from the environment and `.env`."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from bot.domain.pricing import PriceTable, PriceTableError, parse_price_table

TOKEN_PATTERN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")
MIN_SECRET_LENGTH = 32
SECRET_HINT = (
    f"{MIN_SECRET_LENGTH}-256 characters of A-Z a-z 0-9 _ -; make one with "
    "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
)

T = TypeVar("T")


class ConfigError(Exception):
    """A required setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Config:
    telegram_bot_token: str = field(repr=False)
    apimart_api_key: str = field(repr=False)
    telegram_api_url: str = "https://api.telegram.org"
    apimart_base_url: str = "https://api.apimart.ai"
    data_dir: Path = Path("data")
    poll_interval: float | None = None  # None: adaptive polling
    task_timeout: float = 3600.0
    log_level: str = "INFO"
    log_json: bool = False  # LOG_FORMAT=json: one JSON object a line
    # Uploaded soundtracks need a public address the API can fetch them from.
    public_base_url: str | None = None
    # Where the bot's one web server listens (webhook, soundtracks, callbacks, /healthz).
    public_host: str = "0.0.0.0"
    public_port: int = 8080
    # Prometheus text at /metrics on its own socket (off when unset); never the public port.
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    # Who may spend the balance; empty means everyone.
    allowed_user_ids: frozenset[int] = frozenset()
    allowed_chat_ids: frozenset[int] = frozenset()
    admin_user_ids: frozenset[int] = frozenset()
    max_active_tasks_per_user: int = 2
    daily_video_seconds_per_user: int = 0  # 0: unlimited
    max_active_tasks: int = 20
    # Finished tasks (history) are kept this long; /stats totals survive it.
    retention_days: int = 30
    # postgresql://… shares the state between several bot processes; unset: TinyDB files.
    database_url: str | None = field(default=None, repr=False)
    lease_seconds: float = 30.0
    # How long a group admin's status, as Telegram said it, is trusted (a demotion takes
    # effect within this time; each check is one getChatMember call).
    group_admin_seconds: float = 60.0
    # A busy bot must not spend its message budget on progress bars.
    progress_edit_interval: float = 5.0
    telegram_local_mode: bool = False
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    # What a second of video costs, by kind (see bot/domain/pricing.py); the card shows it.
    prices: PriceTable = field(default_factory=PriceTable)
    refresh_prices: bool = True  # ask the provider's pricing endpoint at start-up and daily
    price_markup: float = 1.0  # users pay the cost basis times this
    # BILLING=stars: users pay for videos with credits bought with Telegram Stars.
    billing: str = "off"
    credits_per_usd: int = 100  # credits per unit of PRICE_CURRENCY
    star_packs: tuple[int, ...] = (50, 200, 500)  # Stars per pack offered by /buy
    credits_per_star: int = 1
    welcome_credits: int = 0  # a one-time free trial per user
    paysupport_contact: str = ""  # who answers payment questions (/paysupport)

    @property
    def billing_on(self) -> bool:
        return self.billing == "stars"

    @property
    def bot_api_base_url(self) -> str:
        return f"{self.telegram_api_url}/bot"

    @property
    def bot_file_base_url(self) -> str:
        return f"{self.telegram_api_url}/file/bot"


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse KEY=VALUE lines; `#` comments, `export ` prefixes and quoted values are understood."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].strip()
        values[key.strip()] = value
    return values


def load_config(environ: Mapping[str, str] | None = None, dotenv: Path | None = None) -> Config:
    """Build the Config; the real environment wins over `.env`."""
    env = dict(read_dotenv(dotenv if dotenv is not None else Path(".env")))
    env.update(os.environ if environ is None else environ)

    def get(name: str) -> str:
        return env.get(name, "").strip()

    token, api_key = _secrets(get)
    host, port = _listen(get)
    metrics_port = _metrics_port(get, port)
    return Config(
        telegram_bot_token=token,
        apimart_api_key=api_key,
        telegram_api_url=_url(get, "TELEGRAM_API_URL", "https://api.telegram.org"),
        apimart_base_url=_url(get, "APIMART_BASE_URL", "https://api.apimart.ai"),
        data_dir=Path(get("DATA_DIR") or "data"),
        poll_interval=_seconds(get, "POLL_INTERVAL", 0.0) or None,
        task_timeout=_seconds(get, "TASK_TIMEOUT", 3600.0),
        log_level=_log_level(get),
        log_json=_log_format(get) == "json",
        public_base_url=_optional_url(get, "PUBLIC_BASE_URL"),
        public_host=host,
        public_port=port,
        metrics_port=metrics_port,
        metrics_host=get("METRICS_HOST") or "127.0.0.1",
        allowed_user_ids=_ids(get, "ALLOWED_USER_IDS"),
        allowed_chat_ids=_ids(get, "ALLOWED_CHAT_IDS"),
        admin_user_ids=_ids(get, "ADMIN_USER_IDS"),
        max_active_tasks_per_user=_count(get, "MAX_ACTIVE_TASKS_PER_USER", 2, minimum=1),
        daily_video_seconds_per_user=_count(get, "DAILY_VIDEO_SECONDS_PER_USER", 0),
        max_active_tasks=_count(get, "MAX_ACTIVE_TASKS", 20, minimum=1),
        retention_days=_count(get, "RETENTION_DAYS", 30, minimum=1),
        database_url=_database_url(get),
        lease_seconds=_seconds(get, "LEASE_SECONDS", 30.0),
        group_admin_seconds=_seconds(get, "GROUP_ADMIN_SECONDS", 60.0, allow_zero=True),
        progress_edit_interval=_seconds(get, "PROGRESS_EDIT_INTERVAL", 5.0, allow_zero=True),
        telegram_local_mode=_flag(get, "TELEGRAM_LOCAL_MODE"),
        webhook_url=_optional_url(get, "WEBHOOK_URL"),
        webhook_secret=_webhook_secret(get),
        prices=_prices(get),
        refresh_prices=get("REFRESH_PRICES").lower() not in ("0", "false", "no", "off"),
        price_markup=_markup(get),
        billing=_billing(get),
        credits_per_usd=_count(get, "CREDITS_PER_USD", 100, minimum=1),
        star_packs=_packs(get),
        credits_per_star=_count(get, "CREDITS_PER_STAR", 1, minimum=1),
        welcome_credits=_count(get, "WELCOME_CREDITS", 0),
        paysupport_contact=get("PAYSUPPORT_CONTACT"),
    )


Getter = Callable[[str], str]


def _billing(get: Getter) -> str:
    value = (get("BILLING") or "off").lower()
    if value not in ("off", "stars"):
        raise ConfigError("BILLING must be off or stars")
    return value


def _packs(get: Getter) -> tuple[int, ...]:
    text = get("STAR_PACKS") or "50,200,500"
    try:
        packs = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise ConfigError("STAR_PACKS is a comma list of Star amounts, e.g. 50,200,500") from None
    if not packs or not all(1 <= p <= 10000 for p in packs):
        raise ConfigError("STAR_PACKS: each pack is 1 to 10000 Stars")
    return packs


def _markup(get: Getter) -> float:
    text = get("PRICE_MARKUP") or "1"
    try:
        markup = float(text)
    except ValueError:
        raise ConfigError("PRICE_MARKUP is a number, e.g. 1.5 for 50 % over cost") from None
    if not 0.1 <= markup <= 100:
        raise ConfigError("PRICE_MARKUP: between 0.1 and 100")
    return markup


def _prices(get: Getter) -> PriceTable:
    currency = get("PRICE_CURRENCY") or "USD"
    text = get("PRICES")
    if not text:
        if currency.upper() != "USD":
            raise ConfigError("PRICE_CURRENCY needs PRICES in that currency too")
        return PriceTable()
    try:
        return parse_price_table(text, currency)
    except PriceTableError as exc:
        raise ConfigError(f"PRICES: {exc}") from None


def _secrets(get: Getter) -> tuple[str, str]:
    """The bot token and the API key, checked for shape (never echoed back)."""
    token = get("TELEGRAM_BOT_TOKEN")
    if not token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set (ask @BotFather; see .env.example)")
    if not TOKEN_PATTERN.match(token):
        raise ConfigError("TELEGRAM_BOT_TOKEN is malformed (expected <digits>:<secret>)")
    api_key = get("APIMART_API_KEY")
    if not api_key:
        raise ConfigError("APIMART_API_KEY is not set (see .env.example)")
    if any(ch.isspace() for ch in api_key):
        raise ConfigError("APIMART_API_KEY is malformed (it contains white space)")
    return token, api_key


def _log_format(get: Getter) -> str:
    value = (get("LOG_FORMAT") or "text").lower()
    if value not in ("text", "json"):
        raise ConfigError("LOG_FORMAT must be text or json")
    return value


def _log_level(get: Getter) -> str:
    level = (get("LOG_LEVEL") or "INFO").upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError("LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return level


def _optional_url(get: Getter, name: str) -> str | None:
    return _url(get, name, "") if get(name) else None


def _url(get: Getter, name: str, default: str) -> str:
    value = get(name) or default
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s) URL, got {value!r}")
    return value.rstrip("/")


def _ids(get: Getter, name: str) -> frozenset[int]:
    raw = get(name)
    items = [item.strip() for item in raw.split(",") if item.strip()]
    try:
        return frozenset(int(item) for item in items)
    except ValueError:
        raise ConfigError(f"{name} must be a comma-separated list of numeric ids") from None


def _count(get: Getter, name: str, default: int, *, minimum: int = 0) -> int:
    raw = get(name)
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        raise ConfigError(f"{name} must be a whole number of at least {minimum}, got {raw!r}")
    return int(raw)


def _flag(get: Getter, name: str) -> bool:
    raw = get(name).lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _webhook_secret(get: Getter) -> str | None:
    """Whoever holds it can post updates as any user, admins included: long enough not to be
    guessed, in the alphabet Telegram allows (1-256 of A-Z a-z 0-9 _ -). Never echoed back."""
    secret = get("WEBHOOK_SECRET")
    if get("WEBHOOK_URL") and not secret:
        raise ConfigError(f"WEBHOOK_SECRET is required with WEBHOOK_URL ({SECRET_HINT})")
    if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
        raise ConfigError(f"WEBHOOK_SECRET must be only A-Z a-z 0-9 _ - ({SECRET_HINT})")
    if secret and len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(f"WEBHOOK_SECRET is too short ({SECRET_HINT})")
    return secret or None


def _listen(get: Getter) -> tuple[str, int]:
    """Where the one web server listens: PUBLIC_HOST/PUBLIC_PORT. In webhook mode the old
    names of the webhook's own server, WEBHOOK_LISTEN/WEBHOOK_PORT, still work; two different
    values for the one socket are refused rather than one of them silently ignored."""
    host, old_host = get("PUBLIC_HOST") or None, get("WEBHOOK_LISTEN") or None
    port, old_port = _optional_port(get, "PUBLIC_PORT"), _optional_port(get, "WEBHOOK_PORT")
    if get("WEBHOOK_URL"):
        host = _one_of("PUBLIC_HOST", host, "WEBHOOK_LISTEN", old_host)
        port = _one_of("PUBLIC_PORT", port, "WEBHOOK_PORT", old_port)
    return host or "0.0.0.0", 8080 if port is None else port


def _one_of(name: str, value: T | None, old_name: str, old: T | None) -> T | None:
    if value is not None and old is not None and value != old:
        raise ConfigError(
            f"{old_name}={old} and {name}={value} differ: the webhook, /audio, /hooks and "
            f"/healthz share one socket now; set {name} only ({old_name} is its old name)"
        )
    return old if value is None else value


def _metrics_port(get: Getter, public_port: int) -> int | None:
    """METRICS_PORT: unset is off; the public port is refused (the numbers are the
    operator's, not the internet's)."""
    port = _optional_port(get, "METRICS_PORT")
    if port == 0:
        raise ConfigError("METRICS_PORT must be a port number from 1 (unset: no metrics)")
    if port is not None and port == public_port:
        raise ConfigError(
            f"METRICS_PORT={port} is the public port (PUBLIC_PORT): the metrics need a "
            "port of their own"
        )
    return port


def _optional_port(get: Getter, name: str) -> int | None:
    return _port(get, name, 0) if get(name) else None


def _database_url(get: Getter) -> str | None:
    url = get("DATABASE_URL")
    if url and urlsplit(url).scheme not in ("postgres", "postgresql"):
        raise ConfigError("DATABASE_URL must be a postgresql:// URL")
    return url or None


def _port(get: Getter, name: str, default: int) -> int:
    raw = get(name)
    if not raw:
        return default
    if not raw.isdigit() or not 0 <= int(raw) <= 65535:
        raise ConfigError(f"{name} must be a port number, got {raw!r}")
    return int(raw)


def _seconds(get: Getter, name: str, default: float, *, allow_zero: bool = False) -> float:
    raw = get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value < 0 or (value == 0 and not allow_zero):
        limit = "must not be negative" if allow_zero else "must be greater than 0"
        raise ConfigError(f"{name} {limit}, got {raw!r}")
    return value
