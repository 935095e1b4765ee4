from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from tests.harness import API_KEY, TOKEN

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cret_value_that_is_long_enough_0123"


def test_defaults_and_dotenv(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        f'# comment\nTELEGRAM_BOT_TOKEN="{TOKEN}"\nexport APIMART_API_KEY={API_KEY}'
        "\nPOLL_INTERVAL=2.5 # seconds\n"
    )
    config = load_config({"DATA_DIR": "/tmp/x"}, dotenv)
    assert config.telegram_bot_token == TOKEN and config.apimart_api_key == API_KEY
    assert config.poll_interval == 2.5 and config.data_dir == Path("/tmp/x")
    assert config.telegram_api_url == "https://api.telegram.org"
    assert TOKEN not in repr(config) and API_KEY not in repr(config)


def test_environment_wins_over_dotenv(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"TELEGRAM_BOT_TOKEN=1:bad\nAPIMART_API_KEY={API_KEY}\n")
    config = load_config({"TELEGRAM_BOT_TOKEN": TOKEN}, dotenv)
    assert config.telegram_bot_token == TOKEN


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "TELEGRAM_BOT_TOKEN"),
        ({"TELEGRAM_BOT_TOKEN": "nonsense"}, "TELEGRAM_BOT_TOKEN"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN}, "APIMART_API_KEY"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "APIMART_API_KEY": "a b"}, "APIMART_API_KEY"),
        (
            {"TELEGRAM_BOT_TOKEN": TOKEN, "APIMART_API_KEY": "k", "POLL_INTERVAL": "soon"},
            "POLL_INTERVAL",
        ),
        (
            {"TELEGRAM_BOT_TOKEN": TOKEN, "APIMART_API_KEY": "k", "TASK_TIMEOUT": "-1"},
            "TASK_TIMEOUT",
        ),
        (
            {"TELEGRAM_BOT_TOKEN": TOKEN, "APIMART_API_KEY": "k", "APIMART_BASE_URL": "ftp://x"},
            "APIMART_BASE_URL",
        ),
    ],
)
def test_bad_values_name_the_variable(tmp_path: Path, env: dict, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_config(env, tmp_path / "missing.env")


def test_missing_token_exits_2_with_one_clear_line(tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN", "APIMART_API_KEY")
    }
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: TELEGRAM_BOT_TOKEN is not set (ask @BotFather; see .env.example)"
    ]


def test_production_settings(tmp_path: Path) -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "APIMART_API_KEY": "k",
        "ALLOWED_USER_IDS": "1, 2",
        "ADMIN_USER_IDS": "3",
        "DAILY_VIDEO_SECONDS_PER_USER": "60",
        "TELEGRAM_LOCAL_MODE": "true",
        "WEBHOOK_URL": "https://bot.example.com/tg",
        "WEBHOOK_SECRET": SECRET,
    }
    config = load_config(env, tmp_path / "none")
    assert config.allowed_user_ids == {1, 2} and config.admin_user_ids == {3}
    assert config.daily_video_seconds_per_user == 60 and config.telegram_local_mode
    assert config.max_active_tasks_per_user == 2 and SECRET not in repr(config)
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET"):
        load_config(env | {"WEBHOOK_SECRET": ""}, tmp_path / "none")
    with pytest.raises(ConfigError, match="ALLOWED_USER_IDS"):
        load_config(env | {"ALLOWED_USER_IDS": "ann"}, tmp_path / "none")


WEBHOOK = {
    "TELEGRAM_BOT_TOKEN": TOKEN,
    "APIMART_API_KEY": "k",
    "WEBHOOK_URL": "https://bot.example.com",
    "WEBHOOK_SECRET": SECRET,
}


@pytest.mark.parametrize(
    "secret",
    [
        "s3cret_value",  # accepted before: whoever reads one log line could forge updates
        "x" * 31,
        "a" * 31 + "!",  # outside Telegram's alphabet
        "a" * 40 + " b",
        "a" * 257,  # Telegram's maximum is 256
    ],
)
def test_a_weak_or_malformed_webhook_secret_is_refused(tmp_path: Path, secret: str) -> None:
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET") as refused:
        load_config(WEBHOOK | {"WEBHOOK_SECRET": secret}, tmp_path / "none")
    assert secret not in str(refused.value) and "32-256" in str(refused.value)


