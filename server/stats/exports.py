"""CSV and Excel (xlsx) exports of the statistics tables (统计报表导出)."""
from __future__ import annotations

import csv
import io
import re
from datetime import date

from server.collection import service as collection_service
from server.kit import sheets
from server.kit.errors import NotFound
from server.stats import service

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _tables(start: date, end: date, names: tuple[str, ...]) -> list[tuple[str, list[str], list[list]]]:
    summary = await service.summary(start, end)
    out = []
    for name in names:
        if name == "collections":
            out.append((name, COLLECTION_COLS, await _collection_rows(start, end)))
        elif name == "daily":
            rows = await service.daily_series(start, end)
            cols = list(rows[0]) if rows else ["day", "orders", "gmv_fen", "refund_fen", "farm_gmv_fen",
                                              "live_gmv_fen", "poor_income_fen"]
            out.append((name, cols, [[r[c] for c in cols] for r in rows]))
        else:
            cols, rows = service.flatten(summary, name)
            out.append((name, cols, rows))
    return out


COLLECTION_COLS = ["level", "key", "name", "is_poor_village", "collections", "units", "weight_g", "value_fen",
                   "received_units", "poor_village_value_share"]


async def _collection_rows(start: date, end: date) -> list[list]:
    """农产品上行: the period's first-mile collections (local dates, both ends): the total, then each
    town and village (the received units and the poor villages' value share on the total row)."""
    st = await collection_service.stats(start, end)
    rows = [["total", "", "合计", None, st.collections, st.units, st.weight_g, st.value_fen, st.received_units,
             st.poor_village_value_share]]
    for level, places in (("town", st.by_town), ("village", st.by_village)):
        rows += [[level, p.key, p.name, p.is_poor_village if level == "village" else None, p.collections, p.units,
                  p.weight_g, p.value_fen, None, None] for p in places]
    return rows


def _check(name: str) -> None:
    if name != "all" and name not in service.EXPORTS:
        raise NotFound(f"no table {name!r}; tables: {', '.join(service.EXPORTS)}")


async def export_csv(name: str, start: date, end: date) -> bytes:
    """One table as CSV (UTF-8 with BOM so Excel shows the Chinese labels)."""
    _check(name)
    if name == "all":
        raise NotFound("CSV exports one table at a time; use xlsx for all")
    [(_, cols, rows)] = await _tables(start, end, (name,))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(cols)
    for r in rows:
        w.writerow(sheets.row(r))
    return ("\ufeff" + buf.getvalue()).encode()


async def export_xlsx(name: str, start: date, end: date) -> bytes:
    """One table (or "all": one sheet per table) as an xlsx workbook."""
    from openpyxl import Workbook

    _check(name)
    names = service.EXPORTS if name == "all" else (name,)
    wb = Workbook()  # not write_only: its row generators warn when collected after save
    wb.remove(wb.active)
    for tname, cols, rows in await _tables(start, end, names):
        title = re.sub(r"[\[\]:*?/\\]", "·", service.EXPORT_TITLES.get(tname, tname))[:31]  # Excel forbids these
        ws = wb.create_sheet(title=title)
        ws.append([f"{service.EXPORT_TITLES.get(tname, tname)} {start.isoformat()} ~ {end.isoformat()}"])
        ws.append(cols)
        for r in rows:
            ws.append(sheets.row(r))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
