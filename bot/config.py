"""Configuration: one frozen object, validated once at start-up from the environment and `.env`."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

TOKEN_PATTERN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")


class ConfigError(Exception):
    """A required setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Config:
    telegram_bot_token: str = field(repr=False)
    apimart_api_key: str = field(repr=False)
    telegram_api_url: str = "https://api.telegram.org"
    apimart_base_url: str = "https://api.apimart.ai"
    data_dir: Path = Path("data")
    poll_interval: float = 10.0
    task_timeout: float = 3600.0
    log_level: str = "INFO"
    # Uploaded soundtracks need a public address the API can fetch them from.
    public_base_url: str | None = None
    public_host: str = "0.0.0.0"
    public_port: int = 8080

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

    level = (get("LOG_LEVEL") or "INFO").upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError("LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")

    return Config(
        telegram_bot_token=token,
        apimart_api_key=api_key,
        telegram_api_url=_url(get, "TELEGRAM_API_URL", "https://api.telegram.org"),
        apimart_base_url=_url(get, "APIMART_BASE_URL", "https://api.apimart.ai"),
        data_dir=Path(get("DATA_DIR") or "data"),
        poll_interval=_positive(get, "POLL_INTERVAL", 10.0),
        task_timeout=_positive(get, "TASK_TIMEOUT", 3600.0),
        log_level=level,
        public_base_url=_url(get, "PUBLIC_BASE_URL", "") if get("PUBLIC_BASE_URL") else None,
        public_host=get("PUBLIC_HOST") or "0.0.0.0",
        public_port=_port(get, "PUBLIC_PORT", 8080),
    )


def _url(get, name: str, default: str) -> str:
    value = get(name) or default
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s) URL, got {value!r}")
    return value.rstrip("/")


def _port(get, name: str, default: int) -> int:
    raw = get(name)
    if not raw:
        return default
    if not raw.isdigit() or not 0 <= int(raw) <= 65535:
        raise ConfigError(f"{name} must be a port number, got {raw!r}")
    return int(raw)


def _positive(get, name: str, default: float) -> float:
    raw = get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be greater than 0, got {raw!r}")
    return value
