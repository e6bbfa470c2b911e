"""The office's training pages (电商培训): sessions and courses, a session with its archive, the sign-in
QR full-screen for the room's projector, and the archives' completeness."""
from __future__ import annotations

import asyncio
import base64

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import redirect

from server.console_web import pickers
from server.console_web.web import Ctx, field_errors, next_url, page, parse
from server.kit import versions
from server.kit.errors import AppError, ValidationFailed
from server.kit.schemas import QuerySchema
from server.training import archive
from server.training import service as training
from server.training.schemas import TRACKS, CourseIn, LecturerIn, LecturerPatch, SessionIn, SessionQuery

bp = Blueprint("console_web_training", url_prefix="/console")
TRACK_NAMES = {"basic": "普及班", "intermediate": "中级班", "advanced": "高级研修班", "cadre": "领导干部班",
               "cross_border": "跨境电商班", "livestream": "直播带货班", "lecturer": "师资班"}
QUALIFICATIONS = {"certification": "持有资格证书", "shop_results": "有真实网店业绩"}
LECTURER_HINTS = {
    "name": "请填写讲师姓名（1–32 个字）。", "qualification_kind": "请选择资质类型。",
    "certificate_name": "持证讲师请填写证书名称。", "certificate_no": "持证讲师请填写证书编号。",
    "certificate_issuer": "发证机关最多 64 个字。", "bio": "简介太长。",
    "user_id": "没有这个用户。", "merchant_id": "业绩讲师须填写一个已有成交记录的商户；持证讲师不填商户。",
}
FILE_NAMES = {"plan": "培训方案", "notice": "通知", "syllabus": "课程表", "material": "讲义", "slides": "课件",
              "photo": "照片", "video": "视频", "signin_sheet": "签到表"}


class SessionFilter(QuerySchema):
    course_id: int | None = Field(None, ge=1, le=2**63 - 1)
    track: str | None = Field(None, pattern=r"^[a-z_]{1,20}$")
    cursor: str | None = Field(None, max_length=200)


async def _sessions(data: dict) -> tuple[SessionFilter, dict, dict]:
    try:
        f = parse(SessionFilter, data)
        return f, {}, await training.list_sessions(SessionQuery(
            course_id=f.course_id, track=f.track if f.track in TRACKS else None, cursor=f.cursor, limit=20))
    except ValidationFailed as exc:
        return SessionFilter(), field_errors(exc), await training.list_sessions(SessionQuery(limit=20))


async def _list_page(ctx: Ctx, form: dict | None = None, errors: dict | None = None,
                     course_form: dict | None = None, course_errors: dict | None = None, status: int = 200):
    data = {k: v[0] for k, v in ctx.request.args.items()}
    # The course and lecturer pickers are read beside the sessions, not after them (three reads one after
    # the other were two more turns behind every other request in flight).
    (f, filter_errors, result), courses, lecturers = await asyncio.gather(
        _sessions(data), training.list_courses(None), training.list_lecturers())
    return ctx.render("training.html", f=f, errors=filter_errors, rows=result["items"], courses=courses,
                      lecturers=lecturers, tracks=TRACK_NAMES,
                      next_href=next_url(result["next_cursor"], ctx.request), form=form or {},
                      form_errors=errors or {}, course_form=course_form or {}, course_errors=course_errors or {})


@bp.get("/training")
@page()
async def session_list(request: Request, ctx: Ctx):
    return await _list_page(ctx)


@bp.post("/training/sessions")
@page()
async def create_session(request: Request, ctx: Ctx):
    form = ctx.form()
    lecturer_ids = [v for v in (request.form or {}).getlist("lecturer_ids") or [] if v]
    try:
        online = "online" in form
        venue = await pickers.station(form.get("venue"), "venue") if form.get("venue") or not online else None
        body = parse(SessionIn, {**{k: v for k, v in form.items() if k != "venue"}, "online": online,
                                 "lecturer_ids": lecturer_ids, "venue_station_id": venue})
        s = await training.create_session(body, actor_id=ctx.user_id)
    except ValidationFailed as exc:
        return await _list_page(ctx, form=form, errors=field_errors(exc, {
            "venue": "线下班次请填写办班的服务站（名称或编码）。",
            "course_id": "请选择课程。", "title": "请填写班次名称。", "starts_on": "请填写开班日期。",
            "ends_on": "请填写结业日期（不早于开班日期，最长 60 天）。", "capacity": "名额应为 0 或正整数（0 表示不限）。"}))
    return redirect(f"/console/training/sessions/{s.id}", status=303)


@bp.post("/training/courses")
@page()
async def create_course(request: Request, ctx: Ctx):
    form = ctx.form()
    try:
        await training.create_course(parse(CourseIn, form), actor_id=ctx.user_id)
    except ValidationFailed as exc:
        return await _list_page(ctx, course_form=form, course_errors=field_errors(exc, {
            "track": "请选择班型。", "name": "请填写课程名称（1–64 个字）。"}))
    return redirect("/console/training", status=303)


@bp.get("/training/sessions/<session_id:int>")
@page()
async def session_detail(request: Request, ctx: Ctx, session_id: int):
    s = await training.get_session(session_id)
    return ctx.render("training_session.html", s=s, tracks=TRACK_NAMES, file_names=FILE_NAMES)