def test_a_32_to_256_character_secret_is_accepted(tmp_path: Path) -> None:
    for secret in ("a" * 32, "A-z_09" * 42 + "abcd"):
        assert load_config(WEBHOOK | {"WEBHOOK_SECRET": secret}, tmp_path / "x").webhook_secret


def test_the_webhook_and_the_rest_share_one_port(tmp_path: Path) -> None:
    none = tmp_path / "none"
    config = load_config(WEBHOOK, none)
    assert (config.public_host, config.public_port) == ("0.0.0.0", 8080)
    # the webhook server's own variables are the old names of the one server's
    old = load_config(WEBHOOK | {"WEBHOOK_LISTEN": "127.0.0.1", "WEBHOOK_PORT": "8443"}, none)
    assert (old.public_host, old.public_port) == ("127.0.0.1", 8443)
    same = load_config(WEBHOOK | {"WEBHOOK_PORT": "8443", "PUBLIC_PORT": "8443"}, none)
    assert same.public_port == 8443
    with pytest.raises(ConfigError, match="WEBHOOK_PORT=8443 and PUBLIC_PORT=8080 differ"):
        load_config(WEBHOOK | {"WEBHOOK_PORT": "8443", "PUBLIC_PORT": "8080"}, none)
    with pytest.raises(ConfigError, match=r"WEBHOOK_LISTEN=127\.0\.0\.1 and PUBLIC_HOST=::"):
        load_config(WEBHOOK | {"WEBHOOK_LISTEN": "127.0.0.1", "PUBLIC_HOST": "::"}, none)
    # polling never read them: a copied .env.example with both still starts
    polling = {k: v for k, v in WEBHOOK.items() if not k.startswith("WEBHOOK_")}
    both = load_config(polling | {"WEBHOOK_PORT": "8443", "PUBLIC_PORT": "8080"}, none)
    assert both.public_port == 8080


def test_a_short_webhook_secret_exits_2_with_one_clear_line(tmp_path: Path) -> None:
    result = run_bot(tmp_path, **(WEBHOOK | {"WEBHOOK_SECRET": "hook_secret_123"}))
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: WEBHOOK_SECRET is too short (32-256 characters")
    assert "hook_secret_123" not in line


def run_bot(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {
        k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN", "APIMART_API_KEY")
    }
    full |= {"PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_corrupt_database_refuses_to_start_and_repair_restores_the_backup(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "bot.json.bak").write_text('{"users": {"1": {"user_id": 5}}}')
    (data / "bot.json").write_text('{"users": {"1": {"user_')
    started = run_bot(
        tmp_path,
        TELEGRAM_BOT_TOKEN=TOKEN,
        APIMART_API_KEY=API_KEY,
        TELEGRAM_API_URL="http://127.0.0.1:9",
    )
    assert started.returncode == 2
    [line] = started.stderr.strip().splitlines()
    assert "data/bot.json is not valid JSON" in line and "--repair" in line
    repaired = run_bot(tmp_path, "--repair")
    assert repaired.returncode == 0 and "restored from" in repaired.stdout
    assert (data / "bot.json").read_text() == '{"users":{"1":{"user_id":5}}}'
    assert list(data.glob("bot.json.corrupt-*"))
    assert "nothing to repair" in run_bot(tmp_path, "--repair").stdout


def test_log_format_json_writes_one_object_a_line_with_task_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json
    import logging

    from bot.lifecycle.tasklog import task_log
    from bot.logs import configure_logging
    from tests.factories import make_record

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("INFO", ["s3cret-key"], json_lines=True)
        task_log(logging.getLogger("bot.test"), make_record("t9", user_id=5)).info(
            "submitted with s3cret-key"
        )
        logging.getLogger("bot.test").warning("plain line")
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
    first, second = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert (first["task"], first["user"], first["chat"]) == ("t9", 5, 5)
    assert first["message"] == "submitted with [REDACTED]" and first["level"] == "INFO"
    assert "task" not in second and second["message"] == "plain line"
