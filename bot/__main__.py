"""`python -m bot`: load the config, build the application, poll until stopped."""

from __future__ import annotations

import sys

from telegram import Update

from .application import build_application
from .config import ConfigError, load_config
from .logs import configure_logging
from .storage import StorageCorruptError


def main() -> int:
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging(config.log_level, [config.telegram_bot_token, config.apimart_api_key])
    app = build_application(config)
    try:
        # Updates sent while the bot was down are processed, never dropped.
        app.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    except StorageCorruptError as exc:
        print(f"error: {exc}. Move the file aside to start afresh.", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
