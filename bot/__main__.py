"""`python -m bot`: load the config, build the application, poll (or serve a webhook).

`python -m bot --repair` sets a damaged database file aside and restores the last good copy.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from telegram import Update
from telegram.error import InvalidToken

from bot.application import build_application, webhook_options
from bot.config import ConfigError, load_config, read_dotenv
from bot.logs import configure_logging
from bot.storage import StorageCorruptError
from bot.storage.tinydb import check_readable, repair


def main(argv: list[str]) -> int:
    if argv[1:] == ["--repair"]:
        data_dir = os.environ.get("DATA_DIR") or read_dotenv(Path(".env")).get("DATA_DIR")
        print(repair(Path(data_dir or "data")))
        return 0
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        # Refuse to start over a damaged file rather than silently starting empty.
        check_readable(config.data_dir)
    except StorageCorruptError as exc:
        print(
            f"error: {exc}. Run `python -m bot --repair` to restore the last good copy.",
            file=sys.stderr,
        )
        return 2
    configure_logging(
        config.log_level,
        [config.telegram_bot_token, config.apimart_api_key, config.webhook_secret or ""],
        reported=(InvalidToken,),
    )
    app = build_application(config)
    try:
        if config.webhook_url:
            app.run_webhook(**webhook_options(config))  # type: ignore[arg-type]
        else:
            # Updates sent while the bot was down are processed, never dropped.
            app.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    except InvalidToken:
        print(
            "error: Telegram rejected TELEGRAM_BOT_TOKEN (check it with @BotFather)",
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
