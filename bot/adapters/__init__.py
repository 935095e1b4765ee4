"""Adapters: the lifecycle's ports implemented on outside services (Telegram's live in
`bot/telegram/`)."""
