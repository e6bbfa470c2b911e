"""aerich migrations (PostgreSQL): apply them (`migrate`) and generate the next one from the models
(`makemigrations`, for developers). SQLite (the embedded default) gets its schema generated instead."""
from __future__ import annotations

import secrets
from pathlib import Path

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
APP = "models"


def _command(db_url: str):
    from aerich import Command

    from server.kit.db import tortoise_config

    return Command(tortoise_config=tortoise_config(db_url), app=APP, location=str(MIGRATIONS_DIR))


async def apply(db_url: str) -> list[str]:
    """Apply every pending migration in one transaction each; returns the applied versions."""
    from tortoise import Tortoise

    cmd = _command(db_url)
    try:
        if not (MIGRATIONS_DIR / APP).exists():
            raise RuntimeError(f"no migrations in {MIGRATIONS_DIR / APP}")
        await cmd.init()
        return await cmd.upgrade(run_in_transaction=True)
    finally:
        await Tortoise.close_connections()


async def make(name: str, server_url: str) -> str:
    """Generate the next migration by diffing the models against a scratch database at the head."""
    import asyncpg
    from tortoise import Tortoise

    scratch = "kazuo_makemigrations_" + secrets.token_hex(3)
    admin = server_url.replace("postgres://", "postgresql://", 1)
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{scratch}"')
    await conn.close()
    db_url = server_url.rsplit("/", 1)[0].replace("postgresql://", "postgres://", 1) + "/" + scratch
    try:
        cmd = _command(db_url)
        if not (MIGRATIONS_DIR / APP).exists():
            await cmd.init_db(safe=True)
            result = "initial migration generated"
        else:
            await cmd.init()
            await cmd.upgrade(run_in_transaction=True)
            await cmd.init()  # aerich reads the head's models from the database: again, now that it has them
            result = await cmd.migrate(name, no_input=True) or "no changes"
        await Tortoise.close_connections()
        return result
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        await conn.close()
