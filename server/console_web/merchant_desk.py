"""The merchant's workspace (商户工作台, merchant role), on a phone or a desk: products and SKUs with
photos, review outcomes and takedown reasons, price and stock; orders holding the merchant's goods and
refunds to decide; production batches with steps, inspections and trace label sheets.

A surface: every read and write goes through a service with the caller's principal, so a merchant sees
and touches only its own merchants' objects (the services answer 404 for anything else), in pages and
fragments alike. Photos are scaled in the browser (static/mer.js) and checked again by the server."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import html, redirect

from server.catalog import service as catalog
from server.catalog import taxonomy
from server.catalog.schemas import ProductIn, ProductPatch, SkuIn, SkuPatch
from server.complaints import service as complaints  # the home page's complaint count (#26)
from server.console_web import messages, stock_journal
from server.console_web.web import Ctx, env, field_errors, filters, next_url, page, parse, security_headers
from server.fulfillment import service as fulfillment
from server.kit import clock, runtime
from server.inventory.errors import StockRefused
from server.inventory.schemas import StockMovesQuery
from server.kit.errors import AppError, ValidationFailed
from server.kit.http import validate
from server.kit.money import fen_of_yuan
from server.kit.schemas import QuerySchema, Schema
from server.media import IMAGE_KINDS, read_upload, store_upload
from server.media.heic import heic_to_jpeg
from server.merchants import service as merchants
from server.orders import refunds
from server.orders import service as orders
from server.orders.schemas import OrderListQuery
from server.trace import service as trace
from server.trace.schemas import BatchIn, BatchQuery, InspectionIn, StepIn
from server.media.errors import MediaCode

bp = Blueprint("console_web_merchant_desk", url_prefix="/console/shop")
MERCHANT = ("merchant",)
PAGE_SIZE = 20
PHOTO_LONG_SIDE = 2048   # static/mer.js scales a photo to this before it is sent

# This workspace's wording for its fields (over the console's usual one).
HINTS = {
    "name": "请输入商品名称（1–64 个字）。",
    "category_id": "请选择类目。",
    "merchant_id": "请选择店铺。",
    "spec": "请输入规格，如“500ml”（1–32 个字）。",
    "price": "请输入价格（元），如 28.00。",
    "list_price": "请输入划线价（元），不低于售价。",
    "stock": "请输入库存（0–1000000 的整数）。",
    "delta": "请输入要增加（正数）或减少（负数）的件数。",
    "images": "请至少上传一张商品照片。",
    "skus": "请至少添加一个规格。",
    "file": "请上传 JPEG、PNG、WebP 或 HEIC 照片。",
    "reason": "请填写原因（1–200 个字）。",
    "code": "批次号只能包含字母、数字、点、横线和下划线（1–64 位）。",
    "product_id": "请选择商品。",
    "description": "请填写环节说明（1–500 个字）。",
    "at": "请填写时间，如 2026-09-01 08:00。",
    "lab": "请填写检测机构（1–64 个字）。",
    "tested_on": "请填写检测日期，如 2026-09-01。",
    "result": "请选择检测结论。",
    "count": "请输入 1–20000 的数量。",
    "quantity": "请输入产量（正整数）。",
    "produced_on": "请填写生产日期，如 2026-09-01。",
}
# Order and refund states as a merchant reads them.
STATES = {
    "pending_payment": "待付款", "paid": "已付款", "in_fulfilment": "备货中", "ready_for_pickup": "待自提",
    "out_for_delivery": "配送中", "delivered": "已送达", "completed": "已完成", "cancelled": "已取消",
    "closed": "已关闭", "requested": "待处理", "approved": "已同意", "processing": "退款中",
    "succeeded": "已退款", "rejected": "已拒绝", "failed": "退款失败",
    "deposit_paid": "已付定金",  # pre-sale (#28)
}
env.filters["mlabel"] = lambda v: STATES.get(str(v), messages.label(v))
FILE_MESSAGES = {
    "file_too_large": "照片太大（超过 {mb} MB）。请重新拍照，或在手机相册中压缩后再上传。",
    "unsupported_file_type": "这不是照片：只接受 JPEG、PNG、WebP 或 HEIC（苹果手机）照片。",
}


def fen_from_yuan(text: str | None, field: str) -> int:
    """Fen from a price typed in yuan ("28", "28.5", "28.50"); anything else is named beside the field."""
    fen = fen_of_yuan(text or "")
    if fen is None or not 0 < fen <= 100_000_000:   # up to 1,000,000 yuan
        raise ValidationFailed.field(field, HINTS.get(field, HINTS["price"]))
    return fen


def _errors(exc: ValidationFailed) -> dict[str, str]:
    return field_errors(exc, HINTS)


async def _mine(ctx: Ctx) -> list:
    """The caller's active merchants (the ones it may sell for)."""
    return [m for m in await merchants.my_merchants(ctx.principal)
            if m.id in ctx.principal.merchant_ids and m.status == "active"]


