"""Database: Tortoise configuration, transactions that flush jobs after commit, and lock helpers."""
from __future__ import annotations

import asyncio
import sqlite3
from contextlib import asynccontextmanager, nullcontext
from contextvars import Context, ContextVar
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Sequence, Type

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.backends.sqlite import executor as _sqlite_executor  # noqa: F401  (registers its adapters first)
from tortoise.expressions import RawSQL
from tortoise.models import Model
from tortoise.transactions import in_transaction
from server.kit import pools
from server.kit.schemas import decode_cursor, encode_cursor
from server.kit.errors import ValidationFailed


def _sqlite_datetime(value: datetime) -> str:
    """SQLite compares datetimes as text: a bound given in Asia/Shanghai (+08:00) against rows stored in
    UTC compares wrongly (a 'since local midnight' filter found nothing for 8 hours a day). Every aware
    datetime goes to SQLite in UTC, as Tortoise writes the rows; PostgreSQL compares instants itself."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.isoformat(" ")


# Tortoise registers isoformat(" ") (the offset as given) when its SQLite executor is imported (above).
sqlite3.register_adapter(datetime, _sqlite_datetime)

MODEL_MODULES = ["server.models"]
POOL_SIZE = 12
TRANSACTIONS_AT_ONCE = 6


def tortoise_config(db_url: str, *, with_aerich: bool = True) -> dict:
    url = db_url
    # A small pool per process (a ?maxsize= in the URL wins): queries here are short, and extra
    # backends in transactions only contend for the same hot rows and CPUs. 3-line checkouts on three
    # hot SKUs at 50 buyers on 2 cores: 20 connections ~750 orders/s, 8 ~1,000, 4-6 ~1,150; so at most
    # TRANSACTIONS_AT_ONCE transactions run at once (atomic() below), and the rest of the pool serves
    # reads: 20 operators on the console, whose pages read side by side, waited for a free connection
    # with 6 (closed loop p99 131 ms; 12: 103 ms). All of them opened at start and kept (asyncpg closes
    # idle ones above minsize after 5 minutes): a rush after a quiet hour (a flash sale's first
    # second) does not wait for connections to be opened.
    if url.startswith("postgres") and "maxsize" not in url:
        url += ("&" if "?" in url else "?") + f"minsize={POOL_SIZE}&maxsize={POOL_SIZE}"
    modules = MODEL_MODULES + (["aerich.models"] if with_aerich else [])
    return {
        "connections": {"default": url},
        "apps": {"models": {"models": modules, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


async def init_db(db_url: str, *, generate_schemas: bool = False) -> None:
    if db_url.startswith("sqlite://"):
        path = db_url[len("sqlite://"):]
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    config = tortoise_config(db_url)
    if db_url.startswith("postgres"):
        conn = expand_db_url(config["connections"]["default"])
        conn["credentials"]["reset"] = _keep_session
        config["connections"]["default"] = conn
    # Global fallback: request tasks are not children of the startup task that initialised Tortoise.
    await Tortoise.init(config=config, _enable_global_fallback=True)
    if generate_schemas:
        await Tortoise.generate_schemas(safe=True)


async def _keep_session(con: Any) -> None:
    """asyncpg's pool reset, run when a connection goes back to the pool. Its default sends a
    reset query (advisory unlocks, CLOSE ALL, UNLISTEN, RESET ALL): one more round trip after every
    query outside a transaction. Nothing here leaves session state behind (no session advisory
    locks, LISTEN or SET), so this does nothing; asyncpg still rolls back an open transaction."""


async def close_db() -> None:
    await Tortoise.close_connections()


def dialect() -> str:
    return Tortoise.get_connection("default").capabilities.dialect


# ---- transactions with after-commit hooks ---------------------------------------------------
_after_commit: ContextVar[list | None] = ContextVar("kz_after_commit", default=None)


@asynccontextmanager
async def atomic() -> AsyncIterator[Any]:
    """A transaction; callbacks registered with on_commit() run only after the outermost commits.
    An outermost transaction waits for one of the process's TRANSACTIONS_AT_ONCE slots first."""
    parent = _after_commit.get()
    mine: list = []
    token = _after_commit.set(mine)
    try:
        slot = pools.semaphore("transactions", TRANSACTIONS_AT_ONCE) if parent is None else nullcontext()
        async with slot, in_transaction() as conn:
            yield conn
    finally:
        _after_commit.reset(token)
    # Reached only when the block committed (an exception skips this).
    if parent is not None:
        parent.extend(mine)
    else:
        for fn in mine:
            await fn()


def on_commit(fn) -> None:
    """Run the async callable fn after the surrounding transaction commits (now if there is none)."""
    pending = _after_commit.get()
    if pending is None:
        return asyncio.ensure_future(fn())
    pending.append(fn)


def detached(coro: Any) -> asyncio.Task:
    """Run coro as a task of its own, outside the caller's transaction: a task started inside one
    inherits its context, so its queries would use the transaction's connection, which goes back to
    the pool when the caller's block ends. It starts from an empty context (Tortoise's global
    connections, no transaction, no pending on_commit callbacks). Held here until done, and
    cancelled by cancel_detached() when the process stops."""
    task = asyncio.get_running_loop().create_task(coro, context=Context())
    _detached.add(task)
    task.add_done_callback(_detached.discard)
    return task


_detached: set[asyncio.Task] = set()


async def cancel_detached() -> None:
    """Cancel the detached tasks still running (at shutdown, before the connections close)."""
    tasks = [t for t in _detached if not t.done()]
    for t in tasks:
        t.cancel()
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)


def in_atomic() -> bool:
    return _after_commit.get() is not None


# ---- names in the row's own statement ---------------------------------------------------------
def name_of(target: Type[Model], row: Type[Model], column: str) -> RawSQL:
    """The name of the target row whose id is in row's `column`, read in row's own statement (a
    subquery: a plain id column, not a relation) instead of a lookup after it, which under load is one
    more event-loop turn; '' when there is none. For .annotate(name=name_of(...))."""
    return RawSQL(f"COALESCE((SELECT x.name FROM {target._meta.db_table} x "
                  f"WHERE x.id = {row._meta.db_table}.{column}), '')")


# ---- locking -------------------------------------------------------------------------------
async def lock_rows(model: Type[Model], ids: Sequence[int], conn: Any) -> list[Model]:
    """SELECT ... FOR UPDATE the rows, always in id order so concurrent lockers never deadlock."""
    return await (model.filter(id__in=sorted(set(ids))).order_by("id")
                  .select_for_update().using_db(conn))


# ---- keyset pages by id ----------------------------------------------------------------------
async def id_page(qs: Any, cursor: str | None, limit: int, *, newest_first: bool = False
                  ) -> tuple[list, str | None]:
    """One keyset page of a queryset ordered by id (oldest first, or newest first), and the cursor
    of the next page (None at the end). A malformed cursor is a 422 naming `cursor`."""

    after = decode_cursor(cursor, 1)
    if after:
        if not isinstance(after[0], int):
            raise ValidationFailed.field("cursor", "malformed cursor")
        qs = qs.filter(id__lt=after[0]) if newest_first else qs.filter(id__gt=after[0])
    rows = await qs.order_by("-id" if newest_first else "id").limit(limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor([rows[-1].id]) if more and rows else None)
