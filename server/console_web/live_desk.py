"""The livestreamer's workspace (直播工作台, livestreamer role): profile, rooms and sessions; the signed
push URL as OBS takes it (server + stream key) with copy buttons and whether the stream is online;
tie-ins (live price, quota, per-buyer limit) and the on-air switch; the session's live figures.

The figures follow the session's existing websocket (/api/v1/live/sessions/<id>/ws, opened by
static/live.js): each event it pushes (an order's stock change, viewers, tie-ins, status) makes the
page fetch the figures fragment again, so viewers, orders, units, GMV and the flash gate's remaining
quota change without a reload. A surface: everything goes through live.service with the principal.

Consent proposals (直播合作申请, /console/live/consents): the livestreamer searches an on-sale SKU of
another merchant and proposes a live price, commission, quota and days; sees their own proposals
and withdraws one (server.consent.service, scoped to the caller). A tie-in refused for want of consent
shows the reason beside the SKU with a link to propose it."""
from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

import orjson
from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import redirect

from live import service as live
from live.schemas import OnAirIn, ProfileIn, RoomIn, SessionIn, SessionsQuery, TieInIn, TieInPatch
from server.catalog import query as catalog_query
from server.catalog.schemas import ProductListQuery
from server.consent import service as consent
from server.consent.schemas import ConsentsQuery, ProposalIn
from server.console_web import messages
from server.console_web.cash import CONSENT_STATES, hundredths
from server.console_web.merchant_desk import fen_from_yuan
from server.console_web.web import Ctx, field_errors, filters, page, parse
from server.kit import clock
from server.kit.errors import AppError, NotFound, ValidationFailed
from server.kit.http import validate
from server.kit.schemas import QuerySchema, Schema

bp = Blueprint("console_web_live_desk", url_prefix="/console/live")
HOST = ("livestreamer",)
HINTS = {
    "display_name": "请输入主播昵称（1–32 个字）。",
    "title": "请输入标题（1–64 个字）。",
    "scheduled_at": "请选择开播时间（不能早于现在）。",
    "room_id": "请选择直播间。",
    "merchant_id": "请输入商户编号。",
    "sku_id": "请输入在售商品的规格编号。",
    "live_price": "请输入直播价（元），不高于划线价。",
    "quota": "请输入直播配额（件），不超过可售库存。",
    "add_quota": "请输入要追加的配额（件），不超过可售库存。",
    "per_buyer_limit": "请输入每人限购件数（1–1000）。",
    "commission_pct": "请输入佣金比例（0–100 的百分数），如 10。",
    "default_commission_bp": "请输入佣金比例（0–100 的百分数），如 10。",
    "starts_on": "请选择开始日期。",
    "ends_on": "请选择结束日期（不早于开始日期、不早于今天，最长一年）。",
    "note": "留言最多 200 个字。",
}
# The proposal form's fields under the names the service knows them by.
PROPOSAL_RENAMES = {"commission_bp": "commission_pct"}
ROOM_KINDS = [("self", "自己的直播间"), ("merchant", "为商户带货"), ("incubation_base", "孵化基地")]
STATUS = {"scheduled": "未开播（等待推流）", "live": "直播中（推流在线）", "ended": "已结束", "cancelled": "已取消"}


def _errors(exc: ValidationFailed) -> dict[str, str]:
    return field_errors(exc, HINTS)


async def _profile(ctx: Ctx):
    try:
        return await live.profile(ctx.user_id, ctx.principal)
    except NotFound:
        return None


# ---- 首页：资料、直播间、场次 ------------------------------------------------------------------------

async def _home(ctx: Ctx, *, form: dict | None = None, errors: dict | None = None, which: str = "",
                notice: str = ""):
    sessions = await live.list_sessions(ctx.principal, SessionsQuery(mine=True, limit=50))
    rooms = await live.my_rooms(ctx.principal)
    return ctx.render("live_home.html", profile=await _profile(ctx), rooms=rooms,
                      room_names={r.id: r.title for r in rooms}, sessions=sessions.items, form=form or {},
                      errors=errors or {}, which=which, notice=notice, kinds=ROOM_KINDS, status_names=STATUS,
                      now=clock.now().astimezone(clock.SHANGHAI).strftime("%Y-%m-%dT%H:%M"))


@bp.get("/")
@page(roles=HOST)
async def home(request: Request, ctx: Ctx):
    return await _home(ctx)


