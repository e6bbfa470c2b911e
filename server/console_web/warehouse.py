"""The county warehouse's workspace (县仓作业台), for a desk with a USB barcode scanner (it types the
code and Enter into the focused field): waves and their printable pick lists by SKU with bins and
batches, picking by scan (every scan its own idempotent write), packing and the 100×150 mm parcel
label, dispatch by route, inbound notes counted by scanning, and the SLA board."""
from __future__ import annotations

import re
import secrets

from pydantic import Field
from sanic import Blueprint, HTTPResponse, Request
from sanic.response import redirect

from server.console_web import pickers, stock_journal
from server.console_web.web import Ctx, field_errors, filters, flash, next_url, page, parse
from server.fulfillment import floor, scans
from server.fulfillment import service as fulfillment
from server.fulfillment.schemas import InboundLineIn, InboundNoteIn
from server.inventory import service as inventory
from server.inventory.schemas import StockMovesQuery
from server.kit import clock, pools
from server.kit.auth import Role
from server.kit.errors import AppError, NotFound, ValidationFailed
from server.kit.schemas import QuerySchema, Schema
from server.fulfillment.errors import FulfillmentCode

bp = Blueprint("console_web_warehouse", url_prefix="/console/warehouse")
WAREHOUSE = (Role.warehouse.value,)
WAVE_KEY = re.compile(r"^(local|courier)-\d{1,19}-[01]$")
# What the floor reads on the spot: the services' codes in plain Chinese (a refusal must be understood
# at a glance, from a metre away).
SCAN_ERRORS = {
    "scan_unknown": "未知条码：没有已入库的此批次号，也没有此溯源码。",
    "wrong_sku": "拿错货了：{name} {spec}（批次 {batch}）不在本拣货单上。",
    "over_pick": "多拣了：本拣货单上的 {name} {spec} 已全部拣齐，请放回。",
    "item_already_picked": "此单品溯源码已经扫过（同一件商品不能拣两次）。",
    "batch_recalled": "此批次已召回，不能出库，请换一个批次。",
    "task_not_pickable": "该任务已不需要拣货（已打包、已发出或已取消）。",
    "pick_conflict": "该行刚被他人修改，请再扫一次。",
    "validation_failed": "此批次号没有为这个商品入库，请核对批次。",
    "nothing_to_pack": "没有已拣待打包的商品。",
    "not_picked": "有商品尚未拣货，不能打包。",
    "task_not_packable": "该任务已不需要打包。",
    "already_dispatched": "该包裹已经发出，不能重复发出。",
    "impossible_scan": "此扫描不可能发生：{message}",
    "parcel_not_found": "没有这个包裹条码。",
    "batch_not_on_note": "批次 {batch} 不在这张入库单上。",
    "inbound_over_count": "多了：批次 {batch} 已按入库单数量点齐。",
    "already_received": "这张入库单已经收货。",
    "wave_not_found": "没有这个波次（可能已全部拣完发出）。",
    "route_empty": "这条线路没有待发的包裹。",
}


def scan_message(exc: AppError) -> str:
    """The floor's wording for a refused scan (the service's own message when none is known)."""
    text = SCAN_ERRORS.get(exc.code)
    if text is None:
        return "操作未完成：" + exc.message
    details = exc.details if isinstance(exc.details, dict) else {}
    return text.format(message=exc.message, **{k: details.get(k, "") for k in ("name", "spec", "batch")})


def _scan_id(form: dict) -> str:
    """The scan's own id from the page (wh.js draws one per scan); without one the scan still counts once."""
    sid = form.get("scan_id", "")
    return sid if re.fullmatch(r"[A-Za-z0-9-]{8,40}", sid) else secrets.token_hex(16)


async def _target(target: str) -> tuple[str, list[int], str]:
    """A pick page's target from its key: ('wave'|'task', task ids, title)."""
    if target.startswith("W:") and WAVE_KEY.match(target[2:]):
        w = await floor.find_wave(target[2:])
        return "wave", w.task_ids, f"波次 {w.wave}"
    if target.startswith("T:") and target[2:].isdigit():
        task = await fulfillment.get_task(int(target[2:]))
        return "task", [task.id], f"任务 {task.id}"
    raise NotFound("unknown pick target", code=FulfillmentCode.WAVE_NOT_FOUND)


