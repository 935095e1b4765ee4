"""What the benchmarks share: the bot as its own process against the fakes, and the figures."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from tests.harness import API_KEY, TOKEN

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


async def start_bot(
    telegram_url: str, apimart_url: str, data_dir: Path, log: Path, env: Mapping[str, str]
) -> asyncio.subprocess.Process:
    """`python -m bot` against the fakes, as an operator would start it."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "APIMART_"))}
    base |= {
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "APIMART_API_KEY": API_KEY,
        "TELEGRAM_API_URL": telegram_url,
        "APIMART_BASE_URL": apimart_url,
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
        **env,
    }
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=log.parent, env=base, stdout=out, stderr=out
        )


def peak_mib(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def p95(values: list[float]) -> float | None:
    return percentile(values, 0.95)


def ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} ms"


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


def table(rows: list[dict[str, str]]) -> str:
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row[h] for h in header) + " |" for row in rows]
    return "\n".join(lines)


def replace_section(document: Path, name: str, body: str) -> None:
    """Put `body` between the document's `<!-- name:start -->` and `<!-- name:end -->`
    markers (appended with them when missing), leaving the rest as written by hand."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = document.read_text(encoding="utf-8") if document.exists() else ""
    block = f"{start}\n{body.strip()}\n{end}"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    document.write_text(text, encoding="utf-8")
