"""The village station's workspace (服务站工作台), mobile first (a 360 px phone, large touch targets):
today (arriving, waiting with days waited and reminders sent, to return), scanning parcels in and on,
verifying a pickup (核销) by the 8-digit code or the buyer's QR with a green or red outcome, 代购 for a
villager without a smartphone, and 代卖 (the households the station sells for). Every page and
fragment names its station in the URL and the services refuse any station outside the caller's."""
from __future__ import annotations

import re
import secrets

from pydantic import Field
from sanic import Blueprint, HTTPResponse, Request
from sanic.response import redirect

from server.collection import service as collection
from server.console_web.web import Ctx, field_errors, flash, page, parse
from server.fulfillment import floor
from server.kit import audit, pools
from server.kit.auth import Role
from server.kit.errors import AppError, ValidationFailed
from server.kit.schemas import Schema
from server.reviews import service as reviews
from server.stations import assisted, desk
from server.stations import service as stations
from server.stations.schemas import (AssistedLineIn, AssistedOrderIn, AssistedOrderQuery, SalesQuery, VerifyIn,
                                     VillagerBindIn, VillagerIn)

bp = Blueprint("console_web_station_desk", url_prefix="/console/station")
STATION = (Role.station_staff.value,)
TABS = [("", "今日"), ("/scan", "扫码收发"), ("/verify", "核销提货"), ("/assisted", "代购"), ("/consign", "代卖"),
        ("/collect", "揽收")]  # first-mile collection (#26): console_web/collection_desk.py
TABS.append(("/complaints", "投诉"))  # complaints and reports (#26): server/console_web/complaints.py
SCAN_KINDS = {"arrived": "到站（到达目的站自动上架待取）", "dispatched": "发往下一站 / 退回", "out_for_delivery": "送货上门出发"}
PICKUP_NAMES = {"ready": "待自提", "picked_up": "已提货", "returned": "已退回", "cancelled": "已取消"}


def verify_message(exc: AppError) -> tuple[str, str]:
    """(headline, explanation) of a refused pickup, in the words of the counter."""
    limit, window, station_limit = desk.wrong_code_limits()
    retry = (exc.details or {}).get("retry_after") if isinstance(exc.details, dict) else None
    wait = f"{retry} 秒" if retry and retry < 120 else f"{round((retry or 60) / 60)} 分钟"
    if exc.code == "pickup_code_wrong":
        return ("提货码不正确，不能交付", f"请核对买家出示的 8 位提货码。为防止有人猜码，同一账号 {window // 60} 分钟内输错 "
                f"{limit} 次会暂停核销；全站 1 小时内输错 {station_limit} 次会锁定全站核销并通知县电商办。")
    if exc.code == "pickup_attempts_exceeded":
        return ("输错次数过多，已暂停核销", f"您连续输错提货码 {limit} 次，为防止有人猜码，本账号需等待 {wait}后才能再核销。"
                "请让买家在小程序中打开提货码或二维码，再核对一次。")
    if exc.code == "station_locked":
        return ("本站核销已锁定", f"本站 1 小时内输错提货码已达 {station_limit} 次，为保护买家的包裹，全站核销已锁定，"
                f"县电商办已收到告警（约 {wait}后自动解除）。如需提前解锁，请联系县电商办。")
    if exc.code == "already_picked_up":
        return ("已经提过货了，不能重复交付", "这个提货码对应的包裹已经核销交付，请勿再次交付。")
    if exc.code == "pickup_not_ready":
        status = (exc.details or {}).get("status", "") if isinstance(exc.details, dict) else ""
        return ("不能交付", f"此提货单当前状态：{PICKUP_NAMES.get(status, status)}。")
    if exc.code in ("pickup_not_found", "not_found"):
        return ("本站没有这个提货单", "二维码属于其他服务站，或提货单不存在。")
    if exc.code == "qr_invalid":
        return ("二维码无效", "这不是有效的提货二维码，请让买家打开小程序中的提货码。")
    if exc.code == "qr_expired":
        return ("二维码已过期", "请让买家在小程序中刷新提货二维码后再扫。")
    if exc.code == "order_not_ready":
        return ("订单已退款或关闭，不能交付", "该订单已不在待提货状态。")
    return ("不能交付", "操作未完成：" + exc.message)


