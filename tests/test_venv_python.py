"""tools/venv_python.py: which Python `make` builds .venv with."""

from __future__ import annotations

import sys
from pathlib import Path

from tools.venv_python import choose


def fake_python(path: Path, version: tuple[int, int]) -> Path:
    """An executable answering the check as a Python of `version` would."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ok = 0 if version == (3, 12) else 1
    path.write_text(f"#!/bin/sh\nexit {ok}\n")
    path.chmod(0o755)
    return path


def test_python_3_12_on_the_path_comes_first(tmp_path: Path) -> None:
    on_path = fake_python(tmp_path / "bin" / "python3.12", (3, 12))
    fake_python(tmp_path / "pyenv" / "versions" / "3.12.9" / "bin" / "python3.12", (3, 12))
    chosen = choose(str(tmp_path / "bin"), tmp_path / "pyenv", sys.executable)
    assert chosen == str(on_path)


def test_the_newest_3_12_that_pyenv_installed_is_taken_when_the_path_has_none_that_runs(
    tmp_path: Path,
) -> None:
    fake_python(tmp_path / "bin" / "python3.12", (3, 11))  # a shim of a version not selected
    versions = tmp_path / "pyenv" / "versions"
    for release in ("3.12.1", "3.12.10", "3.12.9", "3.13.0"):
        fake_python(versions / release / "bin" / "python3.12", (3, 12))
    (versions / "3.12.11-dev").mkdir()  # not a release
    chosen = choose(str(tmp_path / "bin"), tmp_path / "pyenv", sys.executable)
    assert chosen == str(versions / "3.12.10" / "bin" / "python3.12")


def test_without_3_12_the_python_running_it_is_used(tmp_path: Path) -> None:
    fake_python(tmp_path / "pyenv" / "versions" / "3.12.2" / "bin" / "python3.12", (3, 11))
    assert choose(str(tmp_path / "bin"), tmp_path / "pyenv", "python3") == "python3"
    assert choose("", tmp_path / "nowhere", "python3") == "python3"
