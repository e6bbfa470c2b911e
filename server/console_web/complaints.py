"""Complaints and reports (投诉举报) in the console: the county office's queue (filters, figures by kind
and town, deadlines and breaches) and a complaint's page (assign, acknowledge, resolve with an outcome
that takes effect through the owning service); the merchant desk's and the station desk's pages (the
complaints about them without the reporter, and an answer; a station also files for a villager).
A surface: every read and write goes through server.complaints.service with the caller's scope."""
from __future__ import annotations

import asyncio
from urllib.parse import urlencode

from sanic import Blueprint, HTTPResponse, Request

from server.complaints import service as complaints
from server.complaints.schemas import (AnswerIn, AssignIn, ComplaintQuery, FiguresQuery, ResolveIn,
                                       StationComplaintIn, StationComplaintQuery)
from server.console_web.web import Ctx, env, field_errors, filters, next_url, page, parse
from server.kit import clock, runtime
from server.kit.auth import Role
from server.console_web.station_desk import TABS
from server.kit.errors import ValidationFailed

bp = Blueprint("console_web_complaints", url_prefix="/console")
STATION = (Role.station_staff.value,)
MERCHANT = ("merchant",)
HINTS = {
    "text": "请描述问题（5–1000 个字）。", "kind": "请选择投诉类型。", "reporter_phone": "请填写投诉人的 11 位手机号（用于短信告知结果）。",
    "reporter_name": "姓名最多 32 个字。", "order_no": "本站没有这个订单号的订单（须为在本站自提的订单）。",
    "trace_code": "没有这个溯源码，请核对。", "about_station_id": "投诉服务站时请选择被投诉的服务站。",
    "outcome": "请选择处理结果；该结果需要的对象（商品、商户或订单）在本投诉中不存在。", "note": "请填写处理说明（2–500 个字）。",
    "assignee_id": "请选择县电商办的工作人员。", "file": "请上传 JPEG、PNG 或 WebP 照片（每张不超过 5 MB）。",
}
env.filters["ckind"] = lambda v: complaints.KINDS.get(str(v), str(v))
env.filters["coutcome"] = lambda v: complaints.OUTCOMES.get(str(v), str(v) or "—")
env.filters["cstatus"] = lambda v: complaints.STATUSES.get(str(v), str(v))
CHANNELS = {"buyer": "买家（订单）", "station": "服务站代为投诉", "public": "扫码举报（匿名）"}
env.filters["cchannel"] = lambda v: CHANNELS.get(str(v), str(v))


class OfficeFilter(ComplaintQuery):
    pass


# ---- the county office --------------------------------------------------------------------------
@bp.get("/complaints")
@page()
async def office_list(request: Request, ctx: Ctx):
    f, errors = filters(ctx, OfficeFilter)
    # beside the queue, not after it: each sequential read is one more event-loop turn under load
    result, figures = await asyncio.gather(
        complaints.office_list(ComplaintQuery(**{**f.model_dump(), "limit": 20})), complaints.figures(30))
    return ctx.render("complaints.html", f=f, errors=errors, rows=result.items, figures=figures,
                      kinds=complaints.KINDS, next_href=next_url(result.next_cursor, request))


