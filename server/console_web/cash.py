"""Money-out pages of the console (#23): a station's cash hand-over (现金解缴: what it owes today,
recording cash handed to the county centre), the office's confirmation queue, a merchant's live
selling proposals (直播合作: accept or decline) and the office's live product pool (选品池).

Amounts are typed in yuan and rates in percent (two decimals at most) and sent to the services in
fen and basis points; every object is the services' to scope (a station's staff its stations, a
merchant member its merchants), in pages and fragments alike."""
from __future__ import annotations

import asyncio
import re
from typing import Literal

from pydantic import Field
from sanic import Blueprint, Request

from server.consent import service as consent
from server.consent.schemas import ConsentsQuery, DecisionIn, PoolIn
from server.cash import service as cash
from server.cash.schemas import ConfirmIn, HandoverIn, HandoversQuery, RejectIn
from server.console_web.web import Ctx, field_errors, filters, next_url, page, parse
from server.kit.errors import ValidationFailed
from server.kit.schemas import QuerySchema

bp = Blueprint("console_web_cash", url_prefix="/console")
STAFF = ("station_staff",)
MERCHANT = ("merchant",)
HANDOVER_STATES = {"pending": "待确认", "confirmed": "已确认", "rejected": "已退回"}
CONSENT_STATES = {"proposed": "待处理", "accepted": "已同意", "declined": "已拒绝", "withdrawn": "主播已撤回"}
_HUNDREDTHS = re.compile(r"^\d{1,10}(\.\d{1,2})?$")


def hundredths(form: dict, name: str, field: str, message: str) -> dict:
    """{field: text of the integer} from a decimal typed in name (yuan -> fen, percent -> basis
    points); an unreadable number is a field error named name."""
    text = (form.get(name) or "").replace(",", "").replace("，", "").strip()
    if text == "":
        return {}
    if not _HUNDREDTHS.match(text):
        raise ValidationFailed.field(name, message)
    whole, _, frac = text.partition(".")
    return {field: str(int(whole) * 100 + int((frac + "00")[:2]))}


def _named(exc: ValidationFailed, renames: dict[str, str], hints: dict[str, str]) -> dict[str, str]:
    """Field errors under the form's own names (amount_fen is typed as amount, in yuan); hints are
    keyed by the form's names."""
    by_field = {**hints, **{f: hints[n] for f, n in renames.items() if n in hints}}
    return {renames.get(k, k): v for k, v in field_errors(exc, by_field).items()}


# ---- 现金解缴 (station staff) ----------------------------------------------------------------------
AMOUNT_HINT = "请填写金额（元，大于 0，最多两位小数）。"


async def _station_block(ctx: Ctx, station_id: int, **extra):
    s = await cash.summary(ctx.principal, station_id)
    rows = await cash.station_handovers(ctx.principal, station_id, HandoversQuery(limit=20))
    return {"s": s, "rows": rows.items, "states": HANDOVER_STATES, "form": {}, "errors": {}, **extra}


@bp.get("/cash")
@page(roles=STAFF)
async def station_cash(request: Request, ctx: Ctx):
    blocks = [await _station_block(ctx, sid) for sid in sorted(ctx.principal.station_ids)]
    return ctx.render("cash.html", blocks=blocks)


@bp.post("/cash/<station_id:int>/handovers")
@page(roles=STAFF)
async def record_handover(request: Request, ctx: Ctx, station_id: int):
    form = ctx.form()
    try:
        body = parse(HandoverIn, {**hundredths(form, "amount", "amount_fen", AMOUNT_HINT),
                                  "note": form.get("note", "")})
        h = await cash.record(ctx.principal, station_id, body)
    except ValidationFailed as exc:
        block = await _station_block(ctx, station_id)
        errors = _named(exc, {"amount_fen": "amount"}, {"amount": AMOUNT_HINT, "note": "备注最多 200 个字。"})
        if "amount" in errors and "owes" in exc.message + str(exc.details):
            errors["amount"] = f"超过可解缴金额（最多 {block['s'].to_hand_over_fen / 100:,.2f} 元：应解缴减去待确认的解缴）。"
        block.update(form=form, errors=errors)
        return ctx.render("_cash_station.html" if ctx.htmx else "cash.html", status=200,
                          **(block if ctx.htmx else {"blocks": [block]}))
    block = await _station_block(ctx, station_id, notice=f"已登记解缴 {h.declared_fen / 100:,.2f} 元，等待县级中心确认。")
    return ctx.render("_cash_station.html" if ctx.htmx else "cash.html", **(block if ctx.htmx else {"blocks": [block]}))


# ---- 解缴确认 (the office) ------------------------------------------------------------------------
class HandoverFilter(QuerySchema):
    status: Literal["pending", "confirmed", "rejected"] = "pending"
    flagged: bool | None = None
    station_id: int | None = Field(None, ge=1, le=2**63 - 1)
    cursor: str | None = Field(None, max_length=200)


RECEIVED_HINT = "请填写实收金额（元，大于 0，最多两位小数）。"


