"""The office's side of counterfeit suspicion (疑似假冒): the flags raised by scans, their resolution, and
the scan records of a code."""
from __future__ import annotations

from typing import Any

from server.kit import audit, clock
from server.kit.db import atomic, id_page
from server.kit.errors import Conflict, NotFound
from server.kit.schemas import Page
from server.models.trace import TraceCode, TraceFlag, TraceScan
from server.trace import codes
from server.trace.schemas import FlagOut, FlagQuery, FlagResolveIn, ScanOut
from server.trace.errors import TraceErrorCode

REPORT = "report"  # a flag raised by a counterfeit report (server/complaints)


def _out(f: TraceFlag, code: str) -> FlagOut:
    return FlagOut(id=f.id, code=code, batch_id=f.batch_id, reason=f.reason, data=f.data or {}, status=f.status,
                   note=f.note, created_at=f.created_at, resolved_at=f.resolved_at)


async def list_flags(query: FlagQuery) -> Page[FlagOut]:
    """Flags in a state, newest first."""
    q = TraceFlag.filter(status=query.status).select_related("trace_code")
    rows, next_cursor = await id_page(q, query.cursor, query.limit, newest_first=True)
    return Page[FlagOut](items=[_out(f, f.trace_code.code) for f in rows], next_cursor=next_cursor)


async def count_open() -> int:
    """Counterfeit flags waiting for the office."""
    return await TraceFlag.filter(status="open").count()


async def resolve(admin_id: int, flag_id: int, body: FlagResolveIn) -> FlagOut:
    """Dismiss (a false alarm) or confirm (counterfeit) an open flag, once."""
    async with atomic() as conn:
        f = await TraceFlag.get_or_none(id=flag_id, using_db=conn)
        if f is None:
            raise NotFound("flag not found")
        n = await TraceFlag.filter(id=flag_id, status="open").using_db(conn).update(
            status=body.status, note=body.note, resolved_by_id=admin_id, resolved_at=clock.now())
        if not n:
            raise Conflict(f"the flag is already {f.status}", code=TraceErrorCode.ALREADY_RESOLVED)
        await audit.record(admin_id, "trace.flag_" + body.status, "trace_flag", flag_id, {"note": body.note},
                           conn=conn)
        f = await TraceFlag.get(id=flag_id, using_db=conn).select_related("trace_code")
    return _out(f, f.trace_code.code)


async def scans(raw: str, limit: int = 200) -> list[ScanOut]:
    """A code's latest scans."""
    code = codes.normalize(raw)
    tc = await TraceCode.get_or_none(code=code) if code else None
    if tc is None:
        raise NotFound("trace code not found", code=TraceErrorCode.TRACE_CODE_NOT_FOUND)
    rows = await TraceScan.filter(trace_code_id=tc.id).order_by("-id").limit(limit)
    return [ScanOut.model_validate(s) for s in rows]


async def raise_for_report(code_id: int, complaint_id: int, conn: Any) -> int:
    """A counterfeit report (举报假冒, server/complaints) joins the code's counterfeit flag instead of a
    queue of its own: the open flag of the code if there is one, else its report flag (reopened if the
    office had closed it), else a new one. Returns the flag's id; inside the caller's transaction."""
    tc = await TraceCode.filter(id=code_id).using_db(conn).select_for_update().first()
    if tc is None:
        raise NotFound("trace code not found", code=TraceErrorCode.TRACE_CODE_NOT_FOUND)
    f = (await TraceFlag.filter(trace_code_id=tc.id, status="open").using_db(conn).order_by("id")
         .select_for_update().first()
         or await TraceFlag.filter(trace_code_id=tc.id, reason=REPORT).using_db(conn).select_for_update().first())
    if f is None:
        f = await TraceFlag.create(trace_code_id=tc.id, batch_id=tc.batch_id, reason=REPORT,
                                   data={"complaints": [complaint_id]}, using_db=conn)
    else:
        data = dict(f.data or {})
        data["complaints"] = [*data.get("complaints", []), complaint_id][-50:]
        upd: dict = {"data": data}
        if f.status != "open":
            upd.update(status="open", resolved_at=None, resolved_by_id=None,
                       note=("reopened by a report; before: " + f.note)[:200])
        await TraceFlag.filter(id=f.id).using_db(conn).update(**upd)
    await TraceCode.filter(id=tc.id).using_db(conn).update(flagged=True)
    return f.id


async def settle_for_report(admin_id: int, flag_id: int, confirmed: bool, note: str) -> None:
    """The office resolved a counterfeit report: its flag, if still open, is confirmed or dismissed
    with it (inside the caller's transaction)."""
    if await TraceFlag.filter(id=flag_id, status="open").exists():
        await resolve(admin_id, flag_id, FlagResolveIn(status="confirmed" if confirmed else "dismissed",
                                                       note=note[:200]))
