"""Installed as a package (a wheel), the bot keeps every language and every module."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from bot.i18n import Catalogues

ROOT = Path(__file__).resolve().parent.parent

# The first release with no known advisory, for each dependency that had one (security review
# 2026-11, L9). pyproject.toml may not allow anything older.
PATCHED = {
    # libwebp CVE-2023-4863 (10.0.0), PSD CVE-2026-25990 (<12.1.1), FITS CVE-2026-40192
    # (<12.2.0), CVE-2026-55379 and the other PYSEC-2026 fixes of 12.3.0
    "pillow": "12.3.0",
    # the public server: request smuggling and DoS fixed in 3.12.14, 3.13.3, 3.13.4 and
    # 3.14.0-3.14.3 (CVE-2026-69243 smuggling, CVE-2026-69244 C parser, last)
    "aiohttp": "3.14.3",
    # bundles libheif: 1.8.1 has 1.23.6, 1.8.0 had 1.23.4 (HEIF advisories fixed in 1.23.3-1.23.5)
    "pillow-heif": "1.8.1",
    "babel": "2.9.1",  # CVE-2021-42771
    "asyncpg": "0.21.0",  # CVE-2020-17446
}


def _project() -> dict[str, list[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {"": project["dependencies"], **project["optional-dependencies"]}


def _requirements(extra: str) -> list[Requirement]:
    found = [Requirement(line) for line in _project()[extra]]
    return [r for r in found if r.marker is None or r.marker.evaluate({"extra": extra})]


def _floor(requirement: Requirement) -> Version | None:
    floors = [Version(s.version) for s in requirement.specifier if s.operator in (">=", "==")]
    return max(floors, default=None)


def _lock(name: str) -> dict[str, tuple[Version, int]]:
    """name -> (pinned version, number of hashes), from a `uv pip compile` lock file."""
    pins: dict[str, tuple[Version, int]] = {}
    current = ""
    for line in (ROOT / name).read_text().splitlines():
        if pin := re.match(r"([A-Za-z0-9._-]+)==([^\s;\\]+)", line):
            current = canonicalize_name(pin[1])
            pins[current] = (Version(pin[2]), 0)
        elif "--hash=sha256:" in line:
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
    return pins


def test_no_floor_allows_a_release_with_a_known_advisory() -> None:
    floors = {canonicalize_name(r.name): _floor(r) for r in _requirements("")}
    assert set(PATCHED) <= set(floors)
    for name, patched in PATCHED.items():
        floor = floors[name]
        assert floor is not None and floor >= Version(patched), (name, str(floor), patched)


@pytest.mark.parametrize(
    ("lock", "extras"), [("requirements.lock", [""]), ("requirements-dev.lock", ["", "dev"])]
)
def test_the_lock_pins_every_dependency_within_its_range_with_hashes(
    lock: str, extras: list[str]
) -> None:
    pins = _lock(lock)
    for extra in extras:
        for requirement in _requirements(extra):
            name = canonicalize_name(requirement.name)
            assert name in pins, f"{name} is not in {lock}: run `make lock`"
            version = pins[name][0]
            assert requirement.specifier.contains(version, prereleases=True), (
                f"{lock} pins {name}=={version} outside {requirement.specifier}: run `make lock`"
            )
    assert all(hashes for _, hashes in pins.values())


def test_the_runtime_lock_pins_the_versions_of_the_dev_lock() -> None:
    runtime, dev = _lock("requirements.lock"), _lock("requirements-dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime


def test_images_are_pinned_by_version_and_the_database_password_has_no_default() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    compose = (ROOT / "docker-compose.yml").read_text()
    images = re.findall(r"^FROM (\S+)", dockerfile, re.M)
    images += re.findall(r"^\s*image: (\S+)", compose, re.M)
    assert len(images) == 7  # 2 Dockerfile stages; bot API, postgres, nginx, prometheus, grafana
    for image in images:  # prom/prometheus tags its versions v3.5.0
        assert re.search(r":v?\d+\.\d+[^:/]*$", image), f"{image} is not pinned to a version"
    assert "--require-hashes --prefix=/install -r requirements.lock" in dockerfile
    assert "--no-deps --prefix=/install ." in dockerfile
    assert "POSTGRES_PASSWORD:-" not in compose
    assert compose.count("${POSTGRES_PASSWORD:?") == 2


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
