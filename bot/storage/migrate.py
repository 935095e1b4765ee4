"""`python -m bot migrate-to-postgres`: copy the embedded files into PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from bot.storage.postgres import PostgresStorage
from bot.storage.tinydb import DB_DIR, TinyDBStorage


async def copy_to_postgres(data_dir: Path, database_url: str) -> str:
    """Copy users, tasks (live and history), access lists, /stats totals and the credits
    ledger; say what was copied. Rows already in PostgreSQL are kept, so running it twice is
    harmless."""
    snapshot = TinyDBStorage(data_dir).export()
    target = await PostgresStorage.connect(database_url)
    try:
        await target.import_snapshot(snapshot)
    finally:
        await target.close()
    return (
        f"copied {len(snapshot.users)} users and {len(snapshot.tasks)} tasks, and "
        f"{len(snapshot.ledger)} ledger movements, from {data_dir} into PostgreSQL; "
        "start the bot with DATABASE_URL set to use it.\n"
        f"{data_dir / DB_DIR} still holds the old copy (users' prompts and history): delete it "
        "once the bot works on PostgreSQL"
    )
