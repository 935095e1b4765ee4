"""Local fakes of the Telegram Bot API and apimart, served over real HTTP on 127.0.0.1."""
