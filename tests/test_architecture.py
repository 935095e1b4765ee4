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


@pytest.mark.parametrize("folder", ["domain", "lifecycle", "storage"])
def test_the_lifecycle_speaks_its_own_language_not_the_video_providers(folder: str) -> None:
    """`VideoApi` raises the lifecycle's errors; only the adapter knows the apimart client."""
    for path in modules(folder):
        assert not {m for m in imports(path) if m.startswith("bot.apimart")}, path


def test_the_storage_protocol_takes_typed_changes() -> None:
    """No `**changes: Any`: every transition is a typed change from domain/transitions.py."""
    tree = ast.parse((BOT / "storage" / "base.py").read_text(encoding="utf-8"))
    protocol = next(
        n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "Storage"
    )
    for method in protocol.body:
        if isinstance(method, ast.AsyncFunctionDef | ast.FunctionDef):
            assert method.args.kwarg is None, method.name


def calls(path: Path, name: str) -> list[ast.Call]:
    """Calls of `name(...)` or `something.name(...)` in the module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id == name)
            or (isinstance(node.func, ast.Attribute) and node.func.attr == name)
        )
    ]


def test_callback_data_is_decoded_once() -> None:
    """One place reads a button (the router); handlers get the typed action on the context."""
    decoding = {
        path.relative_to(BOT).as_posix(): len(calls(path, "decode"))
        for path in modules("telegram")
        if path.name != "callback_data.py" and "bot.telegram.callback_data" in imports(path)
    }
    assert {path: n for path, n in decoding.items() if n} == {"telegram/routing.py": 1}


def test_the_translator_is_looked_up_once_per_update() -> None:
    """The access gate settles it for every handler after it (`context.t`); the error
    handler, which gets a context of its own, looks it up again."""
    looking_up = {
        path.name
        for path in modules("telegram/handlers")
        if any(
            isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name)
            and call.func.value.id == "context"
            for call in calls(path, "translator")
        )
    }
    assert looking_up == {"access.py", "errors.py"}