def _page_of(code: str) -> str | None:
    """A scanned wave or task code -> its pick page (the printed pick list carries W:… and T:…)."""
    code = code.strip()
    if code.startswith("W:") and WAVE_KEY.match(code[2:]):
        return f"/console/warehouse/waves/{code[2:]}"
    if code.startswith("T:") and code[2:].isdigit():
        return f"/console/warehouse/tasks/{int(code[2:])}"
    return None


def _go(ctx: Ctx, url: str) -> HTTPResponse:
    if ctx.htmx:
        return HTTPResponse(status=200, headers={"HX-Redirect": url})
    return redirect(url, status=303)


# ---- home: waves ------------------------------------------------------------------------------
@bp.get("")
@page(roles=WAREHOUSE)
async def home(request: Request, ctx: Ctx):
    waves = await fulfillment.waves()
    board = await floor.sla_board(limit=300)
    return ctx.render("wh_home.html", waves=[(floor.wave_key(w), w) for w in waves], board=board,
                      dispatch=await floor.dispatch_board(), unpicks=await floor.unpicks_waiting())


@bp.post("/go")
@page(roles=WAREHOUSE)
async def go(request: Request, ctx: Ctx):
    """The home page's scan field: a wave's or task's code opens its pick page."""
    target = _page_of(ctx.form().get("code", ""))
    if target is None:
        return flash(ctx, "请扫描拣货单上的波次码（W:…）或任务码（T:…）。")
    return _go(ctx, target)


# ---- pick pages --------------------------------------------------------------------------------
async def _pick_page(ctx: Ctx, target: str) -> HTTPResponse:
    kind, task_ids, title = await _target(target)
    rows = await floor.pick_list(task_ids)
    tasks = [await fulfillment.get_task(t) for t in task_ids]
    # the printed list carries its own code as a QR: scanning it opens this page at another desk
    code_svg = await pools.cpu(floor.qr_svg, target)
    return ctx.render("wh_pick.html", target=target, kind=kind, title=title, rows=rows, tasks=tasks,
                      code_svg=code_svg, printed_at=clock.now())


@bp.get("/waves/<key:str>")
@page(roles=WAREHOUSE)
async def wave_page(request: Request, ctx: Ctx, key: str):
    return await _pick_page(ctx, "W:" + key)


@bp.get("/tasks/<task_id:int>")
@page(roles=WAREHOUSE)
async def task_page(request: Request, ctx: Ctx, task_id: int):
    return await _pick_page(ctx, f"T:{task_id}")


@bp.post("/pick")
@page(roles=WAREHOUSE)
async def pick_scan(request: Request, ctx: Ctx):
    """One scan on a pick page: a wave/task code switches the page; anything else is one unit."""
    form = ctx.form()
    code = form.get("code", "")
    other = _page_of(code)
    if other is not None:
        return _go(ctx, other)
    target = form.get("target", "")
    try:
        _, task_ids, _ = await _target(target)
    except AppError as exc:
        return flash(ctx, scan_message(exc))
    try:
        result = await floor.scan_pick(task_ids, code, _scan_id(form), actor_id=ctx.user_id)
        ok, message = True, None
    except AppError as exc:
        result, ok, message = None, False, scan_message(exc)
    rows = await floor.pick_list(task_ids)
    return ctx.render("_wh_scan_result.html", ok=ok, message=message, result=result, code=code, rows=rows,
                      target=target)


@bp.post("/skus/<sku_id:int>/bin")
@page(roles=WAREHOUSE)
async def set_bin(request: Request, ctx: Ctx, sku_id: int):
    try:
        value = await floor.set_bin(sku_id, ctx.form().get("bin", ""), actor_id=ctx.user_id)
    except ValidationFailed:
        return flash(ctx, "库位最多 16 个字符。")
    return ctx.render("_wh_bin.html", sku_id=sku_id, bin=value, saved=True)


class PackForm(Schema):
    weight_g: int = Field(ge=1, le=1_000_000)


@bp.post("/tasks/<task_id:int>/pack")
@page(roles=WAREHOUSE)
async def pack(request: Request, ctx: Ctx, task_id: int):
    form = ctx.form()
    try:
        body = parse(PackForm, form)
        parcels = await floor.pack_picked(task_id, body.weight_g, actor_id=ctx.user_id)
    except ValidationFailed as exc:
        errors = field_errors(exc, {"weight_g": "请输入称得的重量（克，1–1000000）。"})
        return ctx.render("_wh_packed.html", task_id=task_id, parcels=[], errors=errors, message=None)
    except AppError as exc:
        return ctx.render("_wh_packed.html", task_id=task_id, parcels=[], errors={}, message=scan_message(exc))
    return ctx.render("_wh_packed.html", task_id=task_id, parcels=parcels, errors={}, message=None)


