from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from tests.harness import API_KEY, TOKEN

ROOT = Path(__file__).resolve().parent.parent


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
        "WEBHOOK_SECRET": "s3cret_value",
    }
    config = load_config(env, tmp_path / "none")
    assert config.allowed_user_ids == {1, 2} and config.admin_user_ids == {3}
    assert config.daily_video_seconds_per_user == 60 and config.telegram_local_mode
    assert config.max_active_tasks_per_user == 2 and "s3cret_value" not in repr(config)
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET"):
        load_config(env | {"WEBHOOK_SECRET": ""}, tmp_path / "none")
    with pytest.raises(ConfigError, match="ALLOWED_USER_IDS"):
        load_config(env | {"ALLOWED_USER_IDS": "ann"}, tmp_path / "none")


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
