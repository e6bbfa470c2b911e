"""Promotion pages of the console (营销, #28): the office's coupons (优惠券: the platform's, funded by
the platform; it sees the shops' too) and festival campaigns (节庆活动: built from products and
coupons, published when no other overlaps, with their figures); a merchant's own coupons in its
workspace (/console/shop/coupons: funded by the shop, covering only its goods). A surface: the
promotions services do the work and scope every object (a merchant reaches only its own coupons)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from sanic import Blueprint, Request
from sanic.response import redirect

from server.console_web import messages
from server.console_web.web import Ctx, field_errors, page
from server.kit import clock
from server.kit.errors import Conflict, ValidationFailed
from server.kit.http import validate
from server.kit.money import fen_of_yuan
from server.merchants import service as merchants
from server.promotions import campaigns
from server.promotions import service as promotions
from server.promotions.errors import PromoCode
from server.promotions.schemas import CampaignIn, CouponIn

bp = Blueprint("console_web_promotions", url_prefix="/console")
MERCHANT = ("merchant",)
KINDS = [("full_reduction", "满减（满 X 元减 Y 元）"), ("instant", "立减"), ("percent", "折扣（可设封顶）")]
SCOPES = {"all": "全馆商品", "category": "指定类目", "merchant": "指定商户", "product": "指定商品"}
SHOP_SCOPES = {"merchant": "本店全部商品", "product": "本店指定商品"}
STATES = {"draft": "草稿", "upcoming": "未开始", "running": "进行中", "ended": "已结束", "withdrawn": "已撤下",
          "active": "发放中", "paused": "已暂停"}
HINTS = {
    "name": "请输入券名称（1–64 个字）。",
    "threshold": "请输入使用门槛（元），如 99；满减券的门槛须高于减免金额。",
    "amount": "请输入减免金额（元），如 10。",
    "rate": "请输入折扣，如 8.5 表示 85 折（0.1–9.9）。",
    "cap": "请输入封顶金额（元），留空为不封顶。",
    "scope": "请选择适用范围。",
    "scope_ids": "请填写编号，用逗号分隔，如 12,15（适用全馆时留空）。",
    "valid_from": "请填写开始时间（北京时间）。",
    "valid_until": "请填写结束时间（北京时间），须晚于开始时间。",
    "total_quantity": "请输入发放总量（1–10000000 的整数）。",
    "per_person_limit": "请输入每人限领张数（1–100）。",
    "title": "请输入活动名称（1–64 个字）。",
    "starts_at": "请填写活动开始时间（北京时间）。",
    "ends_at": "请填写活动结束时间（北京时间），须晚于开始时间。",
    "product_ids": "请填写商品编号，用逗号分隔，如 12,15。",
    "coupon_ids": "请填写优惠券编号，用逗号分隔，如 3,4。",
    "merchant_id": "请选择店铺。",
}
RENAMES = {"threshold_fen": "threshold", "amount_fen": "amount", "rate_bp": "rate", "cap_fen": "cap"}


def _errors(exc: ValidationFailed) -> dict[str, str]:
    out = {}
    for k, v in field_errors(exc, {**HINTS, **{f: HINTS[n] for f, n in RENAMES.items()}}).items():
        out[RENAMES.get(k, k)] = v
    return out


def _yuan(form: dict, name: str, *, required: bool = False) -> int:
    text = form.get(name, "")
    if not text:
        if required:
            raise ValidationFailed.field(name, HINTS[name])
        return 0
    fen = fen_of_yuan(text)
    if fen is None or not 0 <= fen <= 100_000_000:
        raise ValidationFailed.field(name, HINTS[name])
    return fen


def _time(form: dict, name: str) -> datetime:
    try:
        return datetime.fromisoformat(form.get(name, "")).replace(tzinfo=clock.SHANGHAI)
    except ValueError:
        raise ValidationFailed.field(name, HINTS[name]) from None


def _ids(form: dict, name: str) -> list[int]:
    text = form.get(name, "").replace("，", ",")
    try:
        ids = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValidationFailed.field(name, HINTS[name]) from None
    if any(not 0 < i < 2**63 for i in ids):
        raise ValidationFailed.field(name, HINTS[name])
    return ids


def _int(form: dict, name: str, default: int) -> int:
    text = form.get(name, "")
    if not text:
        return default
    if not text.isdigit():
        raise ValidationFailed.field(name, HINTS[name])
    return int(text)


def coupon_in(form: dict) -> CouponIn:
    """A coupon form (yuan, 折, Beijing times) as the service's CouponIn; errors name the form's fields."""
    kind = form.get("kind", "")
    data: dict = {"name": form.get("name", ""), "kind": kind, "scope": form.get("scope", "all"),
                  "threshold_fen": _yuan(form, "threshold"), "new_buyer_only": form.get("new_buyer_only") == "1",
                  "return_on_refund": form.get("return_on_refund") == "1", "scope_ids": _ids(form, "scope_ids"),
                  "valid_from": _time(form, "valid_from"), "valid_until": _time(form, "valid_until"),
                  "total_quantity": _int(form, "total_quantity", 0),
                  "per_person_limit": _int(form, "per_person_limit", 1)}
    if kind == "percent":
        try:
            rate = Decimal(form.get("rate", ""))
        except InvalidOperation:
            raise ValidationFailed.field("rate", HINTS["rate"]) from None
        if not (Decimal("0.1") <= rate <= Decimal("9.9")) or rate != rate.quantize(Decimal("0.01")):
            raise ValidationFailed.field("rate", HINTS["rate"])
        data |= {"rate_bp": int(rate * 1000), "cap_fen": _yuan(form, "cap")}
    else:
        data["amount_fen"] = _yuan(form, "amount", required=True)
    return validate(CouponIn, data, "body")


def campaign_in(form: dict) -> CampaignIn:
    return validate(CampaignIn, {"title": form.get("title", ""), "description": form.get("description", ""),
                                 "starts_at": _time(form, "starts_at"), "ends_at": _time(form, "ends_at"),
                                 "product_ids": _ids(form, "product_ids"), "coupon_ids": _ids(form, "coupon_ids")},
                    "body")


# ---- the office: platform coupons ---------------------------------------------------------------
async def _coupons_page(ctx: Ctx, form: dict | None = None, errors: dict | None = None, notice: str = "",
                        status: int = 200):
    return ctx.render("promo_coupons.html", status=status, rows=await promotions.list_coupons(), form=form or {},
                      errors=errors or {}, notice=notice, kinds=KINDS, scopes=SCOPES, states=STATES,
                      action="/console/coupons", shop=False, merchants=[])


@bp.get("/coupons")
@page()
async def coupon_list(request: Request, ctx: Ctx):
    return await _coupons_page(ctx)


@bp.post("/coupons")
@page()
async def coupon_create(request: Request, ctx: Ctx):
    form = ctx.form()
    try:
        c = await promotions.create_coupon(coupon_in(form), actor_id=ctx.user_id)
    except ValidationFailed as exc:
        return await _coupons_page(ctx, form, _errors(exc))
    return await _coupons_page(ctx, notice=f"已创建优惠券 #{c.id}「{c.name}」：{c.description}。")


@bp.post("/coupons/<coupon_id:int>/status")
@page()
async def coupon_status(request: Request, ctx: Ctx, coupon_id: int):
    status = ctx.form().get("status", "")
    c = await promotions.set_coupon_status(coupon_id, status, actor_id=ctx.user_id)
    return await _coupons_page(ctx, notice=f"优惠券 #{c.id} 已{'恢复发放' if status == 'active' else '暂停发放'}。")


# ---- the merchant's own coupons -----------------------------------------------------------------
async def _mine(ctx: Ctx) -> list:
    return [m for m in await merchants.my_merchants(ctx.principal)
            if m.id in ctx.principal.merchant_ids and m.status == "active"]


async def _shop_page(ctx: Ctx, form: dict | None = None, errors: dict | None = None, notice: str = "",
                     status: int = 200):
    rows = await promotions.list_coupons(merchant_ids=ctx.principal.merchant_ids)
    return ctx.render("promo_coupons.html", status=status, rows=rows, form=form or {}, errors=errors or {},
                      notice=notice, kinds=KINDS, scopes=SHOP_SCOPES, states=STATES, action="/console/shop/coupons",
                      shop=True, merchants=await _mine(ctx))


@bp.get("/shop/coupons")
@page(roles=MERCHANT)
async def shop_coupons(request: Request, ctx: Ctx):
    return await _shop_page(ctx)


@bp.post("/shop/coupons")
@page(roles=MERCHANT)
async def shop_coupon_create(request: Request, ctx: Ctx):
    form = ctx.form()
    mine = {m.id for m in await _mine(ctx)}
    try:
        merchant_id = _int(form, "merchant_id", 0)
        if merchant_id not in mine:
            raise ValidationFailed.field("merchant_id", HINTS["merchant_id"])
        if form.get("scope") == "merchant":
            form["scope_ids"] = str(merchant_id)
        c = await promotions.create_coupon(coupon_in(form), actor_id=ctx.user_id, merchant_id=merchant_id)
    except ValidationFailed as exc:
        return await _shop_page(ctx, form, _errors(exc))
    return await _shop_page(ctx, notice=f"已创建店铺优惠券 #{c.id}「{c.name}」：{c.description}（由本店承担）。")


@bp.post("/shop/coupons/<coupon_id:int>/status")
@page(roles=MERCHANT)
async def shop_coupon_status(request: Request, ctx: Ctx, coupon_id: int):
    status = ctx.form().get("status", "")
    c = await promotions.set_coupon_status(coupon_id, status, actor_id=ctx.user_id,
                                           merchant_ids=ctx.principal.merchant_ids)
    return await _shop_page(ctx, notice=f"优惠券 #{c.id} 已{'恢复发放' if status == 'active' else '暂停发放'}。")


# ---- the office: festival campaigns -------------------------------------------------------------
async def _campaigns_page(ctx: Ctx, form: dict | None = None, errors: dict | None = None, notice: str = "",
                          status: int = 200, editing: int | None = None):
    rows = await campaigns.list_campaigns()
    figures = await campaigns.figures_of(rows)
    return ctx.render("promo_campaigns.html", status=status, rows=rows, figures=figures, form=form or {},
                      errors=errors or {}, notice=notice, states=STATES, editing=editing)


def _local(dt: datetime) -> str:
    return dt.astimezone(clock.SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def campaign_form(c) -> dict:
    """A campaign as the edit form's values (Beijing times, ids comma-separated)."""
    return {"title": c.title, "description": c.description, "starts_at": _local(c.starts_at),
            "ends_at": _local(c.ends_at), "product_ids": ",".join(map(str, c.product_ids)),
            "coupon_ids": ",".join(map(str, c.coupon_ids))}