SCAN_WORDS = {
    "impossible_scan": "这个扫描不可能发生：包裹不在这里或不该来这里（{message}）。",
    "parcel_not_found": "没有这个包裹条码。",
    "not_found": "没有这个包裹，或它不属于本站。",
    "scan_busy": "包裹正被他人扫描，请再扫一次。",
    "validation_failed": "请扫描包裹面单上的二维码或输入包裹号。",
}


def _go(ctx: Ctx, url: str) -> HTTPResponse:
    if ctx.htmx:
        return HTTPResponse(status=200, headers={"HX-Redirect": url})
    return redirect(url, status=303)


def _render(ctx: Ctx, template: str, sid: int, tab: str, **values) -> HTTPResponse:
    return ctx.render(template, sid=sid, tab=tab, tabs=TABS, base=f"/console/station/{sid}", **values)


@bp.get("")
@page(roles=STATION)
async def home(request: Request, ctx: Ctx):
    mine = await desk.my_stations(ctx.principal)
    if len(mine) == 1:
        return redirect(f"/console/station/{mine[0]['id']}", status=303)
    return ctx.render("st_choose.html", stations=mine)


@bp.get("/<sid:int>")
@page(roles=STATION)
async def today(request: Request, ctx: Ctx, sid: int):
    t = await desk.today(ctx.principal, sid)
    ws = await stations.workspace(ctx.principal, sid)
    rating = await reviews.station_rating(ctx.principal, sid)  # the station's stars from buyers (#30)
    return _render(ctx, "st_today.html", sid, "", t=t, ws=ws, names=PICKUP_NAMES, rating=rating)


# ---- scanning parcels --------------------------------------------------------------------------
@bp.get("/<sid:int>/scan")
@page(roles=STATION)
async def scan_page(request: Request, ctx: Ctx, sid: int):
    t = await desk.today(ctx.principal, sid)   # 404 for another station, before anything is shown
    return _render(ctx, "st_scan.html", sid, "/scan", kinds=SCAN_KINDS, kind="arrived", t=t)


@bp.post("/<sid:int>/scan")
@page(roles=STATION)
async def scan(request: Request, ctx: Ctx, sid: int):
    form = ctx.form()
    kind = form.get("kind", "arrived")
    code = form.get("code", "").strip().upper()
    label = code[4:] if code.startswith(("KZP:", "KZC:")) else code
    if kind in SCAN_KINDS and re.fullmatch(r"[A-Z0-9]{1,24}", label) and await collection.is_label(label):
        return await _scan_collection(ctx, sid, code, label, kind)
    try:
        if kind not in SCAN_KINDS or not re.fullmatch(r"[A-Z0-9]{1,24}", label):
            raise ValidationFailed.field("code", "scan a parcel label")
        results = await desk.scan_in(ctx.principal, sid, label, kind)
        ok, lines = True, []
        for r in results:
            what = {"arrived": "已到站", "handed_over": "已上架待取，买家已收到提货通知", "dispatched": "已发出",
                    "out_for_delivery": "已出发派送"}.get(r.event.kind, r.event.kind)
            lines.append(f"{what}{'（重复扫描，未重复记录）' if r.duplicate else ''}")
        headline = f"包裹 {label}：" + "，".join(lines)
    except AppError as exc:
        ok = False
        headline = SCAN_WORDS.get(exc.code, "操作未完成：{message}").format(message=exc.message)
    return ctx.render("_st_scan_result.html", ok=ok, headline=headline, code=code)


