"""No function of the bot above 10 by radon's cyclomatic complexity.

ruff's C901 (McCabe) holds the same limit, but McCabe does not count boolean operators and
radon does: `if a and b or c` is one branch to McCabe and three to radon.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from radon.complexity import cc_visit
from radon.visitors import Class, Function

BOT = Path(__file__).resolve().parent.parent / "bot"
LIMIT = 10
# (file under bot/, qualified name) of a function allowed above the limit.
ALLOWED: set[tuple[str, str]] = set()  # none: split it instead


def functions(blocks: list[Function | Class]) -> Iterator[Function]:
    """Every function, method and nested function; a class is only the sum of its methods."""
    for block in blocks:
        if isinstance(block, Class):
            yield from functions([*block.methods, *block.inner_classes])
        else:
            yield block
            yield from functions(block.closures)


def too_complex() -> set[tuple[str, str, int]]:
    found = set()
    for path in sorted(BOT.rglob("*.py")):
        name = path.relative_to(BOT).as_posix()
        for block in functions(cc_visit(path.read_text(encoding="utf-8"))):
            if block.complexity > LIMIT:
                found.add((name, block.fullname, block.complexity))
    return found


def test_no_function_is_above_the_limit() -> None:
    over = sorted(f for f in too_complex() if (f[0], f[1]) not in ALLOWED)
    assert not over, "above {} by radon's count: {}".format(
        LIMIT, ", ".join(f"{name} {fullname} ({score})" for name, fullname, score in over)
    )


def test_the_walk_sees_methods_and_nested_functions() -> None:
    source = (
        "class A:\n"
        "    def m(self, a, b):\n"
        "        return a and b\n"
        "def f(a, b, c):\n"
        "    def g():\n"
        "        return a or b or c\n"
        "    return g\n"
    )
    assert {(b.fullname, b.complexity) for b in functions(cc_visit(source))} == {
        ("A.m", 2),
        ("f", 1),
        ("g", 3),
    }