@bp.post("/profile")
@page(roles=HOST)
async def profile_save(request: Request, ctx: Ctx):
    form = ctx.form()
    try:
        await live.upsert_profile(ctx.principal, parse(ProfileIn, form))
    except ValidationFailed as exc:
        return await _home(ctx, form=form, errors=_errors(exc), which="profile")
    return redirect("/console/live/", status=303)


class RoomForm(Schema):
    title: str = Field(min_length=1, max_length=64)
    on_behalf: str = "self"
    merchant_id: int | None = Field(None, ge=1, le=2**63 - 1)
    commission_pct: str | None = Field(None, max_length=8)


@bp.post("/rooms")
@page(roles=HOST)
async def room_create(request: Request, ctx: Ctx):
    form = ctx.form()
    try:
        f = parse(RoomForm, form)
        bp_rate = 0
        if f.commission_pct:
            try:
                bp_rate = round(float(f.commission_pct) * 100)
            except (ValueError, OverflowError):   # "abc", "nan", "inf"
                raise ValidationFailed.field("commission_pct", HINTS["commission_pct"]) from None
        body = validate(RoomIn, {"title": f.title, "on_behalf": f.on_behalf, "merchant_id": f.merchant_id,
                                 "default_commission_bp": bp_rate}, "body")
        await live.create_room(ctx.principal, body)
    except ValidationFailed as exc:
        errors = _errors(exc)
        if "default_commission_bp" in errors:   # the form asks for a percentage
            errors["commission_pct"] = errors.pop("default_commission_bp")
        return await _home(ctx, form=form, errors=errors, which="room")
    except AppError as exc:
        if exc.code != "live_profile_missing":
            raise
        return await _home(ctx, form=form, errors={"title": "请先填写主播资料。"}, which="room")
    return redirect("/console/live/", status=303)


class SessionForm(Schema):
    room_id: int = Field(ge=1, le=2**63 - 1)
    title: str = Field(min_length=1, max_length=64)
    scheduled_at: datetime


@bp.post("/sessions")
@page(roles=HOST)
async def session_create(request: Request, ctx: Ctx):
    form = ctx.form()
    try:
        f = parse(SessionForm, form)
        at = f.scheduled_at if f.scheduled_at.tzinfo else f.scheduled_at.replace(tzinfo=clock.SHANGHAI)
        s = await live.create_session(ctx.principal, f.room_id,
                                      validate(SessionIn, {"title": f.title, "scheduled_at": at}, "body"))
    except ValidationFailed as exc:
        return await _home(ctx, form=form, errors=_errors(exc), which="session")
    except NotFound:
        return await _home(ctx, form=form, errors={"room_id": HINTS["room_id"]}, which="session")
    return redirect(f"/console/live/sessions/{s.id}", status=303)


# ---- 场次：推流、商品、讲解、实时数据 -----------------------------------------------------------------

def _obs(push_url: str) -> tuple[str, str]:
    """OBS's two fields from the signed URL: the server (rtmp://domain/app/) and the stream key
    (stream?auth_key=...)."""
    path, _, query = push_url.partition("?")
    server, _, stream = path.rpartition("/")
    return server + "/", stream + ("?" + query if query else "")


async def _session_page(ctx: Ctx, session_id: int, *, notice: str = "", errors: dict | None = None,
                        form: dict | None = None, status: int = 200, consent: dict | None = None):
    view = await live.view(session_id)
    if view.session.livestreamer_id != ctx.user_id:
        raise NotFound("session not found")
    push = None
    if view.session.status in ("scheduled", "live"):
        push = await live.push_url(ctx.principal, session_id)
    expires = datetime.fromtimestamp(push.expires_at, clock.UTC).astimezone(clock.SHANGHAI) if push else None
    values = dict(view=view, s=view.session, push=push, obs=_obs(push.push_url) if push else None,
                  push_expires=expires.strftime("%m-%d %H:%M") if expires else "",
                  figures=await live.session_figures(ctx.principal, session_id), notice=notice,
                  errors=errors or {}, form=form or {}, status_names=STATUS, consent=consent)
    return ctx.render("_live_session.html" if ctx.htmx else "live_session.html", status=status, **values)


@bp.get("/sessions/<session_id:int>")
@page(roles=HOST)
async def session_detail(request: Request, ctx: Ctx, session_id: int):
    return await _session_page(ctx, session_id)


