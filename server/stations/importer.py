"""Bulk import of stations from a CSV or xlsx sheet (批量导入服务站): a dry run that reports every row's
problems before anything is written, then an all-or-nothing apply.

The sheet has a header row; columns are matched by their Chinese or English names (编码/code, 名称/name,
级别/level, 上级编码/parent_code, 乡镇/town, 行政村/village, 地址/address, 纬度/latitude, 经度/longitude,
营业时间/opening_hours, 联系人/contact_name, 联系电话/contact_phone, 贫困村/is_poor_village). A parent is an
existing station or a row of the same sheet. CSV may be UTF-8 (with or without a BOM) or GBK (what
Excel saves in Chinese Windows). Formula cells (=...) are refused: a sheet carries values, and a
formula would run in the next person's spreadsheet. A clean dry run keeps the file for
IMPORT_KEEP_SECONDS under a token; apply re-checks it against the database as it is then and writes
every row in one transaction, or none."""
from __future__ import annotations

import csv
import io
import secrets
import zipfile
from typing import Any

from pydantic import ValidationError
from tortoise.exceptions import IntegrityError

from server.kit import audit
from server.kit import redis as kr
from server.kit.db import atomic
from server.kit.errors import Conflict, Gone, ValidationFailed
from server.kit.schemas import Out
from server.models.stations import Station
from server.stations.network import NS, PARENT_LEVEL
from server.stations.schemas import StationIn
from server.stations.errors import StationCode

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 5000
IMPORT_KEEP_SECONDS = 900
COLUMNS = {
    "编码": "code", "code": "code", "名称": "name", "name": "name", "级别": "level", "level": "level",
    "上级编码": "parent_code", "parent_code": "parent_code", "乡镇": "town", "town": "town",
    "行政村": "village", "village": "village", "地址": "address", "address": "address",
    "纬度": "latitude", "latitude": "latitude", "经度": "longitude", "longitude": "longitude",
    "营业时间": "opening_hours", "opening_hours": "opening_hours", "联系人": "contact_name",
    "contact_name": "contact_name", "联系电话": "contact_phone", "contact_phone": "contact_phone",
    "贫困村": "is_poor_village", "is_poor_village": "is_poor_village",
}
REQUIRED = ("code", "name", "level")
LEVELS = {"县": "county", "县级": "county", "county": "county", "乡镇": "town", "镇": "town", "town": "town",
          "村": "village", "村级": "village", "village": "village"}
YES = {"是": True, "否": False, "yes": True, "no": False, "true": True, "false": False, "1": True, "0": False, "": False}
LABELS = {"code": "编码", "name": "名称", "level": "级别", "parent_code": "上级编码", "town": "乡镇",
          "village": "行政村", "address": "地址", "latitude": "纬度", "longitude": "经度",
          "opening_hours": "营业时间", "contact_name": "联系人", "contact_phone": "联系电话",
          "is_poor_village": "贫困村"}


class RowProblem(Out):
    row: int          # the sheet's line number (the header is line 1)
    column: str
    message: str


class ImportReport(Out):
    filename: str
    encoding: str
    rows: int
    problems: list[RowProblem]
    token: str | None = None     # a clean dry run: apply with this token
    created: int = 0
    applied: bool = False


def _file_error(message: str) -> ValidationFailed:
    return ValidationFailed(message,
                            code=StationCode.IMPORT_FILE_INVALID,
                            details=[{"field": "file", "message": message}])


def _read_csv(data: bytes) -> tuple[list[list[str]], str]:
    if data.startswith(b"\xef\xbb\xbf"):
        text, encoding = data[3:].decode("utf-8", errors="strict"), "UTF-8（带 BOM）"
    else:
        try:
            text, encoding = data.decode("utf-8"), "UTF-8"
        except UnicodeDecodeError:
            try:
                text, encoding = data.decode("gb18030"), "GBK"
            except UnicodeDecodeError:
                raise _file_error("文件编码无法识别：请另存为 UTF-8 或 GBK 编码的 CSV") from None
    try:
        return [row for row in csv.reader(io.StringIO(text, newline=""))], encoding
    except csv.Error as exc:
        raise _file_error(f"CSV 格式有误：{exc}") from None