@bp.get("/campaigns")
@page()
async def campaign_list(request: Request, ctx: Ctx):
    return await _campaigns_page(ctx)


@bp.post("/campaigns")
@page()
async def campaign_create(request: Request, ctx: Ctx):
    form = ctx.form()
    try:
        c = await campaigns.create_campaign(campaign_in(form), actor_id=ctx.user_id)
    except ValidationFailed as exc:
        return await _campaigns_page(ctx, form, _errors(exc))
    return await _campaigns_page(ctx, notice=f"已创建活动草稿 #{c.id}「{c.title}」，发布后在小程序中展示。")


@bp.get("/campaigns/<campaign_id:int>/edit")
@page()
async def campaign_edit(request: Request, ctx: Ctx, campaign_id: int):
    c = await campaigns.get_campaign(campaign_id)
    return await _campaigns_page(ctx, campaign_form(c), editing=c.id)


@bp.post("/campaigns/<campaign_id:int>")
@page()
async def campaign_update(request: Request, ctx: Ctx, campaign_id: int):
    form = ctx.form()
    await campaigns.get_campaign(campaign_id)  # an unknown id is a 404 before the form is read
    try:
        c = await campaigns.update_campaign(campaign_id, campaign_in(form), actor_id=ctx.user_id)
    except ValidationFailed as exc:
        return await _campaigns_page(ctx, form, _errors(exc), editing=campaign_id)
    except Conflict as exc:
        if exc.code != PromoCode.CAMPAIGN_OVERLAP:
            raise
        other = exc.details[0]
        return await _campaigns_page(ctx, form, {"publish": f"{messages.error_message(exc)}"
                                                            f"（「{other['title']}」#{other['campaign_id']}）"},
                                     editing=campaign_id)
    return await _campaigns_page(ctx, notice=f"活动 #{c.id}「{c.title}」已保存。")


@bp.post("/campaigns/<campaign_id:int>/publish")
@page()
async def campaign_publish(request: Request, ctx: Ctx, campaign_id: int):
    try:
        c = await campaigns.publish(campaign_id, actor_id=ctx.user_id)
    except Conflict as exc:
        if exc.code != PromoCode.CAMPAIGN_OVERLAP:
            raise
        other = exc.details[0]
        return await _campaigns_page(ctx, errors={"publish": f"{messages.error_message(exc)}"
                                                             f"（「{other['title']}」#{other['campaign_id']}）"})
    return await _campaigns_page(ctx, notice=f"活动「{c.title}」已发布。")


@bp.post("/campaigns/<campaign_id:int>/withdraw")
@page()
async def campaign_withdraw(request: Request, ctx: Ctx, campaign_id: int):
    await campaigns.withdraw(campaign_id, actor_id=ctx.user_id)
    return redirect("/console/campaigns", status=303)

