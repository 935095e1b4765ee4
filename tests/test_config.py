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
