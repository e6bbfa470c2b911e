"""Bulk station import: a 50-row sheet with 3 bad rows is reported row by row and writes nothing; fixed,
it applies all at once. GBK and BOM CSVs, xlsx, formula cells, existing codes, size and type."""
from __future__ import annotations

import io
import secrets

HEADER = "编码,名称,级别,上级编码,乡镇,行政村,联系电话,贫困村"


def _sheet(prefix: str, bad: bool) -> str:
    lines = [HEADER, f"{prefix}-T,{prefix}镇服务中心,乡镇,{prefix}-C,{prefix}镇,,0421-1234567,否"]
    lines.insert(1, f"{prefix}-C,{prefix}县级中心,县,,,,,否")
    for i in range(48):
        village = f"第{i}村"
        lines.append(f"{prefix}-V{i:02d},{village}服务站,村,{prefix}-T,,{village},,{'是' if i % 5 == 0 else '否'}")
    if bad:
        lines[10] = lines[10].replace(",村,", ",大队,")                  # a level that does not exist
        lines[20] = lines[20].replace(f"{prefix}-T,", "NOPE-PARENT,")    # an unknown parent
        lines[30] = lines[30].replace(",否", ",=1+1")                    # a formula cell
    return "\n".join(lines) + "\n"


async def _check(admin, name: str, data: bytes):
    return await admin.post("/api/v1/console/stations/import", files={"file": (name, data)})


async def test_fifty_rows_three_bad_reported_then_fixed_and_applied(admin):
    prefix = "IM" + secrets.token_hex(2).upper()
    r = await _check(admin, "stations.csv", _sheet(prefix, bad=True).encode())
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["rows"] == 50 and rep["token"] is None
    assert sorted({p["row"] for p in rep["problems"]}) == [11, 21, 31], rep["problems"]
    from server.models.stations import Station

    assert not await Station.filter(code__startswith=prefix).exists()   # a dry run writes nothing
    r = await _check(admin, "stations.csv", _sheet(prefix, bad=False).encode("gbk"))
    rep = r.json()
    assert rep["problems"] == [] and rep["encoding"] == "GBK" and rep["token"]
    r = await admin.post(f"/api/v1/console/stations/import/{rep['token']}/apply")
    assert r.status_code == 200 and r.json()["created"] == 50 and r.json()["applied"]
    village = await Station.get(code=f"{prefix}-V07")
    town = await Station.get(code=f"{prefix}-T")
    assert village.parent_id == town.id and village.town == f"{prefix}镇"
    # the same sheet again: every code exists now; the token is spent
    r = await admin.post(f"/api/v1/console/stations/import/{rep['token']}/apply")
    assert r.status_code == 410
    rep = (await _check(admin, "stations.csv", b"\xef\xbb\xbf" + _sheet(prefix, bad=False).encode())).json()
    assert rep["encoding"] == "UTF-8（带 BOM）" and len(rep["problems"]) == 50
    assert "已存在" in rep["problems"][0]["message"]


async def test_xlsx_with_formula_and_bad_files(admin):
    from openpyxl import Workbook

    prefix = "IX" + secrets.token_hex(2).upper()
    wb = Workbook()
    ws = wb.active
    ws.append(["code", "name", "level", "parent_code"])
    ws.append([f"{prefix}-C", "县级中心", "county", None])
    ws.append([f"{prefix}-T", "=CONCAT(\"乡\",\"镇\")", "town", f"{prefix}-C"])
    buf = io.BytesIO()
    wb.save(buf)
    rep = (await _check(admin, "s.xlsx", buf.getvalue())).json()
    assert [p["row"] for p in rep["problems"]] == [3] and "公式" in rep["problems"][0]["message"]
    r = await _check(admin, "s.txt", b"code,name,level\n")
    assert r.status_code == 422 and "只接受" in r.json()["error"]["message"]
    r = await _check(admin, "s.csv", b"foo,bar\n1,2\n")
    assert r.status_code == 422 and "缺少列" in r.json()["error"]["message"]
    r = await _check(admin, "s.xlsx", b"not a zip")
    assert r.status_code == 422 and "xlsx" in r.json()["error"]["message"]
    r = await _check(admin, "s.csv", b"code,name,level\n" + b"x" * (11 * 1024 * 1024))
    assert r.status_code == 422 and "文件太大" in r.json()["error"]["message"]
