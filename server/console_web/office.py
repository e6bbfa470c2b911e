"""The county office's pages (县电商办, admin role): the desk, merchants, product review, users and
roles, the audit feed. A surface: every read and write goes through a service."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import redirect

from server.accounts import console as operators
from server.accounts import service as accounts
from server.accounts.schemas import OperatorIn
from server.catalog import service as catalog
from server.console_web import pickers
from server.console_web.web import HOMES, ROLE_NAMES, Ctx, field_errors, filters, next_url, page, parse
from server.kit import audit, clock
from server.kit.auth import Role
from server.kit.errors import ValidationFailed
from server.kit.schemas import QuerySchema, Schema
from server.merchants import service as merchants
from server.office import service as office

bp = Blueprint("console_web_office", url_prefix="/console")
PAGE_SIZE = 20
OBJECT_TYPES = [("", "全部"), ("merchant", "商户"), ("product", "商品"), ("sku", "规格"), ("user", "用户"),
                ("station", "服务站"), ("order", "订单"), ("refund", "退款"), ("batch", "批次")]

# Where each queue of the desk is listed.
QUEUE_LINKS = {
    "merchant_applications": "/console/merchants?status=pending",
    "product_listings": "/console/reviews?kind=listing",
    "product_revisions": "/console/reviews?kind=revision",
    "counterfeit_flags": "/console/trace/flags",
    "refunds_waiting": "/console/refunds",
    "station_alerts": "/console/station-alerts",
    "sla_breaches": "/console/sla-breaches",
    "shipping_uploads_late": "/console/shipping-uploads",
    "complaints_open": "/console/complaints?status=open",  # (#26)
}


class ReasonForm(Schema):
    reason: str = Field(min_length=1, max_length=200)



# ---- 首页 ----------------------------------------------------------------------------------------

@bp.get("/")
@page(roles=())
async def home(request: Request, ctx: Ctx):
    if not ctx.principal.is_admin:
        home_page = next((target for role, target in HOMES if role in ctx.principal.roles), None)
        if home_page:
            return redirect(home_page, status=303)
        roles = [ROLE_NAMES.get(r, r) for r in sorted(ctx.principal.roles) if r != Role.consumer.value]
        return ctx.render("welcome.html", roles=roles)
    return ctx.render("today.html", today=await office.today(), links=QUEUE_LINKS)


# ---- 商户 ----------------------------------------------------------------------------------------

class MerchantFilter(QuerySchema):
    status: Literal["pending", "active", "rejected", "suspended"] = "pending"
    q: str | None = Field(None, max_length=64)
    kind: Literal["household", "cooperative", "enterprise"] | None = None
    town: str | None = Field(None, max_length=32)
    cursor: str | None = Field(None, max_length=200)


@bp.get("/merchants")
@page()
async def merchant_list(request: Request, ctx: Ctx):
    f, errors = filters(ctx, MerchantFilter)
    result = await merchants.queue(f.status, f.cursor, PAGE_SIZE, q=f.q, kind=f.kind, town=f.town)
    return ctx.render("merchants.html", f=f, errors=errors, rows=result.items,
                      next_href=next_url(result.next_cursor, request))


async def _merchant_page(ctx: Ctx, merchant_id: int, notice: str = "", errors: dict | None = None,
                         form: dict | None = None):
    m = await merchants.detail(merchant_id)
    trail, _ = await audit.feed(object_type="merchant", object_id=str(merchant_id), limit=20)
    template = "_merchant.html" if ctx.htmx else "merchant.html"
    return ctx.render(template, m=m, trail=trail, notice=notice, errors=errors or {}, form=form or {})


@bp.get("/merchants/<merchant_id:int>")
@page()
async def merchant_detail(request: Request, ctx: Ctx, merchant_id: int):
    return await _merchant_page(ctx, merchant_id)


@bp.post("/merchants/<merchant_id:int>/<action:approve|reject|suspend|reinstate>")
@page()
async def merchant_action(request: Request, ctx: Ctx, merchant_id: int, action: str):
    form = ctx.form()
    if action in ("reject", "suspend"):
        try:
            reason = parse(ReasonForm, form).reason
        except ValidationFailed as exc:
            return await _merchant_page(ctx, merchant_id, errors=field_errors(exc), form=form)
        await (merchants.reject if action == "reject" else merchants.suspend)(ctx.user_id, merchant_id, reason)
    else:
        await (merchants.approve if action == "approve" else merchants.reinstate)(ctx.user_id, merchant_id)
    done = {"approve": "已通过入驻申请。", "reject": "已驳回入驻申请。", "suspend": "已暂停该商户，其商品已全部下架。",
            "reinstate": "已恢复该商户。"}[action]
    return await _merchant_page(ctx, merchant_id, notice=done)


# ---- 商品审核 ------------------------------------------------------------------------------------

class ReviewFilter(QuerySchema):
    status: Literal["pending", "approved", "rejected", "superseded"] = "pending"
    kind: Literal["listing", "revision"] | None = None
    q: str | None = Field(None, max_length=64)
    cursor: str | None = Field(None, max_length=200)


@bp.get("/reviews")
@page()
async def review_list(request: Request, ctx: Ctx):
    f, errors = filters(ctx, ReviewFilter)
    result = await catalog.review_queue(f.status, f.cursor, PAGE_SIZE, f.kind, f.q)
    return ctx.render("reviews.html", f=f, errors=errors, rows=result.items,
                      next_href=next_url(result.next_cursor, request))


class CertFilter(QuerySchema):
    days: int = Field(30, ge=0, le=366)
    cursor: str | None = Field(None, max_length=200)


@bp.get("/reviews/certificates")
@page()
async def certificate_list(request: Request, ctx: Ctx):
    f, errors = filters(ctx, CertFilter)
    result = await catalog.expiring_certificates(f.days, f.cursor, 50)
    return ctx.render("certificates.html", f=f, errors=errors, rows=result.items,
                      next_href=next_url(result.next_cursor, request))


async def _review_page(ctx: Ctx, review_id: int, notice: str = "", errors: dict | None = None,
                       form: dict | None = None):
    d = await catalog.review_detail(review_id)
    template = "_review.html" if ctx.htmx else "review.html"
    return ctx.render(template, d=d, notice=notice, errors=errors or {}, form=form or {})


@bp.get("/reviews/<review_id:int>")
@page()
async def review_detail(request: Request, ctx: Ctx, review_id: int):
    return await _review_page(ctx, review_id)


@bp.post("/reviews/<review_id:int>/<action:approve|reject>")
@page()
async def review_action(request: Request, ctx: Ctx, review_id: int, action: str):
    form = ctx.form()
    if action == "reject":
        try:
            reason = parse(ReasonForm, form).reason
        except ValidationFailed as exc:
            return await _review_page(ctx, review_id, errors=field_errors(exc), form=form)
        await catalog.reject_review(ctx.user_id, review_id, reason)
        return await _review_page(ctx, review_id, notice="已驳回，商户会看到驳回原因。")
    await catalog.approve_review(ctx.user_id, review_id)
    return await _review_page(ctx, review_id, notice="已通过审核。")


@bp.post("/reviews/<review_id:int>/takedown")
@page()
async def review_takedown(request: Request, ctx: Ctx, review_id: int):
    form = ctx.form()
    d = await catalog.review_detail(review_id)
    try:
        reason = parse(ReasonForm, form).reason
    except ValidationFailed as exc:
        return await _review_page(ctx, review_id, errors={"takedown_" + k: v for k, v in field_errors(exc).items()},
                                  form=form)
    await catalog.take_down(ctx.user_id, d.product.id, reason)
    return await _review_page(ctx, review_id, notice="已监管下架该商品。")


# ---- 用户与角色 ----------------------------------------------------------------------------------

class UserFilter(QuerySchema):
    q: str = Field("", max_length=64)
    role: Literal["admin", "warehouse", "station_staff", "merchant", "livestreamer", "operator"] | None = None
    cursor: str | None = Field(None, max_length=200)


class GrantForm(Schema):
    role: Literal["admin", "warehouse", "station_staff", "merchant", "livestreamer"]
    station: str | None = Field(None, max_length=64)
    merchant: str | None = Field(None, max_length=64)
    is_head: bool = False


@bp.get("/users")
@page()
async def user_list(request: Request, ctx: Ctx):
    f, errors = filters(ctx, UserFilter)
    result = await operators.search_users(f.q.strip(), f.role, f.cursor, PAGE_SIZE)
    return ctx.render("users.html", f=f, errors=errors, rows=result.items, form={}, form_errors={},
                      next_href=next_url(result.next_cursor, request))


@bp.post("/users")
@page()
async def create_operator(request: Request, ctx: Ctx):
    form = ctx.form()
    try:
        body = parse(OperatorIn, form)
        user = await operators.create_operator(body.name, body.phone, actor_id=ctx.user_id)
    except ValidationFailed as exc:
        return ctx.render("_operator_form.html", form=form, form_errors=field_errors(exc))
    return ctx.render("_operator_form.html", form={}, form_errors={},
                      headers={"HX-Redirect": f"/console/users/{user.id}"})


async def _user_page(ctx: Ctx, user_id: int, notice: str = "", errors: dict | None = None,
                     form: dict | None = None):
    u = await accounts.user_detail(user_id)
    actions, _ = await audit.feed(actor_id=user_id, limit=20)
    template = "_user.html" if ctx.htmx else "user.html"
    return ctx.render(template, u=u, actions=actions, notice=notice, errors=errors or {}, form=form or {},
                      roles=[(r, ROLE_NAMES[r]) for r in sorted(operators.OPERATOR_ROLES)])


@bp.get("/users/<user_id:int>")
@page()
async def user_detail(request: Request, ctx: Ctx, user_id: int):
    return await _user_page(ctx, user_id)


@bp.post("/users/<user_id:int>/grants")
@page()
async def grant(request: Request, ctx: Ctx, user_id: int):
    form = ctx.form()
    try:
        body = parse(GrantForm, {**form, "is_head": "is_head" in form})
        station_id = await pickers.station(body.station) if body.role == Role.station_staff.value else None
        merchant_id = await pickers.merchant(body.merchant) if body.role == Role.merchant.value else None
        await accounts.grant_role(user_id, body.role, station_id=station_id, merchant_id=merchant_id,
                                  is_head=body.is_head and body.role == Role.station_staff.value,
                                  granted_by=ctx.user_id)
    except ValidationFailed as exc:
        return await _user_page(ctx, user_id, errors=field_errors(exc), form=form)
    return await _user_page(ctx, user_id, notice=f"已授予{ROLE_NAMES[body.role]}角色。")


@bp.post("/users/<user_id:int>/grants/<grant_id:int>/revoke")
@page()
async def revoke(request: Request, ctx: Ctx, user_id: int, grant_id: int):
    await accounts.revoke_grant(grant_id, revoked_by=ctx.user_id)
    return await _user_page(ctx, user_id, notice="已撤销该角色，对方的后台和接口权限立即失效。")


@bp.post("/users/<user_id:int>/<action:disable|enable>")
@page()
async def set_active(request: Request, ctx: Ctx, user_id: int, action: str):
    await accounts.set_active(user_id, action == "enable", actor_id=ctx.user_id)
    return await _user_page(ctx, user_id, notice="已启用该账号。" if action == "enable" else "已停用该账号。")


# ---- 审计日志 ------------------------------------------------------------------------------------

class AuditFilter(QuerySchema):
    actor_id: int | None = Field(None, ge=1, le=2**63 - 1)
    object_type: str | None = Field(None, pattern=r"^[a-z_]{1,32}$")
    object_id: str | None = Field(None, max_length=64)
    action: str | None = Field(None, pattern=r"^[a-z_.]{1,64}$")
    since: date | None = None
    until: date | None = None
    cursor: str | None = Field(None, max_length=200)


def _day_start(d: date | None, plus: int = 0) -> datetime | None:
    if d is None:
        return None
    return datetime.combine(d + timedelta(days=plus), time(0), tzinfo=clock.SHANGHAI)


@bp.get("/audit")
@page()
async def audit_feed(request: Request, ctx: Ctx):
    f, errors = filters(ctx, AuditFilter)
    rows, cursor = await audit.feed(actor_id=f.actor_id, object_type=f.object_type, object_id=f.object_id,
                                    action=f.action, since=_day_start(f.since), until=_day_start(f.until, 1),
                                    cursor=f.cursor, limit=50)
    return ctx.render("audit.html", f=f, errors=errors, rows=rows, next_href=next_url(cursor, request),
                      object_types=OBJECT_TYPES)

