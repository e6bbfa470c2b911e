"""Statistics exports include the first-mile collections (农产品上行, #26 gap): CSV and the xlsx
workbook's sheet, per town and village, for the period asked."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

from openpyxl import load_workbook

from server.kit import clock
from tests.collection.conftest import collect

S = "/api/v1/console/stats"


async def test_collections_in_csv_and_xlsx_exports(cworld):
    w = cworld
    c = await collect(w, quantity=7, weight_g=3500)
    today = clock.local_today()
    q = {"from": today.isoformat(), "to": today.isoformat()}
    r = await w.admin.get(f"{S}/export/collections", params={**q, "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0]["level"] == "total" and int(rows[0]["collections"]) >= 1
    village = [x for x in rows if x["level"] == "village" and x["key"] == str(w.net.village.id)]
    assert len(village) == 1 and village[0]["is_poor_village"] == "True"
    assert int(village[0]["units"]) >= 7 and int(village[0]["value_fen"]) >= 7 * 1500
    assert any(x["level"] == "town" and x["key"] == c["town"] for x in rows)
    # the workbook of every table has the collections' sheet
    r = await w.admin.get(f"{S}/export/all", params=q)
    wb = load_workbook(io.BytesIO(r.content))
    sheet = wb["农产品上行揽收"]
    assert [x.value for x in sheet[2]][:3] == ["level", "key", "name"] and sheet[3][0].value == "total"
    # a period before it: nothing of it
    earlier = (today - timedelta(days=400)).isoformat()
    r = await w.admin.get(f"{S}/export/collections", params={"from": earlier, "to": earlier, "format": "csv"})
    assert str(w.net.village.id) not in [x["key"] for x in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")))]
    # the office only
    assert (await w.village_staff.get(f"{S}/export/collections", params={**q, "format": "csv"})).status_code == 403