async def _scan_collection(ctx: Ctx, sid: int, code: str, label: str, kind: str):
    """A first-mile collection label (揽收单, CL…) scanned on this tab: the collection's rules."""
    ctx.principal.require_station(sid)   # another station's fragment: 404, as on the 揽收 tab
    try:
        c = await collection.scan(ctx.principal, label, kind, sid)
        what = "已到达县仓，待收货" if c.collection.status == "arrived" else \
            {"dispatched": "已发往上一级", "arrived": "已到达"}.get(kind, kind)
        ok, headline = True, f"揽收单 {label}：{what}{'（重复扫描，未重复记录）' if c.duplicate else ''}"
    except AppError as exc:
        ok = False
        headline = SCAN_WORDS.get(exc.code, "操作未完成：{message}").format(message=exc.message)
    return ctx.render("_st_scan_result.html", ok=ok, headline=headline, code=code)


# ---- verification (核销) ----------------------------------------------------------------------
@bp.get("/<sid:int>/verify")
@page(roles=STATION)
async def verify_page(request: Request, ctx: Ctx, sid: int):
    t = await desk.today(ctx.principal, sid)
    return _render(ctx, "st_verify.html", sid, "/verify", t=t, limits=desk.wrong_code_limits())


@bp.post("/<sid:int>/verify")
@page(roles=STATION)
async def verify(request: Request, ctx: Ctx, sid: int):
    typed = re.sub(r"\s", "", ctx.form().get("code", ""))
    try:
        if not typed:
            raise ValidationFailed.field("code", "type the code or scan the QR")
        if typed.isdigit():
            if len(typed) != 8:
                return ctx.render("_st_verified.html", ok=False, headline="提货码应为 8 位数字",
                                  why=f"您输入了 {len(typed)} 位。请核对买家出示的提货码。", items=[], pickup=None)
            body = VerifyIn(code=typed)
        else:
            body = VerifyIn(qr=typed[:512])
        out = await stations.verify(ctx.principal, sid, body)
        items = await desk.pickup_items(ctx.principal, sid, out.pickup.order_id)
    except AppError as exc:
        headline, why = verify_message(exc)
        return ctx.render("_st_verified.html", ok=False, headline=headline, why=why, items=[], pickup=None)
    return ctx.render("_st_verified.html", ok=True, headline="核销成功，请交付以下商品", why="", items=items,
                      pickup=out.pickup)


# ---- 代购 --------------------------------------------------------------------------------------
@bp.get("/<sid:int>/assisted")
@page(roles=STATION)
async def assisted_page(request: Request, ctx: Ctx, sid: int):
    villagers = await assisted.list_villagers(ctx.principal, sid, AssistedOrderQuery(limit=20))
    orders = await assisted.list_assisted_orders(ctx.principal, sid, AssistedOrderQuery(limit=10))
    return _render(ctx, "st_assisted.html", sid, "/assisted", villagers=villagers.items, orders=orders.items,
                   form={}, errors={})


@bp.post("/<sid:int>/assisted/villager")
@page(roles=STATION)
async def find_villager(request: Request, ctx: Ctx, sid: int):
    form = ctx.form()
    try:
        v = await assisted.add_villager(ctx.principal, sid, parse(VillagerIn, form))
    except ValidationFailed as exc:
        return ctx.render("_st_villager_form.html", sid=sid, form=form,
                          errors=field_errors(exc, {"phone": "请输入村民的 11 位手机号。", "name": "姓名最多 32 个字。"}))
    return ctx.render("_st_villager.html", sid=sid, v=v, goods=[], message=None)


@bp.post("/<sid:int>/assisted/villagers/<vid:int>/bind")
@page(roles=STATION)
async def bind_villager(request: Request, ctx: Ctx, sid: int, vid: int):
    form = ctx.form()
    try:
        body = VillagerBindIn(code=form["code"]) if form.get("code") else VillagerBindIn(confirm_at_counter=True)
        v = await assisted.bind_villager(ctx.principal, sid, vid, body)
        message = "已确认村民身份。"
    except ValidationFailed:
        return flash(ctx, "短信验证码应为 6 位数字。")
    return ctx.render("_st_villager.html", sid=sid, v=v, goods=[], message=message)