@bp.get("/cash-handovers")
@page()
async def handover_queue(request: Request, ctx: Ctx):
    f, errors = filters(ctx, HandoverFilter)
    # side by side: each sequential read is one more event-loop turn under load
    result, owing = await asyncio.gather(
        cash.all_handovers(HandoversQuery(status=f.status, flagged=f.flagged, station_id=f.station_id,
                                          cursor=f.cursor, limit=20)),
        cash.stations_owing(50))
    return ctx.render("cash_handovers.html", f=f, errors=errors, rows=result.items, states=HANDOVER_STATES,
                      owing=owing, next_href=next_url(result.next_cursor, request))


@bp.post("/cash-handovers/<handover_id:int>/<action:confirm|reject>")
@page()
async def handover_decide(request: Request, ctx: Ctx, handover_id: int, action: str):
    form = ctx.form()
    try:
        if action == "confirm":
            body = parse(ConfirmIn, {**hundredths(form, "received", "received_fen", RECEIVED_HINT),
                                     "note": form.get("note", "")})
            h = await cash.confirm(handover_id, body, actor_id=ctx.user_id)
        else:
            h = await cash.reject(handover_id, parse(RejectIn, {"note": form.get("note", "")}), actor_id=ctx.user_id)
    except ValidationFailed as exc:
        h = await cash.get_handover(ctx.principal, handover_id)
        errors = _named(exc, {"received_fen": "received"}, {
            "received": RECEIVED_HINT,
            "note": "实收与申报不符时须说明原因；退回须填写原因（最多 200 个字）。"})
        if "received" in errors and "owes" in exc.message + str(exc.details):
            errors["received"] = "实收金额超过该站应解缴的现金，请重新清点。"
        return ctx.render("_handover_row.html", h=h, states=HANDOVER_STATES, form=form, errors=errors)
    return ctx.render("_handover_row.html", h=h, states=HANDOVER_STATES, form={}, errors={})


# ---- 直播合作 (merchant members) -------------------------------------------------------------------
class ConsentFilter(QuerySchema):
    status: Literal["proposed", "accepted", "declined", "withdrawn"] = "proposed"
    cursor: str | None = Field(None, max_length=200)


@bp.get("/live-consents")
@page(roles=MERCHANT)
async def consent_list(request: Request, ctx: Ctx):
    f, errors = filters(ctx, ConsentFilter)
    result = await consent.merchant_proposals(ctx.principal, ConsentsQuery(status=f.status, cursor=f.cursor, limit=20))
    pooled = await consent.pool(merchant_ids=sorted(ctx.principal.merchant_ids))
    return ctx.render("live_consents.html", f=f, errors=errors, rows=result.items, states=CONSENT_STATES,
                      pooled=pooled, next_href=next_url(result.next_cursor, request))


@bp.post("/live-consents/<consent_id:int>/<action:accept|decline>")
@page(roles=MERCHANT)
async def consent_decide(request: Request, ctx: Ctx, consent_id: int, action: str):
    body = parse(DecisionIn, {"note": ctx.form().get("note", "")[:200]})
    decide = consent.accept if action == "accept" else consent.decline
    c = await decide(ctx.principal, consent_id, body)
    return ctx.render("_consent_row.html", c=c, states=CONSENT_STATES)


# ---- 选品池 (the office) ---------------------------------------------------------------------------
POOL_HINTS = {"product_id": "请填写商品编号（须是已有商品）。", "min_price": "请填写 0–100 之间的百分比（最多两位小数）。",
              "max_commission": "请填写 0–100 之间的百分比（最多两位小数）。",
              "agreement": "请填写商户同意标准条款的凭据（如协议编号与日期，1–200 个字）。"}


async def _pool_page(ctx: Ctx, form: dict | None = None, errors: dict | None = None, notice: str = ""):
    return ctx.render("live_pool.html", rows=await consent.pool(), form=form or {}, errors=errors or {},
                      notice=notice)


@bp.get("/live-pool")
@page()
async def pool_page(request: Request, ctx: Ctx):
    return await _pool_page(ctx)


@bp.post("/live-pool")
@page()
async def pool_add(request: Request, ctx: Ctx):
    form = ctx.form()
    try:
        data = {"product_id": form.get("product_id", ""), "agreement": form.get("agreement", ""),
                **hundredths(form, "min_price", "min_price_bp", POOL_HINTS["min_price"]),
                **hundredths(form, "max_commission", "max_commission_bp", POOL_HINTS["max_commission"])}
        row = await consent.pool_add(parse(PoolIn, data), actor_id=ctx.user_id)
    except ValidationFailed as exc:
        errors = _named(exc, {"min_price_bp": "min_price", "max_commission_bp": "max_commission"}, POOL_HINTS)
        return await _pool_page(ctx, form, errors)
    return await _pool_page(ctx, notice=f"已将“{row.product_name}”加入选品池。")


@bp.post("/live-pool/<pool_id:int>/remove")
@page()
async def pool_remove(request: Request, ctx: Ctx, pool_id: int):
    row = await consent.pool_remove(pool_id, actor_id=ctx.user_id)
    return ctx.render("_pool_row.html", p=row)

