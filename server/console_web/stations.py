"""The office's station pages: the county → town → village tree, create and edit, staff and the
station head, and the bulk import (dry run, then all or nothing)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import redirect

from server.console_web.web import Ctx, field_errors, filters, flash, next_url, page, parse
from server.kit import versions
from server.kit.errors import AppError, ValidationFailed
from server.kit.schemas import QuerySchema
from server.media.upload import read_upload
from server.stations import importer, network, staff
from server.stations.schemas import StationIn, StationListQuery, StationPatch

bp = Blueprint("console_web_stations", url_prefix="/console")
LEVEL_NAMES = {"county": "县级中心", "town": "乡镇服务中心", "village": "村级服务站"}
TREE_BRANCH = 100   # children shown in an opened branch; more: the drill-down list, paged
EDITABLE = ("name", "town", "village", "address", "opening_hours", "contact_name", "contact_phone", "status")
FIELD_NAMES = {"name": "名称", "town": "乡镇", "village": "行政村", "address": "地址", "opening_hours": "营业时间",
               "contact_name": "联系人", "contact_phone": "联系电话", "status": "状态", "is_poor_village": "建档立卡贫困村"}


class StationFilter(QuerySchema):
    q: str | None = Field(None, max_length=64)
    level: Literal["county", "town", "village"] | None = None
    town: str | None = Field(None, max_length=32)
    parent_id: int | None = Field(None, ge=1, le=2**63 - 1)
    cursor: str | None = Field(None, max_length=200)


def _ctx(ctx: Ctx, **values):
    return {"level_names": LEVEL_NAMES, "field_names": FIELD_NAMES, **values}


def _differs(name: str, typed: str | None, current) -> bool:
    if name == "is_poor_village":   # a checkbox: sent when ticked
        return bool(typed) != bool(current)
    return (typed or "") != (current or "")


@bp.get("/stations")
@page()
async def station_list(request: Request, ctx: Ctx):
    f, errors = filters(ctx, StationFilter)
    parent = await network.get_station(f.parent_id) if f.parent_id else None
    # the tree: without a search, start at the county centre(s)
    level = f.level or (None if (f.q or f.town or f.parent_id) else "county")
    result = await network.list_stations(StationListQuery(q=f.q, level=level, town=f.town, parent_id=f.parent_id,
                                                          cursor=f.cursor, limit=50))
    trail = []
    p = parent
    while p is not None:
        trail.insert(0, p)
        p = await network.get_station(p.parent_id) if p.parent_id else None
    # without a search or a drill-down, the county centres as the roots of a tree that opens in place
    tree = not (f.q or f.town or f.level or f.parent_id or f.cursor)
    return ctx.render("stations.html", **_ctx(ctx, f=f, errors=errors, rows=result.items, trail=trail, tree=tree,
                                              next_href=next_url(result.next_cursor, request), form={},
                                              form_errors={}))


@bp.get("/stations/<station_id:int>/children")
@page()
async def station_children(request: Request, ctx: Ctx, station_id: int):
    """One branch of the tree, loaded when it is opened (htmx); a plain visit gets the drill-down list."""
    if not ctx.htmx:
        return redirect(f"/console/stations?parent_id={station_id}", status=303)
    await network.get_station(station_id)   # 404 for a station that is not there
    result = await network.list_stations(StationListQuery(parent_id=station_id, limit=TREE_BRANCH))
    more = f"/console/stations?parent_id={station_id}" if result.next_cursor else None
    return ctx.render("_station_nodes.html", **_ctx(ctx, rows=result.items, more_href=more))


async def _parent_id(form: dict) -> int | None:
    code = form.get("parent_code", "")
    if not code:
        return None
    found = [s for s in (await network.list_stations(StationListQuery(q=code, limit=5))).items if s.code == code]
    if not found:
        raise ValidationFailed.field("parent_code", f"没有编码为 {code} 的服务站。")
    return found[0].id


@bp.post("/stations")
@page()
async def create_station(request: Request, ctx: Ctx):
    form = ctx.form()
    try:
        parent_id = await _parent_id(form)
        body = parse(StationIn, {**{k: v for k, v in form.items() if k != "parent_code"},
                                 "parent_id": parent_id, "is_poor_village": "is_poor_village" in form})
        st = await network.create_station(body, actor_id=ctx.user_id)
    except ValidationFailed as exc:
        errors = {("parent_code" if k == "parent_id" else k): v for k, v in field_errors(exc).items()}
        return ctx.render("_station_form.html", **_ctx(ctx, form=form, form_errors=errors))
    except AppError as exc:
        if exc.code != "station_code_taken":
            raise
        return ctx.render("_station_form.html", **_ctx(ctx, form=form, form_errors={"code": "该编码已被使用。"}))
    return ctx.render("_station_form.html", **_ctx(ctx, form={}, form_errors={}),
                      headers={"HX-Redirect": f"/console/stations/{st.id}"})


async def _station_page(ctx: Ctx, station_id: int, notice: str = "", errors: dict | None = None,
                        form: dict | None = None, stale: bool = False):
    st = await network.get_station(station_id)
    people = await staff.station_staff(station_id)
    template = "_station.html" if ctx.htmx else "station.html"
    changed = []
    if stale:
        # What someone else saved meanwhile, beside what this editor typed (kept, not saved); the form
        # now carries the current version, so saving again is a choice made knowing both.
        form = {**(form or {}), "version": st.version}
        current = st.model_dump()
        changed = [(k, current[k]) for k in FIELD_NAMES if _differs(k, form.get(k), current[k])]
    return ctx.render(template, status=409 if stale and not ctx.htmx else 200,
                      **_ctx(ctx, st=st, people=people, notice=notice, errors=errors or {},
                             form=form or st.model_dump(), stale=stale, changed=changed))


@bp.get("/stations/<station_id:int>")
@page()
async def station_detail(request: Request, ctx: Ctx, station_id: int):
    return await _station_page(ctx, station_id)


@bp.post("/stations/<station_id:int>")
@page()
async def station_update(request: Request, ctx: Ctx, station_id: int):
    form = ctx.form()
    try:
        # every field is sent: a cleared optional one is cleared (None), name and status are required
        patch = parse(StationPatch, {**{k: form.get(k) or None for k in EDITABLE},
                                     "is_poor_village": "is_poor_village" in form, "version": form.get("version")})
        await network.update_station(station_id, patch, actor_id=ctx.user_id)
    except ValidationFailed as exc:
        return await _station_page(ctx, station_id, errors=field_errors(exc), form=form)
    except AppError as exc:
        if exc.code != versions.STALE:
            raise
        return await _station_page(ctx, station_id, form=form, stale=True)
    return await _station_page(ctx, station_id, notice="已保存。")


@bp.post("/stations/<station_id:int>/head/<user_id:int>")
@page()
async def station_head(request: Request, ctx: Ctx, station_id: int, user_id: int):
    await staff.set_head(station_id, user_id, actor_id=ctx.user_id)
    return await _station_page(ctx, station_id, notice="已设为站长。")


@bp.get("/stations/import")
@page()
async def import_page(request: Request, ctx: Ctx):
    return ctx.render("station_import.html", report=None, max_mb=importer.MAX_BYTES // 1048576)


@bp.post("/stations/import")
@page()
async def import_check(request: Request, ctx: Ctx):
    try:
        data, name = read_upload(request)
        report = await importer.dry_run(name, data)
    except ValidationFailed as exc:
        message = (exc.details or [{}])[0].get("message") if exc.code == "import_file_invalid" else None
        return flash(ctx, message or "请选择要导入的 .csv 或 .xlsx 文件。")
    return ctx.render("_import_report.html", report=report)


@bp.post("/stations/import/<token:str>/apply")
@page()
async def import_apply(request: Request, ctx: Ctx, token: str):
    report = await importer.apply(token, actor_id=ctx.user_id)
    return ctx.render("_import_report.html", report=report)
