"""Pre-sale pages (预售, issue #28): the merchant proposes and stops pre-sales of its SKUs in its
workspace (/console/shop/presales); the county office reviews them and sees their orders
(/console/presales). A surface: the presale service checks every object against the caller's
merchants (404 otherwise)."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import redirect

from server.catalog import service as catalog
from server.console_web.merchant_desk import MERCHANT, _mine, fen_from_yuan
from server.console_web.web import ADMIN, Ctx, field_errors, filters, page, parse
from server.kit import clock
from server.kit.errors import AppError, ValidationFailed
from server.kit.http import validate
from server.kit.schemas import QuerySchema, Schema
from server.presale import service as presale
from server.presale.schemas import OfferIn

bp = Blueprint("console_web_presale", url_prefix="/console")

HINTS = {
    "sku_id": "请选择要预售的规格。",
    "mode": "请选择付款方式。",
    "price_fen": "请输入预售价（元），不高于该规格的售价。",
    "deposit_fen": "定金须大于 0、低于预售价，且不超过规定比例；全款预售不填定金与尾款时间。",
    "starts_at": "请填写开始时间，如 2026-09-01 08:00。",
    "ends_at": "结束时间须晚于开始时间。",
    "balance_starts_at": "定金预售须填写尾款开始时间（不早于预售开始）。",
    "balance_ends_at": "尾款截止须晚于尾款开始，且不早于预售结束。",
    "ship_from": "发货日期不能早于尾款截止（全款预售：不早于开始）。",
    "note": "说明最多 200 个字。",
}
MODES = {"full": "全款预售", "deposit": "定金 + 尾款"}
STATUS = {"pending": "待审核", "approved": "已通过", "rejected": "已驳回", "ended": "已结束"}


class OfferForm(Schema):
    sku_id: int = Field(ge=1, le=2**63 - 1)
    mode: Literal["full", "deposit"]
    price: str
    deposit: str = ""
    starts_at: str
    ends_at: str
    balance_starts_at: str = ""
    balance_ends_at: str = ""
    ship_from: str
    note: str = Field("", max_length=200)


def _when(text: str, field: str) -> str | None:
    """A datetime-local input (Asia/Shanghai) as an aware ISO time; blank is None."""
    if not text:
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed.field(field, HINTS[field]) from None
    return (t if t.tzinfo else t.replace(tzinfo=clock.SHANGHAI)).isoformat()


def _offer_in(form: dict) -> OfferIn:
    f = parse(OfferForm, form)
    body = {"sku_id": f.sku_id, "mode": f.mode, "price_fen": fen_from_yuan(f.price, "price_fen"),
            "deposit_fen": fen_from_yuan(f.deposit, "deposit_fen") if f.deposit and f.mode == "deposit" else 0,
            "note": f.note}
    for name in ("starts_at", "ends_at", "balance_starts_at", "balance_ends_at", "ship_from"):
        value = _when(getattr(f, name), name)
        if value is not None:
            body[name] = value
    return validate(OfferIn, body, "body")


async def _skus(ctx: Ctx) -> list[tuple[int, str]]:
    """(sku id, product · spec) of the caller's active merchants' products."""
    out = []
    for m in await _mine(ctx):
        for p in (await catalog.list_products(ctx.principal, m.id, None, None, 100)).items:
            out += [(s.id, f"{p.name} · {s.spec}") for s in p.skus]
    return out


async def _shop_page(ctx: Ctx, form: dict | None = None, errors: dict | None = None, status: int = 200):
    offers = await presale.merchant_offers(ctx.principal.merchant_ids)
    return ctx.render("mer_presales.html", status=status, offers=offers, skus=await _skus(ctx), form=form or {},
                      errors=errors or {}, modes=MODES, states=STATUS)


@bp.get("/shop/presales")
@page(roles=MERCHANT)
async def shop_presales(request: Request, ctx: Ctx):
    return await _shop_page(ctx)


@bp.post("/shop/presales")
@page(roles=MERCHANT)
async def shop_propose(request: Request, ctx: Ctx):
    form = ctx.form()
    try:
        await presale.create_offer(ctx.principal.merchant_ids, _offer_in(form), actor_id=ctx.user_id)
    except ValidationFailed as exc:
        errors = {k.replace("price", "price_fen") if k == "price" else k: v
                  for k, v in field_errors(exc, HINTS).items()}
        return await _shop_page(ctx, form, errors, 422)
    except AppError as exc:
        if exc.code != "presale_offer_overlaps":
            raise
        return await _shop_page(ctx, form, {"starts_at": "该规格已有时间重叠的预售，请调整日期。"}, 409)
    return redirect("/console/shop/presales", status=303)


@bp.get("/shop/presales/<offer_id:int>")
@page(roles=MERCHANT)
async def shop_offer(request: Request, ctx: Ctx, offer_id: int):
    offer = await presale.merchant_offer(ctx.principal.merchant_ids, offer_id)
    orders = await presale.offer_orders(offer_id, ctx.principal.merchant_ids)
    return ctx.render("mer_presale.html", offer=offer, orders=orders, modes=MODES, states=STATUS)


@bp.post("/shop/presales/<offer_id:int>/end")
@page(roles=MERCHANT)
async def shop_end(request: Request, ctx: Ctx, offer_id: int):
    await presale.end_offer(ctx.principal.merchant_ids, offer_id, actor_id=ctx.user_id)
    return redirect("/console/shop/presales", status=303)


class OfficeFilter(QuerySchema):
    status: Literal["pending", "approved", "rejected", "ended"] | None = None


@bp.get("/presales")
@page(roles=ADMIN)
async def office_presales(request: Request, ctx: Ctx):
    f, ferrors = filters(ctx, OfficeFilter)
    return ctx.render("presales.html", offers=await presale.office_offers(f.status), f=f, errors=ferrors,
                      modes=MODES, states=STATUS)


class ReviewForm(Schema):
    decision: Literal["approve", "reject"]
    note: str = Field("", max_length=200)


@bp.post("/presales/<offer_id:int>/review")
@page(roles=ADMIN)
async def office_review(request: Request, ctx: Ctx, offer_id: int):
    f = parse(ReviewForm, ctx.form())
    await presale.review(offer_id, approve=f.decision == "approve", note=f.note, actor_id=ctx.user_id)
    return redirect("/console/presales", status=303)


@bp.get("/presales/<offer_id:int>")
@page(roles=ADMIN)
async def office_offer(request: Request, ctx: Ctx, offer_id: int):
    offer = await presale.office_offer(offer_id)
    orders = await presale.offer_orders(offer_id)
    return ctx.render("presale.html", offer=offer, orders=orders, modes=MODES, states=STATUS)


class DepositRefundForm(Schema):
    reason: str = Field("", max_length=200)


@bp.post("/presale/orders/<order_id:int>/deposit-refund")
@page(roles=ADMIN)
async def office_refund_deposit(request: Request, ctx: Ctx, order_id: int):
    f = parse(DepositRefundForm, ctx.form())
    out = await presale.refund_deposit(order_id, buyer_id=None, actor_id=ctx.user_id, reason=f.reason)
    return redirect(f"/console/presales/{out.offer_id}", status=303)
