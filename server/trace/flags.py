"""The office's side of counterfeit suspicion (疑似假冒): the flags raised by scans, their resolution, and
the scan records of a code."""
from __future__ import annotations

from server.kit import audit, clock
from server.kit.db import atomic, id_page
from server.kit.errors import Conflict, NotFound
from server.kit.schemas import Page
from server.models.trace import TraceCode, TraceFlag, TraceScan
from server.trace import codes
from server.trace.schemas import FlagOut, FlagQuery, FlagResolveIn, ScanOut
from server.trace.errors import TraceErrorCode


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