@bp.get("/parcels/<parcel_id:int>/label")
@page(roles=WAREHOUSE)
async def label(request: Request, ctx: Ctx, parcel_id: int):
    return ctx.render("wh_label.html", l=await floor.label(parcel_id))


# ---- dispatch by route -------------------------------------------------------------------------
@bp.get("/dispatch")
@page(roles=WAREHOUSE)
async def dispatch_page(request: Request, ctx: Ctx):
    return ctx.render("wh_dispatch.html", groups=await floor.dispatch_board(), message=None, ok=True)


def _label_of(code: str) -> str:
    code = code.strip().upper()
    return code[4:] if code.startswith("KZP:") else code


@bp.post("/dispatch/scan")
@page(roles=WAREHOUSE)
async def dispatch_scan(request: Request, ctx: Ctx):
    """Scan a packed parcel's label at the loading dock: it leaves on its route (the same scan twice
    is one event)."""
    label_code = _label_of(ctx.form().get("code", ""))
    try:
        if not scans.LABEL_RE.match(label_code):
            raise NotFound("parcel not found", code=FulfillmentCode.PARCEL_NOT_FOUND)
        out = await scans.scan(ctx.principal, label_code, "dispatched", None)
        message = f"包裹 {label_code} {'已经发出过（重复扫描，未重复记录）' if out.duplicate else '已发出'}。"
        ok = True
    except AppError as exc:
        message, ok = scan_message(exc), False
    return ctx.render("_wh_dispatched.html", groups=await floor.dispatch_board(), message=message, ok=ok)


@bp.post("/dispatch/<key:str>")
@page(roles=WAREHOUSE)
async def dispatch_route(request: Request, ctx: Ctx, key: str):
    try:
        done, refused = await floor.dispatch_group(ctx.principal, key)
        message = f"已发出 {done} 个包裹。" + ("".join(f" {r}" for r in refused) if refused else "")
        ok = not refused
    except AppError as exc:
        message, ok = scan_message(exc), False
    return ctx.render("_wh_dispatched.html", groups=await floor.dispatch_board(), message=message, ok=ok)


class CourierForm(Schema):
    company: str = Field(min_length=1, max_length=32)
    tracking_no: str = Field(min_length=4, max_length=40, pattern=r"^[A-Za-z0-9-]+$")


@bp.post("/parcels/<parcel_id:int>/courier")
@page(roles=WAREHOUSE)
async def courier(request: Request, ctx: Ctx, parcel_id: int):
    try:
        body = parse(CourierForm, ctx.form())
        await scans.ship_by_courier(parcel_id, body.company, body.tracking_no, actor_id=ctx.user_id)
        message, ok = "已交给快递。", True
    except ValidationFailed as exc:
        message, ok = "；".join(field_errors(exc, {"company": "请填写快递公司。",
                                                  "tracking_no": "请填写运单号（4–40 位字母数字）。"}).values()), False
    except AppError as exc:
        message, ok = scan_message(exc), False
    return ctx.render("_wh_dispatched.html", groups=await floor.dispatch_board(), message=message, ok=ok)


# ---- inbound notes -----------------------------------------------------------------------------
LINE_RE = re.compile(r"^\s*(\d{1,19})\s+(\S{1,64})\s+(\d{1,6})\s*$")


def _inbound_lines(text: str) -> list[InboundLineIn]:
    """'SKU编号 批次号 数量' per line."""
    out = []
    for i, raw in enumerate(t for t in text.splitlines() if t.strip()):
        m = LINE_RE.match(raw)
        if not m:
            raise ValidationFailed.field("lines", f"第 {i + 1} 行格式应为：SKU编号 批次号 数量")
        out.append(InboundLineIn(sku_id=int(m[1]), batch=m[2], quantity=int(m[3])))
    if not out:
        raise ValidationFailed.field("lines", "请至少填写一行：SKU编号 批次号 数量")
    return out


INBOUND_HINTS = {"merchant_id": "请输入商户编号（数字）。", "sku_id": "有一行不是该商户的商品（SKU编号不对）。",
                 "quantity": "数量应为 1–100000。", "batch": "批次号 1–64 个字符。"}


@bp.get("/inbound")
@page(roles=WAREHOUSE)
async def inbound_list(request: Request, ctx: Ctx):
    return ctx.render("wh_inbound.html", notes=await floor.recent_inbound(), form={}, errors={})


