"""Every hand-written SQL statement (the hot writes' PostgreSQL implementations and the plain queries
beside them) is compared with the models: each table it names exists, each column it names on a
table (a qualified `alias."col"`, a SET, an INSERT column list, a RETURNING list) is a column of that
model, and each INSERT lists every column the model needs (NOT NULL without a default). A model
change that the SQL does not follow fails here, on any backend, before a PostgreSQL run would."""
from __future__ import annotations

import re

from tortoise import Tortoise

from live import checkout as live_checkout
from server.inventory import service as inventory
from server.orders import service as orders
from server.stations import service as stations

MODULES = (orders, stations, inventory, live_checkout)
KEYWORDS = {"where", "set", "on", "join", "left", "right", "inner", "using", "order", "group", "returning",
            "for", "limit", "as", "and", "or", "select", "from", "values", "having", "union"}
_TABLE = re.compile(r'(?i)\b(?:from|join|update|into)\s+"?([a-z_][a-z0-9_]*)"?(?:\s+(?:as\s+)?([a-z_]\w*))?')
_QUALIFIED = re.compile(r'\b([a-z_]\w*)\."([a-z_]\w*)"')
_INSERT = re.compile(r'(?is)insert\s+into\s+"?([a-z_]\w*)"?\s*\(([^)]*)\)')
_UPDATE = re.compile(r'(?is)\bupdate\s+"?([a-z_]\w*)"?(?:\s+[a-z_]\w*)?\s+set\s+(.*?)(?:\bwhere\b|\bfrom\b|\breturning\b|$)')
_WRITE_RETURNING = re.compile(r'(?is)(?:insert\s+into|\bupdate)\s+"?([a-z_]\w*)"?((?:(?!insert\s+into|\bupdate\s).)*?)'
                              r'\breturning\s+((?:(?:[a-z_]\w*\.)?"?[a-z_]\w*"?\s*,\s*)*(?:[a-z_]\w*\.)?"?[a-z_]\w*"?)')


def _tables() -> dict[str, dict]:
    """{table: {"columns": set, "required": set}} from the models Tortoise knows."""
    out = {}
    for model in Tortoise.apps["models"].values():
        meta = model._meta
        cols, required = set(), set()
        for name, col in meta.fields_db_projection.items():
            cols.add(col)
            f = meta.fields_map[name]
            if not f.null and f.default is None and not f.pk and not getattr(f, "auto_now", False) \
                    and not getattr(f, "auto_now_add", False):
                required.add(col)
        out[meta.db_table] = {"columns": cols, "required": required}
    return out


def statements() -> list[tuple[str, str]]:
    """(module.NAME, SQL) of every hand-written statement in the modules."""
    out = []
    for mod in MODULES:
        for name, value in vars(mod).items():
            if isinstance(value, str) and re.search(r'(?i)\b(select|insert|update)\b.*\b(from|into|set)\b', value, re.S):
                out.append((f"{mod.__name__}.{name}", value))
    return out


def problems(sql: str, tables: dict[str, dict]) -> list[str]:
    found = []
    aliases: dict[str, str] = {}
    for table, alias in _TABLE.findall(sql):
        if table in tables:
            aliases[table] = table
            if alias and alias.lower() not in KEYWORDS:
                aliases[alias] = table
    for alias, col in _QUALIFIED.findall(sql):
        table = aliases.get(alias)
        if table and col not in tables[table]["columns"]:
            found.append(f'{alias}."{col}": no column {col} in {table}')
    for table, cols in _INSERT.findall(sql):
        if table not in tables:
            found.append(f"INSERT INTO {table}: no such table")
            continue
        listed = {c.strip().strip('"') for c in cols.split(",")}
        found += [f"INSERT INTO {table}: no column {c}" for c in sorted(listed - tables[table]["columns"])]
        found += [f"INSERT INTO {table}: required column {c} missing"
                  for c in sorted(tables[table]["required"] - listed)]
    for table, sets in _UPDATE.findall(sql):
        if table not in tables:
            found.append(f"UPDATE {table}: no such table")
            continue
        for col in re.findall(r'(?:^|,)\s*"?([a-z_]\w*)"?\s*=', sets):
            if col not in tables[table]["columns"]:
                found.append(f"UPDATE {table} SET {col}: no such column")
    for table, _, returning in _WRITE_RETURNING.findall(sql):
        if table not in tables:
            continue
        for item in returning.split(","):
            col = item.strip().split(".")[-1].strip('"')
            if col not in tables[table]["columns"]:
                found.append(f"RETURNING {col}: no column of {table}")
    return found


def test_every_hand_written_statement_matches_the_models(app):
    tables = _tables()
    found = statements()
    names = {name for name, _ in found}
    # The hot writes' statements are all found (a rename must not make the test silently check nothing).
    assert {"server.orders.service._CHECKOUT_PG", "server.stations.service._CLAIM_SQL",
            "server.inventory.service._PG_LIVE_TAKE", "server.inventory.service._PG_LIVE_TAKE_MANY",
            "server.inventory.service._RESERVE_RETURNING",
            "live.checkout._SESSION_SQL"} <= names, names
    bad = [f"{name}: {p}" for name, sql in found for p in problems(sql, tables)]
    assert not bad, "\n".join(bad)


def test_the_comparison_sees_a_drifted_column_list(app):
    tables = _tables()
    assert problems('SELECT s."id", s."stok" FROM "skus" s JOIN "products" p ON p."id" = s."product_id"',
                    tables) == ['s."stok": no column stok in skus']
    assert problems('INSERT INTO "stock_moves" ("sku_id", "reason", "d_stock", "bogus") SELECT 1', tables) == [
        "INSERT INTO stock_moves: no column bogus", "INSERT INTO stock_moves: required column created_at missing"]
    assert problems("UPDATE pickups SET status = 'x', opencode = NULL WHERE id = $1 RETURNING id, orderid",
                    tables) == ["UPDATE pickups SET opencode: no such column", "RETURNING orderid: no column of pickups"]