@bp.post("/<sid:int>/assisted/villagers/<vid:int>/sms")
@page(roles=STATION)
async def villager_sms(request: Request, ctx: Ctx, sid: int, vid: int):
    seconds = await assisted.send_bind_code(ctx.principal, sid, vid)
    return flash(ctx, f"验证码已发到村民手机，{seconds // 60} 分钟内有效。请让村民读出验证码。", kind="ok")


@bp.get("/<sid:int>/assisted/goods")
@page(roles=STATION)
async def goods(request: Request, ctx: Ctx, sid: int):
    vid = request.args.get("villager_id", "")
    found = await desk.search_goods(ctx.principal, sid, request.args.get("q", ""))
    return ctx.render("_st_goods.html", sid=sid, goods=found, vid=vid if vid.isdigit() else "",
                      keys={g.sku_id: secrets.token_hex(16) for g in found})


class OrderForm(Schema):
    villager_id: int = Field(ge=1, le=2**63 - 1)
    sku_id: int = Field(ge=1, le=2**63 - 1)
    quantity: int = Field(ge=1, le=99)


@bp.post("/<sid:int>/assisted/orders")
@page(roles=STATION)
async def create_order(request: Request, ctx: Ctx, sid: int):
    form = ctx.form()
    try:
        body = parse(OrderForm, form)
        # one key per form shown: a double tap or a retry on a slow network is one order
        key = form.get("idem", "") if re.fullmatch(r"[a-f0-9]{32}", form.get("idem", "")) else None
        order = await assisted.create_assisted_order(
            ctx.principal, sid, AssistedOrderIn(villager_id=body.villager_id,
                                                lines=[AssistedLineIn(sku_id=body.sku_id, quantity=body.quantity)]),
            key)
    except ValidationFailed as exc:
        return flash(ctx, "；".join(field_errors(exc, {"quantity": "数量应为 1–99。"}).values()))
    except AppError as exc:
        words = {"villager_not_bound": "请先确认村民身份（短信验证码或当面确认）。"}
        return flash(ctx, words.get(exc.code, "下单未完成：" + exc.message))
    return ctx.render("_st_order.html", sid=sid, o=order, native=None, paid=None)


@bp.post("/<sid:int>/assisted/orders/<oid:int>/cash")
@page(roles=STATION)
async def pay_cash(request: Request, ctx: Ctx, sid: int, oid: int):
    try:
        paid = await assisted.cash_payment(ctx.principal, sid, oid)
    except AppError as exc:
        return flash(ctx, "收款未完成：" + exc.message)
    return ctx.render("_st_paid.html", paid=paid)


@bp.post("/<sid:int>/assisted/orders/<oid:int>/native")
@page(roles=STATION)
async def pay_native(request: Request, ctx: Ctx, sid: int, oid: int):
    try:
        native = await assisted.native_payment(ctx.principal, sid, oid, audit.client_ip(request))
    except AppError as exc:
        return flash(ctx, "微信收款码生成失败：" + exc.message)
    svg = await pools.cpu(floor.qr_svg, native.code_url)
    return ctx.render("_st_native.html", native=native, svg=svg)


# ---- 代卖 --------------------------------------------------------------------------------------
@bp.get("/<sid:int>/consign")
@page(roles=STATION)
async def consign(request: Request, ctx: Ctx, sid: int):
    merchants = await assisted.operated_merchants(ctx.principal, sid)
    goods = await desk.consigned_goods(ctx.principal, sid)
    sales = await assisted.assisted_sales(ctx.principal, sid, SalesQuery(days=30))
    return _render(ctx, "st_consign.html", sid, "/consign", merchants=merchants, goods=goods, sales=sales)