@bp.post("/inbound")
@page(roles=WAREHOUSE)
async def inbound_create(request: Request, ctx: Ctx):
    form = ctx.form()
    try:
        if not form.get("merchant_id", "").isdigit():
            raise ValidationFailed.field("merchant_id", "请输入商户编号（数字）。")
        body = InboundNoteIn(merchant_id=int(form["merchant_id"]), lines=_inbound_lines(form.get("lines", "")),
                             note=form.get("note", "")[:200])
        note = await fulfillment.create_inbound(body, actor_id=ctx.user_id)
    except ValidationFailed as exc:
        return ctx.render("wh_inbound.html", notes=await floor.recent_inbound(), form=form,
                          errors=field_errors(exc, INBOUND_HINTS), status=422)
    except AppError as exc:   # pydantic refusals of a line arrive as ValidationFailed too; others here
        return ctx.render("wh_inbound.html", notes=await floor.recent_inbound(), form=form,
                          errors={"lines": scan_message(exc)}, status=exc.status)
    return redirect(f"/console/warehouse/inbound/{note.id}", status=303)


@bp.get("/inbound/<note_id:int>")
@page(roles=WAREHOUSE)
async def inbound_page(request: Request, ctx: Ctx, note_id: int):
    return ctx.render("wh_inbound_note.html", v=await floor.inbound_view(note_id), message=None, ok=True)


@bp.post("/inbound/<note_id:int>/scan")
@page(roles=WAREHOUSE)
async def inbound_scan(request: Request, ctx: Ctx, note_id: int):
    form = ctx.form()
    try:
        dup, _, counted = await floor.scan_inbound(note_id, form.get("code", ""), _scan_id(form),
                                                   actor_id=ctx.user_id)
        message, ok = f"已点数 {counted} 件" + ("（重复提交，未重复计数）" if dup else "") + "。", True
    except AppError as exc:
        message, ok = scan_message(exc), False
    return ctx.render("_wh_inbound_lines.html", v=await floor.inbound_view(note_id), message=message, ok=ok)


@bp.post("/inbound/<note_id:int>/receive")
@page(roles=WAREHOUSE)
async def inbound_receive(request: Request, ctx: Ctx, note_id: int):
    try:
        await floor.receive_counted(note_id, actor_id=ctx.user_id)
        message, ok = "已收货：点数的商品已可售。", True
    except AppError as exc:
        message, ok = scan_message(exc), False
    return ctx.render("_wh_inbound_lines.html", v=await floor.inbound_view(note_id), message=message, ok=ok)


# ---- 库存 and 库存流水 (the warehouse's and the office's) ---------------------------------------------
STOCK_ROLES = (Role.warehouse.value, Role.admin.value)


class StockFilter(QuerySchema):
    merchant: str | None = Field(None, max_length=64)   # a name or an id (pickers.merchant)
    q: str | None = Field(None, max_length=64)          # part of the product's name
    cursor: str | None = Field(None, max_length=200)


@bp.get("/stock")
@page(roles=STOCK_ROLES)
async def stock_list(request: Request, ctx: Ctx):
    f, errors = filters(ctx, StockFilter)
    merchant_id = None
    if f.merchant:
        try:
            merchant_id = await pickers.merchant(f.merchant)
        except ValidationFailed as exc:
            errors.update(field_errors(exc))
        except NotFound:
            errors["merchant"] = f"没有编号为 {f.merchant} 的商户。"
    listed = None if errors.get("merchant") else await fulfillment.stock_page(merchant_id, f.q, f.cursor, 50)
    return ctx.render("wh_stock.html", f=f, errors=errors, rows=listed.items if listed else [],
                      next_href=next_url(listed.next_cursor, request) if listed else None)


@bp.get("/stock/<sku_id:int>/moves")
@page(roles=STOCK_ROLES)
async def stock_moves(request: Request, ctx: Ctx, sku_id: int):
    f, _ = filters(ctx, StockMovesQuery)
    moves = await inventory.sku_journal(sku_id, f.cursor, stock_journal.PAGE)   # 404: no such SKU
    [sku] = await fulfillment.stock([sku_id])
    return stock_journal.render(ctx, sku, moves, "/console/warehouse/stock", "返回库存")


# ---- the SLA board -----------------------------------------------------------------------------
@bp.get("/sla")
@page(roles=WAREHOUSE)
async def sla_page(request: Request, ctx: Ctx):
    return ctx.render("wh_sla.html", board=await floor.sla_board())