@bp.get("/sessions/<session_id:int>/figures")
@page(roles=HOST)
async def session_figures(request: Request, ctx: Ctx, session_id: int):
    view = await live.view(session_id)
    if view.session.livestreamer_id != ctx.user_id:
        raise NotFound("session not found")
    return ctx.render("_live_figures.html", view=view, s=view.session,
                      figures=await live.session_figures(ctx.principal, session_id), status_names=STATUS)


class SkuSearch(QuerySchema):
    q: str | None = Field(None, max_length=32)


@bp.get("/sessions/<session_id:int>/skus")
@page(roles=HOST)
async def sku_search(request: Request, ctx: Ctx, session_id: int):
    """On-sale products matching a word, with their SKUs' numbers (to tie one in)."""
    f, _ = filters(ctx, SkuSearch)
    return ctx.render("_live_skus.html", found=await _find_skus(f.q), q=f.q or "", session_id=session_id)


async def _find_skus(q: str | None) -> list[dict]:
    """On-sale products matching q, each with its SKUs (at most 8)."""
    found = []
    if q:
        page_ = orjson.loads(await catalog_query.list_products(ProductListQuery(q=q, limit=8)))
        for card in page_.get("items", []):
            try:
                found.append(orjson.loads(await catalog_query.product_detail(card["id"])))
            except NotFound:
                continue
    return found


class TieInForm(Schema):
    sku_id: int = Field(ge=1, le=2**63 - 1)
    live_price: str = Field(max_length=16)
    quota: int = Field(ge=1, le=1_000_000)
    per_buyer_limit: int | None = Field(None, ge=1, le=1000)


@bp.post("/sessions/<session_id:int>/tieins")
@page(roles=HOST)
async def tiein_attach(request: Request, ctx: Ctx, session_id: int):
    form = ctx.form()
    try:
        f = parse(TieInForm, {"live_price": "", **form})
        body = {"sku_id": f.sku_id, "live_price": fen_from_yuan(f.live_price, "live_price"), "quota": f.quota}
        if f.per_buyer_limit:
            body["per_buyer_limit"] = f.per_buyer_limit
        t = await live.attach(ctx.principal, session_id, validate(TieInIn, body, "body"))
    except ValidationFailed as exc:
        return await _session_page(ctx, session_id, errors=_errors(exc), form=form)
    except AppError as exc:
        if exc.code == "live_consent_required":
            query = urlencode({k: form.get(k, "") for k in ("sku_id", "live_price", "quota")})
            return await _session_page(ctx, session_id, errors={"sku_id": messages.error_message(exc)}, form=form,
                                       consent={"reason": exc.message, "href": f"/console/live/consents?{query}"})
        if exc.code != "live_tiein_exists":
            raise
        return await _session_page(ctx, session_id, errors={"sku_id": "这个规格已经在本场直播中了。"}, form=form)
    return await _session_page(ctx, session_id, notice=f"已加入“{t.product_name} {t.sku_spec}”，配额 {t.quota} 件。")


class TieInEditForm(Schema):
    session_id: int = Field(ge=1, le=2**63 - 1)
    live_price: str | None = Field(None, max_length=16)
    add_quota: int | None = Field(None, ge=1, le=1_000_000)
    per_buyer_limit: int | None = Field(None, ge=1, le=1000)


@bp.post("/tieins/<tiein_id:int>")
@page(roles=HOST)
async def tiein_edit(request: Request, ctx: Ctx, tiein_id: int):
    form = ctx.form()
    f = parse(TieInEditForm, form)
    try:
        body: dict = {}
        if f.live_price:
            body["live_price"] = fen_from_yuan(f.live_price, "live_price")
        if f.add_quota:
            body["add_quota"] = f.add_quota
        if f.per_buyer_limit:
            body["per_buyer_limit"] = f.per_buyer_limit
        if not body:
            raise ValidationFailed.field("live_price", "请填写要修改的直播价、追加配额或限购。")
        await live.update_tiein(ctx.principal, tiein_id, validate(TieInPatch, body, "body"))
    except ValidationFailed as exc:
        return await _session_page(ctx, f.session_id, errors={f"t{tiein_id}": next(iter(_errors(exc).values()))})
    return await _session_page(ctx, f.session_id, notice="已更新直播商品。")


class SessionRef(Schema):
    session_id: int = Field(ge=1, le=2**63 - 1)


