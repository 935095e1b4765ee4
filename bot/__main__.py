"""`python -m bot`: load the config, build the application, poll (or serve a webhook) until
SIGTERM or SIGINT.

`python -m bot --repair` sets damaged database files aside and restores their last good copies.
`python -m bot migrate-to-postgres` copies DATA_DIR's files into DATABASE_URL's PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from contextlib import suppress
from pathlib import Path
from urllib.parse import urlsplit

from telegram.error import InvalidToken, NetworkError

from bot.application import build_application, run
from bot.config import Config, ConfigError, load_config, read_dotenv
from bot.logs import configure_logging
from bot.storage import StorageCorruptError
from bot.storage.migrate import copy_to_postgres
from bot.storage.tinydb import check_readable, repair

log = logging.getLogger("bot")
STARTUP_BACKOFF = (2.0, 5.0, 10.0, 20.0, 30.0, 60.0)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def maintenance(command: str) -> int:
    """`--repair` and `migrate-to-postgres`: they need no token, only where the data is."""
    env = {**read_dotenv(Path(".env")), **os.environ}
    data_dir = Path(env.get("DATA_DIR") or "data")
    if command == "--repair":
        print(repair(data_dir))
        return 0
    if not env.get("DATABASE_URL"):
        print("error: set DATABASE_URL to the PostgreSQL to copy into", file=sys.stderr)
        return 2
    print(asyncio.run(copy_to_postgres(data_dir, env["DATABASE_URL"])))
    return 0


def main(argv: list[str]) -> int:
    if argv[1:] in (["--repair"], ["migrate-to-postgres"]):
        return maintenance(argv[1])
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        # Refuse to start over a damaged file rather than silently starting empty.
        if not config.database_url:
            check_readable(config.data_dir)
    except StorageCorruptError as exc:
        print(
            f"error: {exc}. Run `python -m bot --repair` to restore the last good copy.",
            file=sys.stderr,
        )
        return 2
    configure_logging(
        config.log_level,
        [
            config.telegram_bot_token,
            config.apimart_api_key,
            config.webhook_secret or "",
            *database_secrets(config.database_url),
        ],
        reported=(InvalidToken, NetworkError),
        json_lines=config.log_json,
    )
    return serve(config)


def database_secrets(url: str | None) -> list[str]:
    """What of DATABASE_URL must never reach a log: the whole URL and its password."""
    if not url:
        return []
    password = urlsplit(url).password
    return [url, *([password] if password else [])]


def serve(config: Config) -> int:
    return asyncio.run(serve_until_stopped(config))


async def serve_until_stopped(config: Config) -> int:
    """Run until SIGTERM or SIGINT, then stop in order (bot.application.run) and return 0.
    Telegram out of reach at start-up is said in one line and tried again with backoff (a
    container restart loop explains nothing); a rejected token ends it."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    delays = iter(STARTUP_BACKOFF)
    while not stop.is_set():
        try:
            await run(build_application(config), stop)
        except InvalidToken:
            print(
                "error: Telegram rejected TELEGRAM_BOT_TOKEN (check it with @BotFather)",
                file=sys.stderr,
            )
            return 2
        except NetworkError as exc:
            delay = next(delays, STARTUP_BACKOFF[-1])
            log.error(
                "Telegram could not be reached at %s (%s); trying again in %.0f s",
                config.telegram_api_url,
                exc.message,
                delay,
            )
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
