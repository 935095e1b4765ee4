"""Prints the Python that `make` builds .venv with: CPython 3.12 where the machine has one (on
PATH, or installed by pyenv), else the Python running this (3.11 at least).

Why 3.12: coverage measures it through `sys.monitoring` (COVERAGE_CORE=sysmon, set by
`make test`), far cheaper than 3.11's tracer, which is called for every Python function call in
the process: `make test` takes 1 min 30 s there, about 2 min on 3.11, same tests, same two cores
(docs/benchmarks.md). The same tests pass on both; the Docker image runs 3.11. `make
PYTHON=python3.11 ...` on a fresh clone (or after `make clean`) chooses another one by hand.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

WANTED = (3, 12)
# A Python that can make a venv with pip in it (a pyenv shim of a version not selected fails).
CHECK = f"import ensurepip, sys, venv; sys.exit(sys.version_info[:2] != {WANTED})"


def candidates(path: str, pyenv_root: Path) -> Iterator[str]:
    """python3.12 on `path`, then pyenv's 3.12 releases, newest first."""
    on_path = shutil.which("python{}.{}".format(*WANTED), path=path)
    if on_path:
        yield on_path
    releases: list[tuple[tuple[int, ...], Path]] = []
    for folder in (pyenv_root / "versions").glob("{}.{}.*".format(*WANTED)):
        if re.fullmatch(r"\d+\.\d+\.\d+", folder.name):
            releases.append((tuple(map(int, folder.name.split("."))), folder))
    for _, folder in sorted(releases, reverse=True):
        yield str(folder / "bin" / "python{}.{}".format(*WANTED))


def usable(python: str) -> bool:
    try:
        return (
            subprocess.run([python, "-c", CHECK], capture_output=True, timeout=60).returncode == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def choose(path: str, pyenv_root: Path, fallback: str) -> str:
    return next((python for python in candidates(path, pyenv_root) if usable(python)), fallback)


if __name__ == "__main__":
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    print(choose(os.environ.get("PATH", ""), root, sys.executable))
