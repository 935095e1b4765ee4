# syntax=docker/dockerfile:1
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
# The catalogues go into the package (bot/locales): pyproject.toml maps them there.
COPY locales ./locales
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DATA_DIR=/data
RUN useradd --create-home --uid 10001 bot && mkdir /data && chown bot:bot /data
COPY --from=build /install /usr/local
WORKDIR /app
USER bot
VOLUME ["/data"]
# No secrets here: pass TELEGRAM_BOT_TOKEN and APIMART_API_KEY with --env-file at run time.
CMD ["python", "-m", "bot"]
