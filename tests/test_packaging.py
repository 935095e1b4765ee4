"""Installed as a package (a wheel), the bot keeps every language and every module."""

from __future__ import annotations

import logging
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bot.i18n import Catalogues

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [built] = out.glob("*.whl")
    return built


def test_the_wheel_carries_every_package_and_every_catalogue(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "bot").rglob("__init__.py")}
    assert {f"{package}/__init__.py" for package in packages} <= names
    catalogues = {p.relative_to(ROOT).as_posix() for p in (ROOT / "locales").rglob("bot.po")}
    assert len(catalogues) == 10
    assert {f"bot/{path}" for path in catalogues} <= names
    assert "bot/locales/bot.pot" in names


def test_an_installed_bot_speaks_every_language(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    probe = (
        "from bot.i18n import Catalogues; import bot; print(bot.__file__); "
        "print(' '.join(Catalogues.load().locales))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,  # away from the source tree
        env={"PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    where, locales = result.stdout.splitlines()
    assert where.startswith(str(target))
    assert locales.split() == sorted(p.name for p in (ROOT / "locales").iterdir() if p.is_dir())


def test_no_catalogue_is_said_loudly(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        catalogues = Catalogues.load(tmp_path)
    assert catalogues.locales == ["en"]
    assert "no translation catalogues" in caplog.text
