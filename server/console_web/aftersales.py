"""After-sales (售后, issue #25) in the web console: the merchant answers cases, confirms courier
returns and sets its policy — replacement offered, "changed mind" taken — (/console/shop/aftersales), the office decides escalations and sets category windows
(/console/aftersales), the warehouse puts refunded picked units back (/console/warehouse/unpicks), a
station receives a buyer's return (/console/station/returns). Every write goes through
server/aftersales; scope is checked there (a foreign id is a 404 page)."""
from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import redirect

from server.aftersales import service as aftersales
from server.console_web.web import ADMIN, STATION, WAREHOUSE, Ctx, field_errors, next_url, page
from server.kit.errors import ValidationFailed
from server.merchants import service as merchants

bp = Blueprint("console_aftersales_web", url_prefix="/console")
MERCHANT = ("merchant",)
STATES = {"requested": "待商家处理", "rejected": "商家已拒绝", "escalated": "平台介入中", "awaiting_return": "待买家退货",
          "returning": "退货寄回中", "refunding": "退款中", "done": "已完成", "closed": "已关闭"}
KINDS = {"refund_only": "仅退款", "return_refund": "退货退款", "replacement": "换货"}
REASONS = {"damaged": "破损", "spoiled": "变质/化冻", "short": "少件/短斤", "wrong_item": "发错货",
           "not_as_described": "与描述不符", "not_received": "未收到货", "changed_mind": "不想要了"}
NAMES = {"states": STATES, "kinds": KINDS, "reasons": REASONS}
PAGE_SIZE = 20  # the office's queue, a keyset page at a time
HINTS = {"reason": "请填写原因（1–200 个字）。", "hours": "请填写 1–2160 之间的整数小时数。"}


def _int(v: str, name: str) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        raise ValidationFailed.field(name, "a number") from None


# ---- the merchant ----------------------------------------------------------------------------------
async def _merchant_page(ctx: Ctx, status: str | None, errors: dict | None = None, http_status: int = 200):
    rows = await aftersales.merchant_cases(ctx.principal.merchant_ids, status if status in STATES else None)
    shops = [m for m in await merchants.my_merchants(ctx.principal) if m.id in ctx.principal.merchant_ids]
    policies = [(m.name, await aftersales.policy_out(ctx.principal.merchant_ids, m.id)) for m in shops]
    return ctx.render("as_merchant.html", status=http_status, rows=rows, current=status, errors=errors or {},
                      policies=policies, **NAMES)


@bp.get("/shop/aftersales")
@page(roles=MERCHANT)
async def merchant_list(request: Request, ctx: Ctx):
    return await _merchant_page(ctx, request.args.get("status") or None)


@bp.post("/shop/aftersales/<case_id:int>/answer")
@page(roles=MERCHANT)
async def merchant_answer(request: Request, ctx: Ctx, case_id: int):
    form = ctx.form()
    try:
        await aftersales.merchant_answer(ctx.principal.merchant_ids, case_id, approve=form.get("approve") == "1",
                                         reason=form.get("reason", ""), actor_id=ctx.user_id)
    except ValidationFailed as exc:   # named beside the case's reason box (scope was checked first: 404)
        return await _merchant_page(ctx, None, {case_id: field_errors(exc, HINTS)}, 422)
    return redirect("/console/shop/aftersales", status=303)


@bp.post("/shop/aftersales/policy/<merchant_id:int>")
@page(roles=MERCHANT)
async def merchant_policy(request: Request, ctx: Ctx, merchant_id: int):
    """The shop's after-sales policy: replacement (换货) offered, "changed mind" returns taken."""
    form = ctx.form()
    await aftersales.set_policy(ctx.principal.merchant_ids, merchant_id,
                                offers_replacement=form.get("offers_replacement") == "1",
                                accepts_changed_mind=form.get("accepts_changed_mind") == "1", actor_id=ctx.user_id)
    return redirect("/console/shop/aftersales", status=303)