def _fragment(ctx: Ctx, template: str, page_template: str, **values):
    return ctx.render(template if ctx.htmx else page_template, **values)


# ---- 首页 ---------------------------------------------------------------------------------------

@bp.get("/")
@page(roles=MERCHANT)
async def home(request: Request, ctx: Ctx):
    mine = await merchants.my_merchants(ctx.principal)
    mine = [m for m in mine if m.id in ctx.principal.merchant_ids]
    waiting = await refunds.merchant_refunds(ctx.principal.merchant_ids, "requested")
    recent = await orders.merchant_orders(ctx.principal.merchant_ids, OrderListQuery(limit=5))
    products = {}
    for m in mine:
        if m.status == "active":
            products[m.id] = (await catalog.list_products(ctx.principal, m.id, None, None, 8)).items
    complaints_waiting = await complaints.merchant_counts(ctx.principal)  # complaints (#26)
    return ctx.render("mer_home.html", merchants=mine, products=products, waiting=waiting,
                      recent=recent.items, complaints_waiting=complaints_waiting)


# ---- 商品 ---------------------------------------------------------------------------------------

class ProductFilter(QuerySchema):
    merchant: int | None = Field(None, ge=1, le=2**63 - 1)
    status: Literal["draft", "pending", "on_sale", "rejected", "off_shelf"] | None = None
    cursor: str | None = Field(None, max_length=200)


@bp.get("/products")
@page(roles=MERCHANT)
async def product_list(request: Request, ctx: Ctx):
    f, errors = filters(ctx, ProductFilter)
    mine = await _mine(ctx)
    current = next((m for m in mine if m.id == f.merchant), mine[0] if mine else None)
    rows, next_href = [], None
    if current is not None:
        result = await catalog.list_products(ctx.principal, current.id, f.status, f.cursor, PAGE_SIZE)
        rows, next_href = result.items, next_url(result.next_cursor, request)
    return ctx.render("mer_products.html", f=f, errors=errors, merchants=mine, current=current, rows=rows,
                      next_href=next_href)


class ProductForm(Schema):
    merchant_id: int = Field(ge=1, le=2**63 - 1)
    category_id: int = Field(ge=1, le=2**63 - 1)
    name: str = Field(min_length=1, max_length=64)
    subtitle: str = Field("", max_length=128)
    description: str = Field("", max_length=5000)
    spec: str = Field(min_length=1, max_length=32)
    price: str = Field(max_length=16)
    list_price: str | None = Field(None, max_length=16)
    stock: int = Field(0, ge=0, le=1_000_000)
    weight_g: int = Field(0, ge=0, le=1_000_000)
    cold_chain: Literal["1"] | None = None


def _images(request: Request) -> list[str]:
    return [u.strip() for u in (request.form or {}).getlist("images", []) if u.strip()]


async def _new_form(ctx: Ctx, form: dict, errors: dict, images: list[str], status: int = 200):
    cats = [c for c in await taxonomy.categories() if not c.hidden]
    return _fragment(ctx, "_mer_product_form.html", "mer_product_new.html", status=status, form=form,
                     errors=errors, images=images, merchants=await _mine(ctx), categories=cats,
                     long_side=PHOTO_LONG_SIDE, max_bytes=runtime.settings().media_image_max_bytes)


@bp.get("/products/new")
@page(roles=MERCHANT)
async def product_new(request: Request, ctx: Ctx):
    return await _new_form(ctx, {}, {}, [])


