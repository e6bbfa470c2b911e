"""Bank transfer batches (银行批量代发): an approved bank batch is exported as xlsx in the one column
template the bank takes (KAZUO_PAYOUT_BANK_COLUMNS: name, account, bank, branch, amount in yuan to 2
decimals, remark), and the bank's result file (the same rows plus status and message columns) is
imported back. The remark carries the line's out_bill_no, which is how a result row finds its line.

An import is checked whole before anything is written: a row naming no line of this batch, a row
whose amount, account or name differs from the line, a status word we do not know, the same line
twice, or a line already final with another outcome refuses the whole file (422 listing every row's
problem) and moves nothing. A clean file finishes its lines in one transaction; importing the same
file again changes nothing."""
from __future__ import annotations

import io
import zipfile
from decimal import Decimal

from openpyxl import Workbook, load_workbook

from server.kit import audit, clock, runtime, sheets
from server.kit.db import atomic
from server.kit.errors import Conflict, NotFound, ValidationFailed
from server.kit.money import fen_of_yuan
from server.models.payouts import PayeeMethod, PayoutBatch, PayoutLine
from server.payouts import service
from server.payouts.schemas import ImportResultOut
from server.payouts.errors import PayoutCode

FIELDS = ("name", "account", "bank", "branch", "amount", "remark")
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000


def _template(text: str, allowed: tuple[str, ...]) -> list[tuple[str, str]]:
    cols = []
    for part in text.split(","):
        title, _, field = part.strip().rpartition(":")
        if not title or field not in allowed:
            raise ValueError(f"bad payout column {part!r}: give 列名:field with field one of {', '.join(allowed)}")
        cols.append((title.strip(), field))
    return cols


def columns() -> list[tuple[str, str]]:
    """The export's columns: (title, field), in the bank's order."""
    return _template(runtime.settings().payout_bank_columns, FIELDS)


def result_columns() -> list[tuple[str, str]]:
    return columns() + _template(runtime.settings().payout_bank_result_columns, ("status", "message"))


def yuan(fen: int) -> str:
    """An amount in yuan with 2 decimals, as text (the bank reads exactly what is written)."""
    return f"{Decimal(fen).scaleb(-2):.2f}"


async def _bank_batch(batch_id: int) -> PayoutBatch:
    batch = await PayoutBatch.filter(id=batch_id).first()
    if batch is None:
        raise NotFound("payout batch not found")
    if batch.method != PayeeMethod.BANK:
        raise Conflict("not a bank batch", code=PayoutCode.NOT_BANK_BATCH)
    if batch.status not in ("approved", "done"):
        raise Conflict(f"the batch is {batch.status}: a bank file exists once it is approved", code=PayoutCode.NOT_APPROVED)
    return batch


def _values(line: PayoutLine) -> dict:
    return {"name": line.payee_name, "account": line.bank_account, "bank": line.bank_name,
            "branch": line.bank_branch, "amount": yuan(line.amount_fen), "remark": line.out_bill_no}


async def export_xlsx(batch_id: int, *, actor_id: int | None) -> tuple[str, bytes]:
    """(file name, xlsx bytes) of an approved bank batch: one row per line (audited)."""
    batch = await _bank_batch(batch_id)
    cols = columns()
    wb = Workbook()
    ws = wb.active
    ws.title = "代发明细"
    ws.append(sheets.row([t for t, _ in cols]))
    lines = await PayoutLine.filter(batch_id=batch_id).exclude(status="cancelled").order_by("id")
    for line in lines:
        v = _values(line)
        ws.append(sheets.row([v[f] for _, f in cols]))
    buf = io.BytesIO()
    wb.save(buf)
    await PayoutBatch.filter(id=batch_id).update(exported_at=clock.now())
    await audit.record(actor_id, "payout.export", "payout_batch", batch_id, {"rows": len(lines)})
    return f"payout-batch-{batch.id}.xlsx", buf.getvalue()