@bp.post("/shop/aftersales/<case_id:int>/received")
@page(roles=MERCHANT)
async def merchant_received(request: Request, ctx: Ctx, case_id: int):
    await aftersales.merchant_receive(ctx.principal.merchant_ids, case_id, actor_id=ctx.user_id)
    return redirect("/console/shop/aftersales", status=303)


# ---- the office -----------------------------------------------------------------------------------
async def _office_page(ctx: Ctx, status: str, cursor: str | None, errors: dict | None = None,
                       http_status: int = 200):
    rows, nxt = await aftersales.office_case_page(status if status in STATES else "escalated", cursor, PAGE_SIZE)
    return ctx.render("as_office.html", status=http_status, rows=rows, current=status, errors=errors or {},
                      next_href=next_url(nxt, ctx.request), **NAMES)


@bp.get("/aftersales")
@page(roles=ADMIN)
async def office_list(request: Request, ctx: Ctx):
    return await _office_page(ctx, request.args.get("status") or "escalated", request.args.get("cursor"))


@bp.post("/aftersales/<case_id:int>/decide")
@page(roles=ADMIN)
async def office_decide(request: Request, ctx: Ctx, case_id: int):
    form = ctx.form()
    try:
        await aftersales.office_decide(case_id, approve=form.get("approve") == "1", note=form.get("reason", ""),
                                       actor_id=ctx.user_id)
    except ValidationFailed as exc:   # named beside the case's reason box
        return await _office_page(ctx, "escalated", None, {case_id: field_errors(exc, HINTS)}, 422)
    return redirect("/console/aftersales", status=303)


async def _windows_page(ctx: Ctx, errors: dict | None = None, http_status: int = 200):
    return ctx.render("as_windows.html", status=http_status, rows=(await aftersales.window_rows()).items,
                      errors=errors or {})


@bp.get("/aftersales/windows")
@page(roles=ADMIN)
async def windows(request: Request, ctx: Ctx):
    return await _windows_page(ctx)


@bp.post("/aftersales/windows")
@page(roles=ADMIN)
async def set_window(request: Request, ctx: Ctx):
    form = ctx.form()
    category_id = _int(form.get("category_id"), "category_id")   # the row's hidden field
    try:
        await aftersales.set_window(category_id, _int(form.get("hours"), "hours"), actor_id=ctx.user_id)
    except ValidationFailed as exc:
        errors = field_errors(exc, HINTS)
        if "hours" not in errors:
            raise
        return await _windows_page(ctx, {category_id: errors}, 422)   # beside the row's hours box
    return redirect("/console/aftersales/windows", status=303)


# ---- the warehouse --------------------------------------------------------------------------------
@bp.get("/warehouse/unpicks")
@page(roles=WAREHOUSE)
async def unpicks(request: Request, ctx: Ctx):
    return ctx.render("wh_unpicks.html", rows=(await aftersales.unpick_rows()).items)


@bp.post("/warehouse/unpicks/<item_id:int>/done")
@page(roles=WAREHOUSE)
async def unpick_done(request: Request, ctx: Ctx, item_id: int):
    await aftersales.confirm_unpick(item_id, actor_id=ctx.user_id)
    return redirect("/console/warehouse/unpicks", status=303)


# ---- the station ----------------------------------------------------------------------------------
@bp.get("/station/returns")
@page(roles=STATION)
async def station_returns(request: Request, ctx: Ctx):
    rows = await aftersales.station_returns(ctx.principal.station_ids)
    return ctx.render("st_returns.html", rows=rows, stations=sorted(ctx.principal.station_ids), **NAMES)


@bp.post("/station/returns/<case_id:int>/receive")
@page(roles=STATION)
async def station_receive(request: Request, ctx: Ctx, case_id: int):
    form = ctx.form()
    await aftersales.station_receive(ctx.principal.station_ids, case_id,
                                     _int(form.get("station_id"), "station_id"), actor_id=ctx.user_id)
    return redirect("/console/station/returns", status=303)
