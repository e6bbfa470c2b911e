"""The office's traceability pages (质量追溯): batches and where they went, recalls (start, progress of
buyers reached, report), and the counterfeit flags (疑似假冒)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field
from sanic import Blueprint, Request

from server.console_web.web import Ctx, field_errors, filters, next_url, page, parse
from server.kit.errors import NotFound, ValidationFailed
from server.kit.schemas import QuerySchema
from server.trace import flags, recall
from server.trace import service as trace
from server.trace.schemas import BatchQuery, FlagQuery, FlagResolveIn, ReasonIn

bp = Blueprint("console_web_trace", url_prefix="/console")


class BatchFilter(QuerySchema):
    status: Literal["open", "recalled"] | None = None
    merchant_id: int | None = Field(None, ge=1, le=2**63 - 1)
    product_id: int | None = Field(None, ge=1, le=2**63 - 1)
    cursor: str | None = Field(None, max_length=200)


class FlagFilter(QuerySchema):
    status: Literal["open", "dismissed", "confirmed"] = "open"
    cursor: str | None = Field(None, max_length=200)



@bp.get("/trace")
@page()
async def batch_list(request: Request, ctx: Ctx):
    f, errors = filters(ctx, BatchFilter)
    result = await trace.list_batches(None, BatchQuery(**f.model_dump(), limit=20))
    return ctx.render("trace.html", f=f, errors=errors, rows=result.items,
                      next_href=next_url(result.next_cursor, request))


async def _batch_page(ctx: Ctx, batch_id: int, notice: str = "", errors: dict | None = None,
                      form: dict | None = None):
    b = await trace.get_batch(None, batch_id)
    where = await recall.destinations(batch_id)
    try:
        rec = await recall.recall_of_batch(batch_id)
    except NotFound:
        rec = None
    template = "_batch.html" if ctx.htmx else "batch.html"
    return ctx.render(template, b=b, where=where, rec=rec, notice=notice, errors=errors or {}, form=form or {})


@bp.get("/trace/batches/<batch_id:int>")
@page()
async def batch_detail(request: Request, ctx: Ctx, batch_id: int):
    return await _batch_page(ctx, batch_id)


@bp.post("/trace/batches/<batch_id:int>/recall")
@page()
async def start_recall(request: Request, ctx: Ctx, batch_id: int):
    form = ctx.form()
    try:
        body = parse(ReasonIn, form)
    except ValidationFailed as exc:
        return await _batch_page(ctx, batch_id, errors=field_errors(exc, {"reason": "请填写召回原因（2–500 个字）。"}),
                                 form=form)
    await recall.recall(ctx.user_id, batch_id, body.reason)
    return await _batch_page(ctx, batch_id, notice="已启动召回：该批次已停售，正在通知买家并拦截未送达的包裹。")


@bp.get("/trace/flags")
@page()
async def flag_list(request: Request, ctx: Ctx):
    f, errors = filters(ctx, FlagFilter)
    result = await flags.list_flags(FlagQuery(status=f.status, cursor=f.cursor, limit=50))
    return ctx.render("flags.html", f=f, errors=errors, rows=result.items, notice="",
                      next_href=next_url(result.next_cursor, request))


@bp.post("/trace/flags/<flag_id:int>/<status:dismissed|confirmed>")
@page()
async def resolve_flag(request: Request, ctx: Ctx, flag_id: int, status: str):
    form = ctx.form()
    flag = await flags.resolve(ctx.user_id, flag_id, parse(FlagResolveIn, {"status": status, "note": form.get("note", "")}))
    return ctx.render("_flag_row.html", fl=flag)
