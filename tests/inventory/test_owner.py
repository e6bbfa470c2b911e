"""One owner for stock: an AST walk of the code fails when a SKU's stock or reserved units or a live
tie-in's quota is written anywhere outside server/inventory/ (ORM updates and creates, model
attributes, hand-written SQL). Runs without a database."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("server", "live", "jobs", "miniprogram_api")
OWNER = ROOT / "server" / "inventory"
SKIP = (ROOT / "server" / "migrations",)  # DDL, not writes
COLUMNS = {"stock", "reserved", "remaining", "quota"}
# Calls that write their keyword arguments to a row (Model.create(...), qs.update(...), Model(...)).
WRITING_CALLS = {"update", "create", "bulk_create", "update_or_create", "get_or_create"}
OWNED_MODELS = {"Sku", "LiveTieIn"}
_SQL = re.compile(r'(?is)\b(?:update\s+"?(?:skus|live_tieins)"?\b[^;]*?\bset\b[^;]*?"?\b(?:stock|reserved|remaining|quota)'
                  r'"?\s*=|insert\s+into\s+"?(?:skus|live_tieins)"?\b)')


def _files() -> list[Path]:
    out = []
    for pkg in PACKAGES:
        for f in (ROOT / pkg).rglob("*.py"):
            if OWNER in f.parents or any(s in f.parents for s in SKIP):
                continue
            out.append(f)
    return sorted(out)


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):  # an f-string: its literal parts, joined
        return ["".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))]
    return []


def writes(source: str) -> list[tuple[int, str]]:
    """(line, what) of every write of an owned column in this source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            # Another model's own write (LiveConsent.create(quota=...): an agreed cap, not stock) is not ours.
            other_model = (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name)
                           and f.value.id[:1].isupper() and f.value.id not in OWNED_MODELS)
            if (name in WRITING_CALLS and not other_model) or name in OWNED_MODELS:
                for kw in node.keywords:
                    if kw.arg in COLUMNS:
                        found.append((node.lineno, f"{name}({kw.arg}=...)"))
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                for sub in ast.walk(t):
                    if isinstance(sub, ast.Attribute) and sub.attr in COLUMNS:
                        found.append((node.lineno, f".{sub.attr} ="))
                    if isinstance(sub, ast.Subscript) and any(s in COLUMNS for s in _strings(sub.slice)):
                        found.append((node.lineno, f"[{_strings(sub.slice)[0]!r}] ="))
        elif isinstance(node, ast.Dict):  # {"stock": F("stock") + n}, for an update(**upd)
            for k, v in zip(node.keys, node.values):
                if k is not None and any(s in COLUMNS for s in _strings(k)) and any(
                        isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id == "F"
                        for c in ast.walk(v)):
                    found.append((node.lineno, f"{{{_strings(k)[0]!r}: F(...)}}"))
        for text in _strings(node) if isinstance(node, (ast.Constant, ast.JoinedStr)) else []:
            if _SQL.search(text):
                found.append((node.lineno, "SQL writing skus/live_tieins"))
    return sorted(set(found))


def test_stock_reserved_and_live_quota_are_written_only_by_the_inventory():
    offenders = [f"{f.relative_to(ROOT)}:{line}: {what}" for f in _files() for line, what in writes(f.read_text())]
    assert not offenders, "stock written outside server/inventory/:\n" + "\n".join(offenders)


def test_the_walk_sees_every_kind_of_write():
    """The detector itself: each way the old code wrote stock is caught, and reads are not."""
    caught = writes('''
await Sku.filter(id=1).update(stock=F("stock") - 1)
await Sku.create(product=p, spec="x", price=1, list_price=1, stock=5)
await LiveTieIn.filter(id=t).update(remaining=0)
LiveTieIn(quota=3)
upd["quota"] = F("quota") + 1
sku.reserved += 2
SQL = 'UPDATE "skus" SET "stock" = "stock" + $1 WHERE "id" = $2'
PG = f"""UPDATE "live_tieins" SET "remaining" = "remaining" - {n}"""
upd = {"reserved": F("reserved") - qty}
''')
    assert sorted({line for line, _ in caught}) == [2, 3, 4, 5, 6, 7, 8, 9, 10], caught
    assert writes('''
n = sku.stock + sku.reserved
rows = await Sku.filter(stock__gte=1).values("stock", "reserved")
out = TieInOut(quota=t.quota, remaining=t.remaining)
audit = {"stock": sku.stock, "delta": delta}
SQL = 'SELECT s."stock" FROM "skus" s FOR NO KEY UPDATE'
await LiveConsent.create(sku_id=1, quota=30)
''') == []