@bp.post("/products")
@page(roles=MERCHANT)
async def product_create(request: Request, ctx: Ctx):
    form, images = ctx.form(), _images(request)
    try:
        f = parse(ProductForm, form)
        sku = {"spec": f.spec, "price": fen_from_yuan(f.price, "price"), "stock": f.stock, "weight_g": f.weight_g,
               "cold_chain": f.cold_chain == "1"}
        if f.list_price:
            sku["list_price"] = fen_from_yuan(f.list_price, "list_price")
        body = validate(ProductIn, {"category_id": f.category_id, "name": f.name, "subtitle": f.subtitle,
                                    "description": f.description, "images": images, "skus": [sku]}, "body")
        created = await catalog.create_product(ctx.principal, f.merchant_id, body)
    except ValidationFailed as exc:
        return await _new_form(ctx, form, _errors(exc), images)
    target = f"/console/shop/products/{created.id}?created=1"
    if ctx.htmx:
        return ctx.render("_flash.html", message="已保存", kind="ok", headers={"HX-Redirect": target})
    return redirect(target, status=303)


@bp.post("/photos")
@page(roles=MERCHANT)
async def photo_upload(request: Request, ctx: Ctx):
    """One product photo: HEIC made JPEG, then the media service's checks (content, 5 MiB, pixels)."""
    max_bytes = runtime.settings().media_image_max_bytes
    if not await _mine(ctx):
        return ctx.render("_mer_photo.html", error="您还没有可以上架商品的店铺。", status=200 if ctx.htmx else 404)
    try:
        data, filename = read_upload(request, "file")
        if len(data) > max_bytes:   # before any decoding: the limit holds for HEIC too
            raise ValidationFailed("file too large", code=MediaCode.FILE_TOO_LARGE, status=413)
        data = await heic_to_jpeg(data, PHOTO_LONG_SIDE)
        stored = await store_upload(data, kind="product", filename=filename, allowed=IMAGE_KINDS,
                                    max_bytes=max_bytes)
    except ValidationFailed as exc:
        message = FILE_MESSAGES.get(exc.code, "").format(mb=max_bytes // 1048576) or \
            "照片无法读取（文件损坏或不是照片），请重新拍照后上传。"
        # static/mer.js reads the message from the fragment (a fragment answers 200, as htmx's do).
        return ctx.render("_mer_photo.html", error=message, status=200 if ctx.htmx else exc.status)
    return ctx.render("_mer_photo.html", url=stored.url, width=stored.width, height=stored.height, status=201)


async def _product_page(ctx: Ctx, product_id: int, notice: str = "", errors: dict | None = None,
                        form: dict | None = None, status: int = 200, images: list[str] | None = None):
    p = await catalog.get_product(ctx.principal, product_id)
    reviews = await catalog.product_reviews(ctx.principal, product_id)
    cats = {c.id: c.name for c in await taxonomy.categories()}
    return _fragment(ctx, "_mer_product.html", "mer_product.html", status=status, p=p, reviews=reviews,
                     categories=cats, notice=notice, errors=errors or {}, form=form or {},
                     images=p.images if images is None else images, long_side=PHOTO_LONG_SIDE,
                     max_bytes=runtime.settings().media_image_max_bytes)


@bp.get("/products/<product_id:int>")
@page(roles=MERCHANT)
async def product_detail(request: Request, ctx: Ctx, product_id: int):
    notice = "商品已保存为草稿。确认照片与规格无误后，点击“提交审核”。" if request.args.get("created") else ""
    return await _product_page(ctx, product_id, notice)


class ProductEditForm(Schema):
    name: str = Field(min_length=1, max_length=64)
    subtitle: str = Field("", max_length=128)
    description: str = Field("", max_length=5000)


@bp.post("/products/<product_id:int>")
@page(roles=MERCHANT)
async def product_edit(request: Request, ctx: Ctx, product_id: int):
    form, images = ctx.form(), _images(request)
    try:
        f = parse(ProductEditForm, form)
        patch = validate(ProductPatch, {"name": f.name, "subtitle": f.subtitle, "description": f.description,
                                        "images": images}, "body")
        p = await catalog.update_product(ctx.principal, product_id, patch)
    except ValidationFailed as exc:
        return await _product_page(ctx, product_id, errors=_errors(exc), form=form, images=images)
    notice = "修改已提交审核；审核通过前，顾客看到的仍是原来的内容。" if p.pending_revision else "已保存。"
    return await _product_page(ctx, product_id, notice)


@bp.post("/products/<product_id:int>/submit")
@page(roles=MERCHANT)
async def product_submit(request: Request, ctx: Ctx, product_id: int):
    try:
        await catalog.submit_product(ctx.principal, product_id)
    except ValidationFailed as exc:
        return await _product_page(ctx, product_id, errors=_errors(exc))
    return await _product_page(ctx, product_id, "已提交审核，县电商办审核后会在这里显示结果。")


@bp.post("/products/<product_id:int>/off-shelf")
@page(roles=MERCHANT)
async def product_off_shelf(request: Request, ctx: Ctx, product_id: int):
    await catalog.take_off_shelf(ctx.principal, product_id)
    return await _product_page(ctx, product_id, "已下架。修改后可重新提交审核上架。")


class SkuForm(Schema):
    spec: str = Field(min_length=1, max_length=32)
    price: str = Field(max_length=16)
    list_price: str | None = Field(None, max_length=16)
    stock: int = Field(0, ge=0, le=1_000_000)
    weight_g: int = Field(0, ge=0, le=1_000_000)


@bp.post("/products/<product_id:int>/skus")
@page(roles=MERCHANT)
async def sku_add(request: Request, ctx: Ctx, product_id: int):
    form = ctx.form()
    try:
        f = parse(SkuForm, form)
        body = {"spec": f.spec, "price": fen_from_yuan(f.price, "price"), "stock": f.stock, "weight_g": f.weight_g}
        if f.list_price:
            body["list_price"] = fen_from_yuan(f.list_price, "list_price")
        await catalog.add_sku(ctx.principal, product_id, validate(SkuIn, body, "body"))
    except ValidationFailed as exc:
        return await _product_page(ctx, product_id, errors={f"new_{k}": v for k, v in _errors(exc).items()},
                                   form=form)
    return await _product_page(ctx, product_id, f"已添加规格“{form.get('spec', '')}”。")


class PriceForm(Schema):
    product_id: int = Field(ge=1, le=2**63 - 1)
    price: str = Field(max_length=16)
    list_price: str | None = Field(None, max_length=16)


@bp.post("/skus/<sku_id:int>/price")
@page(roles=MERCHANT)
async def sku_price(request: Request, ctx: Ctx, sku_id: int):
    form = ctx.form()
    f = parse(PriceForm, {"price": "", **form})
    try:
        body = {"price": fen_from_yuan(f.price, "price")}
        if f.list_price:
            body["list_price"] = fen_from_yuan(f.list_price, "list_price")
        p = await catalog.update_sku(ctx.principal, sku_id, validate(SkuPatch, body, "body"))
    except ValidationFailed as exc:
        return await _product_page(ctx, f.product_id, errors={f"sku{sku_id}": next(iter(_errors(exc).values()))})
    notice = "降价超过一半，需县电商办审核后生效。" if p.pending_revision else "价格已更新。"
    return await _product_page(ctx, p.id, notice)


class StockForm(Schema):
    product_id: int = Field(ge=1, le=2**63 - 1)
    delta: int = Field(ge=-1_000_000, le=1_000_000)


@bp.post("/skus/<sku_id:int>/stock")
@page(roles=MERCHANT)
async def sku_stock(request: Request, ctx: Ctx, sku_id: int):
    form = ctx.form()
    try:
        f = parse(StockForm, form)
        sku = await catalog.adjust_stock(ctx.principal, sku_id, f.delta)
    except ValidationFailed as exc:
        pid = int(form["product_id"]) if form.get("product_id", "").isdigit() else 0
        return await _product_page(ctx, pid, errors={f"stock{sku_id}": next(iter(_errors(exc).values()))})
    except StockRefused:
        return await _product_page(ctx, f.product_id, errors={f"stock{sku_id}": "库存不足，不能减少这么多件。"})
    return await _product_page(ctx, f.product_id, f"“{sku.spec}”库存已调整为 {sku.stock} 件。")


@bp.get("/skus/<sku_id:int>/stock-moves")
@page(roles=MERCHANT)
async def sku_stock_moves(request: Request, ctx: Ctx, sku_id: int):
    """库存流水 of one of the merchant's SKUs (another's is a 404)."""
    f, _ = filters(ctx, StockMovesQuery)
    moves = await catalog.sku_stock_moves(ctx.principal, sku_id, f.cursor, stock_journal.PAGE)
    [sku] = await fulfillment.stock([sku_id])  # in the merchant's scope: the journal checked it
    return stock_journal.render(ctx, sku, moves, f"/console/shop/products/{sku.product_id}", "返回商品",
                                layout="mer_base.html")


# ---- 订单与退款 -----------------------------------------------------------------------------------

class OrderFilter(QuerySchema):
    status: Literal["pending_payment", "paid", "in_fulfilment", "ready_for_pickup", "out_for_delivery",
                    "delivered", "completed", "cancelled", "closed"] | None = None
    cursor: str | None = Field(None, max_length=200)


@bp.get("/orders")
@page(roles=MERCHANT)
async def order_list(request: Request, ctx: Ctx):
    f, errors = filters(ctx, OrderFilter)
    result = await orders.merchant_orders(ctx.principal.merchant_ids,
                                          OrderListQuery(status=f.status, cursor=f.cursor, limit=PAGE_SIZE))
    waiting = await refunds.merchant_refunds(ctx.principal.merchant_ids, "requested")
    return ctx.render("mer_orders.html", f=f, errors=errors, rows=result.items, waiting=waiting,
                      next_href=next_url(result.next_cursor, request))


async def _order_page(ctx: Ctx, order_id: int, notice: str = "", errors: dict | None = None,
                      form: dict | None = None, status: int = 200):
    o = await orders.merchant_order(ctx.principal.merchant_ids, order_id)
    rows = await refunds.merchant_refunds(ctx.principal.merchant_ids, order_id=order_id)
    return _fragment(ctx, "_mer_order.html", "mer_order.html", status=status, o=o, refunds=rows,
                     notice=notice, errors=errors or {}, form=form or {})


@bp.get("/orders/<order_id:int>")
@page(roles=MERCHANT)
async def order_detail(request: Request, ctx: Ctx, order_id: int):
    return await _order_page(ctx, order_id)


class DecisionForm(Schema):
    order_id: int = Field(ge=1, le=2**63 - 1)
    reason: str = Field("", max_length=200)


async def _decide(ctx: Ctx, refund_id: int, approve: bool):
    form = ctx.form()
    f = parse(DecisionForm, form)
    if not approve and not f.reason:
        return await _order_page(ctx, f.order_id, errors={f"reason{refund_id}": "拒绝退款须填写原因，买家会看到。"},
                                 form=form)
    await refunds.decide(refund_id, approve=approve, actor_id=ctx.user_id, merchant_ids=ctx.principal.merchant_ids,
                         note=f.reason)
    return await _order_page(ctx, f.order_id, "已同意退款，款项将原路退回。" if approve else "已拒绝退款。")


@bp.post("/refunds/<refund_id:int>/approve")
@page(roles=MERCHANT)
async def refund_approve(request: Request, ctx: Ctx, refund_id: int):
    return await _decide(ctx, refund_id, True)


@bp.post("/refunds/<refund_id:int>/reject")
@page(roles=MERCHANT)
async def refund_reject(request: Request, ctx: Ctx, refund_id: int):
    return await _decide(ctx, refund_id, False)


# ---- 生产批次与溯源标签 ------------------------------------------------------------------------------

class BatchFilter(QuerySchema):
    merchant: int | None = Field(None, ge=1, le=2**63 - 1)
    cursor: str | None = Field(None, max_length=200)


async def _products_of(ctx: Ctx, merchant_id: int) -> list:
    return (await catalog.list_products(ctx.principal, merchant_id, None, None, 100)).items


async def _batches_page(ctx: Ctx, form: dict | None = None, errors: dict | None = None, status: int = 200):
    f, ferrors = filters(ctx, BatchFilter)
    mine = await _mine(ctx)
    current = next((m for m in mine if m.id == f.merchant), mine[0] if mine else None)
    rows, next_href, products = [], None, []
    if current is not None:
        result = await trace.list_batches(ctx.principal, BatchQuery(cursor=f.cursor, limit=PAGE_SIZE), current.id)
        rows, next_href = result.items, next_url(result.next_cursor, ctx.request)
        products = await _products_of(ctx, current.id)
    return ctx.render("mer_batches.html", status=status, f=f, errors=ferrors, merchants=mine, current=current,
                      rows=rows, next_href=next_href, products=products, names={p.id: p.name for p in products},
                      bform=form or {}, berrors=errors or {})


@bp.get("/batches")
@page(roles=MERCHANT)
async def batch_list(request: Request, ctx: Ctx):
    return await _batches_page(ctx)


class BatchForm(Schema):
    product_id: int = Field(ge=1, le=2**63 - 1)
    code: str = Field(min_length=1, max_length=64)
    produced_on: date | None = None
    quantity: int | None = Field(None, ge=1, le=100_000_000)
    origin_plot: str = Field("", max_length=64)
    note: str = Field("", max_length=500)


@bp.post("/batches")
@page(roles=MERCHANT)
async def batch_create(request: Request, ctx: Ctx):
    form = ctx.form()
    try:
        f = parse(BatchForm, form)
        product = await catalog.get_product(ctx.principal, f.product_id)
        b = await trace.create_batch(ctx.principal, product.merchant_id,
                                     validate(BatchIn, f.model_dump(exclude_none=True), "body"))
    except ValidationFailed as exc:
        return await _batches_page(ctx, form, _errors(exc), 422)
    except AppError as exc:
        if exc.code != "batch_exists":
            raise
        return await _batches_page(ctx, form, {"code": "该批次号已用过，请换一个。"}, 409)
    return redirect(f"/console/shop/batches/{b.id}", status=303)


async def _batch_page(ctx: Ctx, batch_id: int, notice: str = "", errors: dict | None = None,
                      form: dict | None = None, status: int = 200):
    b = await trace.get_batch(ctx.principal, batch_id)
    product = await catalog.get_product(ctx.principal, b.product_id)
    return _fragment(ctx, "_mer_batch.html", "mer_batch.html", status=status, b=b, product=product,
                     notice=notice, errors=errors or {}, form=form or {},
                     now=clock.now().astimezone(clock.SHANGHAI).strftime("%Y-%m-%dT%H:%M"))


@bp.get("/batches/<batch_id:int>")
@page(roles=MERCHANT)
async def batch_detail(request: Request, ctx: Ctx, batch_id: int):
    return await _batch_page(ctx, batch_id)


class StepForm(Schema):
    at: datetime
    actor: str = Field("", max_length=32)
    description: str = Field(min_length=1, max_length=500)


@bp.post("/batches/<batch_id:int>/steps")
@page(roles=MERCHANT)
async def batch_step(request: Request, ctx: Ctx, batch_id: int):
    form = ctx.form()
    try:
        f = parse(StepForm, form)
        at = f.at if f.at.tzinfo else f.at.replace(tzinfo=clock.SHANGHAI)   # typed in Beijing time
        await trace.add_step(ctx.principal, batch_id,
                             validate(StepIn, {"at": at, "actor": f.actor, "description": f.description}, "body"))
    except ValidationFailed as exc:
        return await _batch_page(ctx, batch_id, errors=_errors(exc), form=form)
    return await _batch_page(ctx, batch_id, "已添加生产环节。")


class InspectionForm(Schema):
    lab: str = Field(min_length=1, max_length=64)
    tested_on: date
    result: Literal["pass", "fail"]
    summary: str = Field("", max_length=200)


@bp.post("/batches/<batch_id:int>/inspections")
@page(roles=MERCHANT)
async def batch_inspection(request: Request, ctx: Ctx, batch_id: int):
    form = ctx.form()
    try:
        f = parse(InspectionForm, form)
        await trace.add_inspection(ctx.principal, batch_id, validate(InspectionIn, f.model_dump(), "body"))
    except ValidationFailed as exc:
        return await _batch_page(ctx, batch_id, errors={f"i_{k}": v for k, v in _errors(exc).items()}, form=form)
    return await _batch_page(ctx, batch_id, "已添加检测报告。")


class CodesForm(Schema):
    count: int = Field(ge=1, le=20_000)


@bp.post("/batches/<batch_id:int>/codes")
@page(roles=MERCHANT)
async def batch_codes(request: Request, ctx: Ctx, batch_id: int):
    form = ctx.form()
    try:
        out = await trace.issue_item_codes(ctx.principal, batch_id, parse(CodesForm, form).count)
    except ValidationFailed as exc:
        return await _batch_page(ctx, batch_id, errors=_errors(exc), form=form)
    return await _batch_page(ctx, batch_id, f"已生成一物一码 No.{out.first_serial}–No.{out.last_serial}。")


class LabelsFilter(QuerySchema):
    first: int = Field(0, ge=0, le=10**9)
    count: int = Field(30, ge=1, le=300)


@bp.get("/batches/<batch_id:int>/labels")
@page(roles=MERCHANT)
async def batch_labels(request: Request, ctx: Ctx, batch_id: int):
    f, _ = filters(ctx, LabelsFilter)
    sheet = await trace.label_sheet(ctx.principal, batch_id, f.first, f.count)
    return html(sheet, headers=security_headers())

