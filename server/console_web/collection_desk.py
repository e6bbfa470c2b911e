"""First-mile collection in the web console (村级揽收, #26): the station desk records a collection
from a household it sells for and scans it on up; the county warehouse scans the arrival and receives
it against the collection (no inbound note); the office reads the 农产品上行 figures. Every page and
fragment names its station in the URL where there is one; the services refuse any other."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from pydantic import Field
from sanic import Blueprint, Request

from server.collection import service as collection
from server.collection.errors import CollectionCode
from server.collection.schemas import (GRADE_LABELS, CollectionIn, CollectionQuery, ReceiveCollectionIn,
                                       StatsQuery)
from server.console_web.station_desk import TABS
from server.console_web.web import Ctx, field_errors, filters, flash, page, parse
from server.fulfillment import floor
from server.fulfillment.errors import FulfillmentCode
from server.kit import pools, runtime
from server.kit.auth import Role
from server.kit.errors import AppError, KitCode, ValidationFailed
from server.kit.schemas import Schema
from server.stations import assisted, desk

bp = Blueprint("console_web_collection")
STATION = (Role.station_staff.value,)
WAREHOUSE = (Role.warehouse.value,)
ADMIN = (Role.admin.value,)
SCAN_WORDS = {
    FulfillmentCode.IMPOSSIBLE_SCAN: "这个扫描不可能发生：货物不在这里或不该来这里（{message}）。",
    CollectionCode.COLLECTION_NOT_FOUND: "没有这个揽收单号。",
    KitCode.NOT_FOUND: "没有这个揽收单，或它不属于本站。",
    FulfillmentCode.SCAN_BUSY: "揽收单正被他人扫描，请再扫一次。",
    KitCode.VALIDATION_FAILED: "请扫描揽收单上的二维码或输入揽收单号（CL 开头）。",
}
HINTS = {"quantity": "数量应为 1 件以上，且一次揽收不超过上限。", "weight_kg": "请填写重量（公斤），一次揽收不超过上限。",
         "goods": "请选择农户和商品。", "harvested_on": "采收日期不能晚于今天。", "batch_id": "所选批次不属于该农户的该商品。",
         "received_qty": "实收数量应为 0 到揽收数量之间的整数。", "reason": "实收与揽收数量不同，请填写差异原因。",
         "file": "照片应为 JPEG、PNG、WebP 或 HEIC，且不超过大小上限。"}


class CollectForm(Schema):
    goods: str = Field(pattern=r"^\d{1,18}:\d{1,18}$")
    quantity: int = Field(ge=1, le=1_000_000)
    weight_kg: Decimal = Field(ge=Decimal("0.001"), le=Decimal("100000"), decimal_places=3)
    grade: str = Field("standard", pattern=r"^(premium|first|second|standard)$")
    plot: str = Field("", max_length=64)
    harvested_on: date | None = None
    batch_id: int | None = Field(None, ge=1, le=2**63 - 1)
    cold_chain: str = ""
    note: str = Field("", max_length=200)


def _scan_label(code: str) -> str:
    code = code.strip().upper()
    return code[4:] if code.startswith("KZC:") else code


def _base(sid: int) -> str:
    return f"/console/station/{sid}"


async def _collect_page(ctx: Ctx, sid: int, form: dict, errors: dict, recorded=None, svg: str = ""):
    merchants = await assisted.operated_merchants(ctx.principal, sid)   # 404 for another station first
    goods = await desk.consigned_goods(ctx.principal, sid)
    batches = await collection.station_open_batches(ctx.principal, sid)
    recent = await collection.station_collections(ctx.principal, sid, CollectionQuery(limit=20))
    return ctx.render("st_collect.html", sid=sid, tab="/collect", tabs=TABS, base=_base(sid), merchants=merchants,
                      goods=goods, batches=batches, recent=recent.items, grades=GRADE_LABELS, form=form,
                      errors=errors, recorded=recorded, svg=svg,
                      max_bytes=runtime.settings().media_image_max_bytes)


@bp.get("/console/station/<sid:int>/collect")
@page(roles=STATION)
async def collect_page(request: Request, ctx: Ctx, sid: int):
    return await _collect_page(ctx, sid, {"grade": "standard"}, {})


@bp.post("/console/station/<sid:int>/collect")
@page(roles=STATION)
async def collect(request: Request, ctx: Ctx, sid: int):
    form = ctx.form()
    try:
        f = parse(CollectForm, form)
        merchant_id, sku_id = (int(x) for x in f.goods.split(":"))
        photos = []
        upload = (request.files or {}).get("photo")
        if upload is not None and upload.body:
            photos.append((await collection.store_photo(ctx.principal, sid, upload.body,
                                                        (upload.name or "")[:200])).key)
        body = CollectionIn(merchant_id=merchant_id, sku_id=sku_id, quantity=f.quantity,
                            weight_g=int(f.weight_kg * 1000), grade=f.grade, plot=f.plot, harvested_on=f.harvested_on,
                            batch_id=f.batch_id, cold_chain=True if f.cold_chain else None, note=f.note,
                            photos=photos)
        out = await collection.record(ctx.principal, sid, body)
    except ValidationFailed as exc:
        errors = {("weight_kg" if k == "weight_g" else "goods" if k in ("sku_id", "merchant_id")
                   else "photo" if k == "file" else k): v
                  for k, v in field_errors(exc, {**HINTS, "weight_g": HINTS["weight_kg"]}).items()}
        return await _collect_page(ctx, sid, form, errors)
    except AppError as exc:
        if exc.code == CollectionCode.PRODUCER_NOT_OPERATED:
            return await _collect_page(ctx, sid, form, {"goods": "该农户不在本站代卖名单中。"})
        raise
    svg = await pools.cpu(floor.qr_svg, "KZC:" + out.label)
    return await _collect_page(ctx, sid, {"grade": "standard"}, {}, recorded=out, svg=svg)


@bp.post("/console/station/<sid:int>/collect/scan")
@page(roles=STATION)
async def station_scan(request: Request, ctx: Ctx, sid: int):
    ctx.principal.require_station(sid)   # another station's fragment: 404, as its page
    form = ctx.form()
    return await _scan(ctx, sid, form.get("code", ""), form.get("kind", "dispatched"))


async def _scan(ctx: Ctx, sid: int | None, code: str, kind: str):
    label = _scan_label(code)
    try:
        if kind not in ("dispatched", "arrived") or not re.fullmatch(r"[A-Z0-9]{1,24}", label):
            raise ValidationFailed.field("code", "scan a collection label")
        r = await collection.scan(ctx.principal, label, kind, sid)
        what = {"dispatched": "已发往上一级", "arrived": "已到达"}[kind]
        if r.collection.status == "arrived":
            what = "已到达县仓，待收货"
        ok, headline = True, f"揽收单 {label}：{what}{'（重复扫描，未重复记录）' if r.duplicate else ''}"
    except AppError as exc:
        ok = False
        headline = SCAN_WORDS.get(exc.code, "操作未完成：{message}").format(message=exc.message)
    return ctx.render("_st_scan_result.html", ok=ok, headline=headline, code=code[:40])


# ---- the household (商户工作台) ------------------------------------------------------------------
@bp.get("/console/shop/collections")
@page(roles=(Role.merchant.value,))
async def household(request: Request, ctx: Ctx):
    return ctx.render("mer_collections.html", rows=await collection.household_view(ctx.principal))


# ---- the county warehouse ----------------------------------------------------------------------
async def _wh_page(ctx: Ctx, errors: dict | None = None, done=None):
    arrived = await collection.warehouse_collections(CollectionQuery(status="arrived", limit=50))
    coming = await collection.warehouse_collections(CollectionQuery(status="in_transit", limit=50))
    return ctx.render("wh_collections.html", arrived=arrived.items, coming=coming.items, errors=errors or {},
                      done=done)


@bp.get("/console/warehouse/collections")
@page(roles=WAREHOUSE)
async def wh_collections(request: Request, ctx: Ctx):
    return await _wh_page(ctx)


@bp.post("/console/warehouse/collections/scan")
@page(roles=WAREHOUSE)
async def wh_scan(request: Request, ctx: Ctx):
    return await _scan(ctx, None, ctx.form().get("code", ""), "arrived")


@bp.post("/console/warehouse/collections/<cid:int>/receive")
@page(roles=WAREHOUSE)
async def wh_receive(request: Request, ctx: Ctx, cid: int):
    form = ctx.form()
    try:
        out = await collection.receive(cid, parse(ReceiveCollectionIn, form), actor_id=ctx.user_id)
    except ValidationFailed as exc:
        return await _wh_page(ctx, {cid: field_errors(exc, HINTS)})
    except AppError as exc:
        if exc.code in (CollectionCode.COLLECTION_ALREADY_RECEIVED, CollectionCode.COLLECTION_NOT_ARRIVED):
            return flash(ctx, "该揽收单已收货，或尚未扫描到达县仓。")
        raise
    return await _wh_page(ctx, done=out)


# ---- the office's figures ----------------------------------------------------------------------
@bp.get("/console/statistics/collections")
@page(roles=ADMIN)
async def figures(request: Request, ctx: Ctx):
    q, errors = filters(ctx, StatsQuery)
    try:
        st = await collection.stats(q.since, q.until)
    except ValidationFailed as exc:
        errors = field_errors(exc)
        st = await collection.stats(None, None)
    return ctx.render("collection_figures.html", st=st, errors=errors, q=q)