@bp.get("/complaints/figures.csv")
@page()
async def office_figures_csv(request: Request, ctx: Ctx):
    f, _ = filters(ctx, FiguresQuery)   # a bad ?days= falls back to 30
    body = await complaints.figures_csv(f.days)
    name = f"complaint-figures-{f.days}d-{clock.local_today().isoformat()}.csv"
    return HTTPResponse(body, content_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


async def _office_detail(ctx: Ctx, cid: int, *, notice: str = "", errors: dict | None = None,
                         form: dict | None = None) -> HTTPResponse:
    c = await complaints.office_get(cid)
    staff = await complaints.office_staff()
    template = "_complaint.html" if ctx.htmx else "complaint.html"
    return ctx.render(template, c=c, staff=staff, outcomes=complaints.OUTCOMES, notice=notice,
                      errors=errors or {}, form=form or {})


@bp.get("/complaints/<cid:int>")
@page()
async def office_detail(request: Request, ctx: Ctx, cid: int):
    return await _office_detail(ctx, cid)


@bp.post("/complaints/<cid:int>/assign")
@page()
async def office_assign(request: Request, ctx: Ctx, cid: int):
    form = ctx.form()
    try:
        await complaints.assign(ctx.user_id, cid, parse(AssignIn, form))
    except ValidationFailed as exc:
        return await _office_detail(ctx, cid, errors=field_errors(exc, HINTS), form=form)
    return await _office_detail(ctx, cid, notice="已分派。")


@bp.post("/complaints/<cid:int>/acknowledge")
@page()
async def office_acknowledge(request: Request, ctx: Ctx, cid: int):
    await complaints.acknowledge(ctx.user_id, cid)
    return await _office_detail(ctx, cid, notice="已受理：请在办结期限内处理完毕。")


@bp.post("/complaints/<cid:int>/resolve")
@page()
async def office_resolve(request: Request, ctx: Ctx, cid: int):
    form = ctx.form()
    try:
        await complaints.resolve(ctx.user_id, cid, parse(ResolveIn, form))
    except ValidationFailed as exc:
        return await _office_detail(ctx, cid, errors=field_errors(exc, HINTS), form=form)
    return await _office_detail(ctx, cid, notice="已办结，处理结果已执行，并将告知投诉人。")


# ---- the merchant desk ----------------------------------------------------------------------------
@bp.get("/shop/complaints")
@page(roles=MERCHANT)
async def merchant_list(request: Request, ctx: Ctx):
    f, errors = filters(ctx, OfficeFilter)
    result = await complaints.merchant_list(ctx.principal, ComplaintQuery(**{**f.model_dump(), "limit": 20}))
    return ctx.render("mer_complaints.html", f=f, errors=errors, rows=result.items,
                      next_href=next_url(result.next_cursor, request))


async def _merchant_detail(ctx: Ctx, cid: int, *, notice: str = "", errors: dict | None = None,
                           form: dict | None = None) -> HTTPResponse:
    c = await complaints.merchant_get(ctx.principal, cid)
    return ctx.render("_subject_complaint.html" if ctx.htmx else "mer_complaint.html", c=c, notice=notice,
                      errors=errors or {}, form=form or {}, answer_url=f"/console/shop/complaints/{cid}/answer")


@bp.get("/shop/complaints/<cid:int>")
@page(roles=MERCHANT)
async def merchant_detail(request: Request, ctx: Ctx, cid: int):
    return await _merchant_detail(ctx, cid)


@bp.post("/shop/complaints/<cid:int>/answer")
@page(roles=MERCHANT)
async def merchant_answer(request: Request, ctx: Ctx, cid: int):
    form = ctx.form()
    try:
        await complaints.merchant_answer(ctx.principal, cid, parse(AnswerIn, form))
    except ValidationFailed as exc:
        return await _merchant_detail(ctx, cid, errors=field_errors(exc, {"text": "请填写答复（2–1000 个字）。"}),
                                      form=form)
    return await _merchant_detail(ctx, cid, notice="答复已提交，县电商办可见。")


# ---- the station desk ----------------------------------------------------------------------------
def _st(ctx: Ctx, template: str, sid: int, **values) -> HTTPResponse:
    return ctx.render(template, sid=sid, tab="/complaints", tabs=TABS, base=f"/console/station/{sid}", **values)


class StationPages(StationComplaintQuery):
    pass


def _pages(sid: int, got: dict, q: StationComplaintQuery) -> dict:
    """The links of the two lists' pages: each list moves on its own, the other keeps its place."""
    base = f"/console/station/{sid}/complaints"

    def href(cursor: str | None, about: str | None) -> str:
        args = {k: v for k, v in (("cursor", cursor), ("about_cursor", about)) if v}
        return base + ("?" + urlencode(args) if args else "")
    return {"filed_next": href(got["filed_next"], q.about_cursor) if got["filed_next"] else "",
            "filed_first": href(None, q.about_cursor) if q.cursor else "",
            "about_next": href(q.cursor, got["about_next"]) if got["about_next"] else "",
            "about_first": href(q.cursor, None) if q.about_cursor else ""}


async def _station_page(ctx: Ctx, sid: int, *, notice: str = "", errors: dict | None = None,
                        form: dict | None = None, status: int = 200) -> HTTPResponse:
    q, _ = filters(ctx, StationPages) if ctx.request.method == "GET" else (StationPages(), {})
    try:
        got = await complaints.station_list(ctx.principal, sid, q, q.about_cursor)
    except ValidationFailed:  # a cursor that is not ours: the first pages
        q = StationPages()
        got = await complaints.station_list(ctx.principal, sid, q)
    stations = await complaints.nearby_stations(sid)
    return _st(ctx, "st_complaints.html", sid, filed=got["filed"], about=got["about"], notice=notice,
               errors=errors or {}, form=form or {}, kinds=complaints.KINDS, stations=stations, status=status,
               pages=_pages(sid, got, q), max_bytes=runtime.settings().media_image_max_bytes,
               max_photos=runtime.settings().complaint_max_photos)


@bp.get("/station/<sid:int>/complaints")
@page(roles=STATION)
async def station_list(request: Request, ctx: Ctx, sid: int):
    return await _station_page(ctx, sid)


@bp.post("/station/<sid:int>/complaints")
@page(roles=STATION)
async def station_file(request: Request, ctx: Ctx, sid: int):
    form = ctx.form()
    photos: list[str] = []
    # another station's form is a 404 and a refused form stores no photo: both are checked first
    ctx.principal.require_station(sid)
    try:
        body = parse(StationComplaintIn, {k: v for k, v in form.items() if k != "photos"})
        files = request.files
        uploads = [f for f in (files.getlist("photos") or [] if files else []) if f.body or f.name]
        complaints.check_photo_count(len(uploads))
        for f in uploads:
            photos.append((await complaints.store_photo(f.body, f.name or "")).key)
        filed = await complaints.file_by_station(ctx.principal, sid,
                                                 body.model_copy(update={"photos": photos}))
    except ValidationFailed as exc:
        return await _station_page(ctx, sid, errors=field_errors(exc, HINTS), form=form, status=exc.status)
    return await _station_page(ctx, sid, notice=f"已代为提交投诉，受理编号 {filed.no}；处理结果将短信告知投诉人。")


async def _station_detail(ctx: Ctx, sid: int, cid: int, *, notice: str = "", errors: dict | None = None,
                          form: dict | None = None) -> HTTPResponse:
    c = await complaints.station_get(ctx.principal, sid, cid)
    mine = getattr(c, "filed_at_station_id", None) == sid
    can_answer = c.station_id == sid
    if ctx.htmx:
        return ctx.render("_subject_complaint.html", c=c, notice=notice, errors=errors or {}, form=form or {},
                          answer_url=f"/console/station/{sid}/complaints/{cid}/answer" if can_answer else "",
                          filed_here=mine)
    return _st(ctx, "st_complaint.html", sid, c=c, notice=notice, errors=errors or {}, form=form or {},
               answer_url=f"/console/station/{sid}/complaints/{cid}/answer" if can_answer else "", filed_here=mine)


@bp.get("/station/<sid:int>/complaints/<cid:int>")
@page(roles=STATION)
async def station_detail(request: Request, ctx: Ctx, sid: int, cid: int):
    return await _station_detail(ctx, sid, cid)


@bp.post("/station/<sid:int>/complaints/<cid:int>/answer")
@page(roles=STATION)
async def station_answer(request: Request, ctx: Ctx, sid: int, cid: int):
    form = ctx.form()
    try:
        await complaints.station_answer(ctx.principal, sid, cid, parse(AnswerIn, form))
    except ValidationFailed as exc:
        return await _station_detail(ctx, sid, cid, errors=field_errors(exc, {"text": "请填写答复（2–1000 个字）。"}),
                                     form=form)
    return await _station_detail(ctx, sid, cid, notice="答复已提交，县电商办可见。")