def _read_xlsx(data: bytes) -> tuple[list[list[str]], str]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise _file_error("无法读取该 xlsx 文件：请用 Excel 或 WPS 另存为 .xlsx 后再试") from None
    try:
        ws = wb.worksheets[0]
        rows = []
        for i, cells in enumerate(ws.iter_rows(values_only=False)):
            if i > MAX_ROWS + 1:
                break
            out = []
            for c in cells:
                v = getattr(c, "value", None)
                if getattr(c, "data_type", None) == "f":
                    v = "=" + str(v).lstrip("=")
                out.append("" if v is None else str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
            rows.append(out)
        return rows, "xlsx"
    finally:
        wb.close()


def read_sheet(filename: str, data: bytes) -> tuple[list[dict[str, str]], list[int], str]:
    """The sheet's rows as {field: text}, their line numbers, and how it was read. File-level
    problems (size, type, encoding, no header) are a 422 naming `file`."""
    if len(data) > MAX_BYTES:
        raise _file_error(f"文件太大（{len(data) / 1048576:.1f} MB），上限 {MAX_BYTES // 1048576} MB")
    name = (filename or "").lower()
    if name.endswith(".csv"):
        table, encoding = _read_csv(data)
    elif name.endswith(".xlsx"):
        table, encoding = _read_xlsx(data)
    else:
        raise _file_error("只接受 .csv 或 .xlsx 文件")
    table = [r for r in table if any(str(c).strip() for c in r)]
    if not table:
        raise _file_error("文件是空的")
    header = [COLUMNS.get(str(h).strip().lstrip("\ufeff").lower(), COLUMNS.get(str(h).strip(), "")) for h in table[0]]
    missing = [LABELS[c] for c in REQUIRED if c not in header]
    if missing:
        raise _file_error("缺少列：" + "、".join(missing) + "（第一行应为列名，如 编码、名称、级别、上级编码）")
    if len(table) - 1 > MAX_ROWS:
        raise _file_error(f"行数超过 {MAX_ROWS} 行，请分批导入")
    rows, lines = [], []
    for n, raw in enumerate(table[1:], start=2):
        rows.append({f: str(raw[i]).strip() if i < len(raw) else "" for i, f in enumerate(header) if f})
        lines.append(n)
    return rows, lines, encoding


def _field_message(err: dict) -> tuple[str, str]:
    field = str(err["loc"][0]) if err.get("loc") else ""
    label = LABELS.get(field, field or "该行")
    return field, f"{label}：{err['msg']}"


async def _check(rows: list[dict[str, str]], lines: list[int]) -> tuple[list[RowProblem], list[dict]]:
    problems: list[RowProblem] = []
    plans: list[dict] = []

    def bad(line: int, field: str, message: str) -> None:
        problems.append(RowProblem(row=line, column=LABELS.get(field, field), message=message))

    codes = [r.get("code", "") for r in rows]
    parents = [r.get("parent_code", "") for r in rows if r.get("parent_code")]
    existing = {s["code"]: s for s in await Station.filter(code__in=list({*codes, *parents})).values("id", "code", "level", "town")}
    first_line: dict[str, int] = {}
    in_file: dict[str, dict] = {}
    for row, line in zip(rows, lines):
        formula = [f for f, v in row.items() if v.startswith(("=", "@"))]
        for f in formula:
            bad(line, f, "不接受公式单元格，请在表格中“粘贴为数值”后再导入")
        if formula:
            continue
        level = LEVELS.get(row.get("level", "").lower())
        if level is None:
            bad(line, "level", "级别应为 县、乡镇 或 村")
        code = row.get("code", "")
        if code in existing:
            bad(line, "code", f"编码 {code} 已存在（系统中已有该服务站）")
        elif code and code in first_line:
            bad(line, "code", f"编码 {code} 与第 {first_line[code]} 行重复")
        first_line.setdefault(code, line)
        data: dict[str, Any] = {k: v for k, v in row.items() if k not in ("parent_code", "level", "is_poor_village") and v != ""}
        poor = YES.get(row.get("is_poor_village", "").lower())
        if poor is None:
            bad(line, "is_poor_village", "贫困村应填 是 或 否")
        try:
            body = StationIn.model_validate({**data, "level": level or "village", "is_poor_village": bool(poor)})
        except ValidationError as exc:
            for err in exc.errors(include_url=False, include_input=False):
                field, message = _field_message(err)
                bad(line, field, message)
            continue
        if level is None:
            continue
        want = PARENT_LEVEL[level]
        parent_code = row.get("parent_code", "")
        parent_level = None
        town = ""
        if want is None and parent_code:
            bad(line, "parent_code", "县级中心没有上级")
        elif want is not None:
            if not parent_code:
                bad(line, "parent_code", f"需要填写上级（{'县级中心' if want == 'county' else '乡镇服务中心'}）的编码")
            elif parent_code in existing:
                parent_level, town = existing[parent_code]["level"], existing[parent_code]["town"]
            elif parent_code in in_file:
                parent_level, town = in_file[parent_code]["level"], in_file[parent_code]["town"]
            else:
                bad(line, "parent_code", f"上级编码 {parent_code} 不存在（系统和本表前面的行里都没有）")
            if parent_level is not None and parent_level != want:
                bad(line, "parent_code", f"上级 {parent_code} 不是{'县级中心' if want == 'county' else '乡镇服务中心'}")
        if level == "village" and not body.village:
            bad(line, "village", "村级服务站要填写行政村")
        plan = {**body.model_dump(), "town": body.town or town, "parent_code": parent_code}
        in_file.setdefault(code, plan)
        plans.append(plan)
    return problems, plans


def _key(token: str) -> str:
    return kr.key("station_import", token)


async def dry_run(filename: str, data: bytes) -> ImportReport:
    """Check a sheet without writing anything: every row's problems; a clean sheet gets a token."""
    rows, lines, encoding = read_sheet(filename, data)
    problems, _ = await _check(rows, lines)
    token = None
    if not problems:
        token = secrets.token_urlsafe(16)
        pipe = kr.redis().pipeline(transaction=True)
        pipe.hset(_key(token), mapping={"name": filename[:200], "data": data})
        pipe.expire(_key(token), IMPORT_KEEP_SECONDS)
        await pipe.execute()
    return ImportReport(filename=filename, encoding=encoding, rows=len(rows), problems=problems, token=token)


async def apply(token: str, *, actor_id: int | None) -> ImportReport:
    """Write a checked sheet: every row in one transaction, or none (the sheet is checked again first)."""
    if not isinstance(token, str) or not (10 <= len(token) <= 64):
        raise ValidationFailed.field("token", "malformed token")
    raw = await kr.redis().hgetall(_key(token))
    if not raw:
        raise Gone("the checked sheet has expired; check it again", code=StationCode.IMPORT_EXPIRED)
    stored = {(k.decode() if isinstance(k, bytes) else k): v for k, v in raw.items()}
    name = stored.get("name", b"")
    name = name.decode() if isinstance(name, bytes) else str(name)
    data = stored["data"] if isinstance(stored.get("data"), bytes) else str(stored.get("data", "")).encode()
    rows, lines, encoding = read_sheet(name, data)
    problems, plans = await _check(rows, lines)
    report = ImportReport(filename=name, encoding=encoding, rows=len(rows), problems=problems)
    if problems:
        return report
    ids: dict[str, int] = {}
    order = {"county": 0, "town": 1, "village": 2}
    try:
        async with atomic() as conn:
            for p in sorted(plans, key=lambda p: order[p["level"]]):
                parent_code = p.pop("parent_code")
                parent_id = ids.get(parent_code)
                if parent_code and parent_id is None:
                    parent_id = (await Station.filter(code=parent_code).using_db(conn).first()).id
                st = await Station.create(using_db=conn, **{**p, "parent_id": parent_id})
                ids[st.code] = st.id
            await audit.record(actor_id, "station.import", "station", "", {"file": name, "created": len(ids)},
                               conn=conn)
    except IntegrityError:
        raise Conflict("a station code in the sheet was taken meanwhile; nothing was written; check it again",
                       code=StationCode.STATION_CODE_TAKEN) from None
    await kr.redis().delete(_key(token))
    await kr.bump_namespace(NS)
    return report.model_copy(update={"created": len(ids), "applied": True})