@bp.get("/training/sessions/<session_id:int>/qr")
@page()
async def signin_qr(request: Request, ctx: Ctx, session_id: int):
    """Full screen for the room's projector; the code rotates, so the picture is fetched again."""
    s = await training.get_session(session_id)
    png, current = await training.signin_qr_png(session_id)
    body = {"s": s, "png": base64.b64encode(png).decode(), "current": current}
    return ctx.render("_qr.html" if ctx.htmx else "training_qr.html", **body)


@bp.get("/training/archive")
@page()
async def archive_page(request: Request, ctx: Ctx):
    incomplete = request.args.get("incomplete") == "1"
    rows = await archive.completeness(incomplete_only=incomplete)
    return ctx.render("training_archive.html", rows=rows, incomplete=incomplete, file_names=FILE_NAMES)


# ---- lecturers (讲师) ------------------------------------------------------------------------------

async def _lecturers_page(ctx: Ctx, form: dict | None = None, errors: dict | None = None, notice: str = ""):
    return ctx.render("training_lecturers.html", lecturers=await training.list_lecturers(),
                      qualifications=QUALIFICATIONS, form=form or {}, form_errors=errors or {}, notice=notice)


@bp.get("/training/lecturers")
@page()
async def lecturer_list(request: Request, ctx: Ctx):
    return await _lecturers_page(ctx)


@bp.post("/training/lecturers")
@page()
async def create_lecturer(request: Request, ctx: Ctx):
    """Record a lecturer: a user (by phone or id) with a certificate, or with a merchant's real sales."""
    form = ctx.form()
    picked: dict = {}
    errors: dict = {}
    wants_merchant = form.get("merchant") or form.get("qualification_kind") == "shop_results"
    for name, pick in (("user", pickers.user), ("merchant", pickers.merchant)):
        if name == "merchant" and not wants_merchant:
            continue
        try:
            picked[f"{name}_id"] = await pick(form.get(name), name)
        except ValidationFailed as exc:
            errors.update(field_errors(exc))
        except AppError as exc:   # a merchant id that names no merchant
            if exc.code != "not_found":
                raise
            errors[name] = f"没有编号为“{form.get(name)}”的商户。"
    body = None
    try:
        body = parse(LecturerIn, {**{k: v for k, v in form.items() if k not in ("user", "merchant")}, **picked})
    except ValidationFailed as exc:
        errors = {**_form_names(field_errors(exc, LECTURER_HINTS)), **errors}
    if errors or body is None:
        return await _lecturers_page(ctx, form=form, errors=errors)
    try:
        lec = await training.create_lecturer(body, actor_id=ctx.user_id)
    except ValidationFailed as exc:
        return await _lecturers_page(ctx, form=form, errors=_form_names(field_errors(exc, LECTURER_HINTS)))
    except AppError as exc:
        if exc.code != "already_lecturer":
            raise
        return await _lecturers_page(ctx, form=form, errors={"user": "该用户已经是讲师。"})
    return redirect(f"/console/training/lecturers/{lec.id}?created=1", status=303)


def _form_names(errors: dict[str, str]) -> dict[str, str]:
    """The service's field names as the form's (user_id → user, merchant_id → merchant)."""
    return {k.removesuffix("_id") if k in ("user_id", "merchant_id") else k: v for k, v in errors.items()}


async def _lecturer_page(ctx: Ctx, lecturer_id: int, form: dict | None = None, errors: dict | None = None,
                         notice: str = "", stale: bool = False):
    lec = next((x for x in await training.list_lecturers() if x.id == lecturer_id), None)
    if lec is None:
        return ctx.render("message.html", status=404, message="没有这位讲师。", kind="error")
    if stale:
        form = {**(form or {}), "version": lec.version}   # saving again is a choice made knowing both
    return ctx.render("training_lecturer.html", status=409 if stale else 200, lec=lec, qualifications=QUALIFICATIONS,
                      form=form or {"name": lec.name, "bio": lec.bio, "is_active": lec.is_active, "version": lec.version},
                      form_errors=errors or {}, notice=notice, stale=stale)


@bp.get("/training/lecturers/<lecturer_id:int>")
@page()
async def lecturer_detail(request: Request, ctx: Ctx, lecturer_id: int):
    return await _lecturer_page(ctx, lecturer_id, notice="已登记讲师。" if request.args.get("created") else "")


@bp.post("/training/lecturers/<lecturer_id:int>")
@page()
async def lecturer_update(request: Request, ctx: Ctx, lecturer_id: int):
    form = ctx.form()
    try:
        patch = parse(LecturerPatch, {"name": form.get("name") or None, "bio": form.get("bio", ""),
                                      "is_active": "is_active" in form, "version": form.get("version")})
        if patch.name is None:
            raise ValidationFailed.field("name", "")
        await training.update_lecturer(lecturer_id, patch, actor_id=ctx.user_id)
    except ValidationFailed as exc:
        return await _lecturer_page(ctx, lecturer_id, form=form, errors=field_errors(exc, LECTURER_HINTS))
    except AppError as exc:
        if exc.code != versions.STALE:
            raise
        return await _lecturer_page(ctx, lecturer_id, form=form, stale=True)
    return await _lecturer_page(ctx, lecturer_id, notice="已保存。")