def _read(data: bytes) -> list[list[str]]:
    if len(data) > MAX_BYTES:
        raise ValidationFailed.field("file", "the file is too large")
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise ValidationFailed.field("file", "not an xlsx workbook") from None
    try:
        rows = []
        for i, cells in enumerate(wb.worksheets[0].iter_rows(values_only=True)):
            if i > MAX_ROWS:
                raise ValidationFailed.field("file", f"more than {MAX_ROWS} rows")
            rows.append(["" if c is None else (f"{c:.2f}" if isinstance(c, float) else str(c)).strip()
                         for c in cells])
        return [r for r in rows if any(r)]
    finally:
        wb.close()


def parse_yuan(text: str) -> int | None:
    """An amount in yuan ('1,234.50') as fen, from a bank file's cell (a leading ' is Excel's text mark)."""
    return fen_of_yuan(text.lstrip("'"))


def _status(word: str) -> bool | None:
    s = runtime.settings()
    w = word.strip().upper()
    if w in {x.upper() for x in s.payout_bank_success_words}:
        return True
    if w in {x.upper() for x in s.payout_bank_failure_words}:
        return False
    return None


async def import_result(batch_id: int, data: bytes, *, actor_id: int) -> ImportResultOut:
    """Record the bank's result file of a batch: each row's line succeeds or fails (all or nothing)."""
    await _bank_batch(batch_id)
    rows = _read(data)
    cols = result_columns()
    if not rows:
        raise ValidationFailed.field("file", "the file is empty")
    header = rows[0]
    where = {}
    for title, field in cols:
        if title not in header:
            raise ValidationFailed.field("file", f"column {title} is missing")
        where[field] = header.index(title)
    lines = {x.out_bill_no: x for x in await PayoutLine.filter(batch_id=batch_id)}
    problems, outcomes, seen = [], [], set()
    for n, raw in enumerate(rows[1:], start=2):
        r = {f: (raw[i] if i < len(raw) else "") for f, i in where.items()}
        line = lines.get(r["remark"].lstrip("'"))
        if line is None or line.status == "cancelled":
            problems.append({"row": n, "field": "remark", "message": f"no line {r['remark']!r} in this batch"})
            continue
        if line.id in seen:
            problems.append({"row": n, "field": "remark", "message": "the same line twice"})
            continue
        seen.add(line.id)
        if parse_yuan(r["amount"]) != line.amount_fen:
            problems.append({"row": n, "field": "amount",
                             "message": f"{r['amount']} differs from the line's {yuan(line.amount_fen)}"})
        if r["account"].replace(" ", "").lstrip("'") != line.bank_account or r["name"] != line.payee_name:
            problems.append({"row": n, "field": "account", "message": "the account or name differs from the line"})
        ok = _status(r["status"])
        if ok is None:
            problems.append({"row": n, "field": "status", "message": f"unknown status {r['status']!r}"})
            continue
        if line.status in ("succeeded", "failed") and (line.status == "succeeded") != ok:
            problems.append({"row": n, "field": "status", "message": f"the line is already {line.status}"})
        outcomes.append((line, ok, r["message"]))
    if problems:
        raise ValidationFailed(f"the result file was not recorded: {len(problems)} problem(s)",
                               code=PayoutCode.BAD_RESULT_FILE, details=problems)
    done = {True: 0, False: 0}
    unchanged = 0
    async with atomic() as conn:
        for line, ok, message in outcomes:
            if await service.finish_in(conn, line.id, success=ok, why=message or "BANK_FAILED", actor_id=actor_id):
                done[ok] += 1
            else:
                unchanged += 1
        await PayoutBatch.filter(id=batch_id).using_db(conn).update(result_imported_at=clock.now())
        await audit.record(actor_id, "payout.import_result", "payout_batch", batch_id,
                           {"rows": len(outcomes), "succeeded": done[True], "failed": done[False],
                            "unchanged": unchanged}, conn=conn)
    return ImportResultOut(batch_id=batch_id, rows=len(outcomes), succeeded=done[True], failed=done[False],
                           unchanged=unchanged)