@bp.post("/tieins/<tiein_id:int>/remove")
@page(roles=HOST)
async def tiein_remove(request: Request, ctx: Ctx, tiein_id: int):
    f = parse(SessionRef, ctx.form())
    await live.detach(ctx.principal, tiein_id)
    return await _session_page(ctx, f.session_id, notice="已移出本场直播，未售出的配额已回到货架。")


class OnAirForm(Schema):
    tiein_id: int | None = Field(None, ge=1, le=2**63 - 1)


@bp.post("/sessions/<session_id:int>/on-air")
@page(roles=HOST)
async def on_air(request: Request, ctx: Ctx, session_id: int):
    f = parse(OnAirForm, ctx.form())
    await live.set_on_air(ctx.principal, session_id, OnAirIn(tiein_id=f.tiein_id).tiein_id)
    return await _session_page(ctx, session_id, notice="已切换讲解商品。" if f.tiein_id else "已停止讲解。")


@bp.post("/sessions/<session_id:int>/end")
@page(roles=HOST)
async def session_end(request: Request, ctx: Ctx, session_id: int):
    s = await live.end_session(ctx.principal, session_id)
    return await _session_page(ctx, session_id, notice="本场直播已取消。" if s.status == "cancelled" else
                               "本场直播已结束，未售出的配额已回到货架。")


# ---- 直播合作申请 (consent proposals) --------------------------------------------------------------

class ProposalsQuery(QuerySchema):
    status: str | None = Field(None, max_length=16)
    cursor: str | None = Field(None, max_length=200)


async def _proposals(ctx: Ctx, *, form: dict | None = None, errors: dict | None = None, notice: str = "",
                     status: int = 200):
    f, _ = filters(ctx, ProposalsQuery)
    state = f.status if f.status in CONSENT_STATES else None
    result = await consent.my_proposals(ctx.principal, ConsentsQuery(status=state, cursor=f.cursor, limit=50))
    prefill = {k: v[0] for k, v in ctx.request.args.items() if k in ("sku_id", "live_price", "quota")}
    today = clock.local_today().isoformat()
    return ctx.render("live_proposals.html", status=status, rows=result.items, states=CONSENT_STATES, state=state,
                      form=form if form is not None else {"starts_on": today, "ends_on": today, **prefill},
                      errors=errors or {}, notice=notice, next_cursor=result.next_cursor)


@bp.get("/consents")
@page(roles=HOST)
async def proposals(request: Request, ctx: Ctx):
    return await _proposals(ctx)


@bp.get("/consents/skus")
@page(roles=HOST)
async def proposal_skus(request: Request, ctx: Ctx):
    f, _ = filters(ctx, SkuSearch)
    return ctx.render("_live_skus.html", found=await _find_skus(f.q), q=f.q or "")


@bp.post("/consents")
@page(roles=HOST)
async def propose(request: Request, ctx: Ctx):
    form = ctx.form()
    try:
        data = {k: form.get(k, "") for k in ("sku_id", "quota", "starts_on", "ends_on", "note")}
        data.update(hundredths(form, "commission_pct", "commission_bp", HINTS["commission_pct"]))
        if form.get("live_price", ""):
            data["live_price"] = str(fen_from_yuan(form["live_price"], "live_price"))
        body = parse(ProposalIn, data)
        c = await consent.propose(ctx.principal, body)
    except ValidationFailed as exc:
        errors = {PROPOSAL_RENAMES.get(k, k): v for k, v in _errors(exc).items()}
        if "commission_pct" in errors:
            errors["commission_pct"] = HINTS["commission_pct"]
        if "form" in errors:  # ProposalIn's own check (the order and span of the days) names no field
            errors["ends_on"] = HINTS["ends_on"]
            del errors["form"]
        return await _proposals(ctx, form=form, errors=errors)
    return await _proposals(ctx, notice=f"已向“{c.merchant_name}”提交合作申请 #{c.id}（{c.product_name} {c.sku_spec}），"
                                        "商户同意后即可在约定内加入直播。")


@bp.post("/consents/<consent_id:int>/withdraw")
@page(roles=HOST)
async def proposal_withdraw(request: Request, ctx: Ctx, consent_id: int):
    c = await consent.withdraw(ctx.principal, consent_id)
    return await _proposals(ctx, notice=f"已撤回合作申请 #{c.id}（{c.product_name} {c.sku_spec}）。")
