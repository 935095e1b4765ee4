# syntax=docker/dockerfile:1
# Base images pinned by version; move both lines together (README "Docker").
FROM python:3.11.16-slim-bookworm AS build
WORKDIR /src
# Exactly the locked releases, each file checked against its hash (`make lock` writes the lock),
# then the bot alone: nothing is resolved again.
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes --prefix=/install -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
# The catalogues go into the package (bot/locales): pyproject.toml maps them there.
COPY locales ./locales
RUN pip install --no-cache-dir --no-deps --prefix=/install .

FROM python:3.11.16-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DATA_DIR=/data
RUN useradd --create-home --uid 10001 bot && mkdir /data && chown bot:bot /data
COPY --from=build /install /usr/local
WORKDIR /app
USER bot
VOLUME ["/data"]
# No secrets here: pass TELEGRAM_BOT_TOKEN and APIMART_API_KEY with --env-file at run time.
CMD ["python", "-m", "bot"]
