"""The layering rules of docs/architecture.md, checked on the source so they cannot erode."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def modules(folder: str) -> list[Path]:
    return sorted((BOT / folder).rglob("*.py"))


@pytest.mark.parametrize("folder", ["domain", "lifecycle", "storage", "apimart"])
def test_no_telegram_outside_the_glue(folder: str) -> None:
    for path in modules(folder):
        assert not {m for m in imports(path) if m.split(".")[0] == "telegram"}, path


def test_the_api_client_imports_nothing_of_the_bot() -> None:
    for path in modules("apimart"):
        assert all(not m.startswith("bot.") or m.startswith("bot.apimart") for m in imports(path))


def test_only_the_composition_root_picks_a_storage_backend() -> None:
    backends = {"bot.storage.tinydb", "bot.storage.memory", "tinydb", "asyncpg"}
    users = {
        path.relative_to(BOT).as_posix()
        for path in BOT.rglob("*.py")
        if imports(path) & backends and path.parent.name != "storage"
    }
    # __main__ only checks and repairs the embedded file before anything starts.
    assert users <= {"application.py", "__main__.py"}


def test_handlers_never_touch_storage() -> None:
    for path in modules("telegram/handlers"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        assert "storage" not in names, path
        assert not {m for m in imports(path) if m.startswith("bot.storage")}, path
