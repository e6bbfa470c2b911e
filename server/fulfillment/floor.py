"""The warehouse floor as the console works it (县仓作业台): waves by a stable key, pick lists by SKU
with bin locations (库位) and the batches to take, picking by scan (a batch number or a 溯源码, one unit
per scan, each scan written once), packing everything picked, the parcel label, the dispatch board by
route, the SLA board, and counting an inbound note by scanning before it is received.

Every write goes through the rules of service.py / scans.py (pick, pack, dispatch, receive_inbound):
this module only decides which line a scanned code belongs to and gathers what the pages show."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import qrcode
import qrcode.image.svg
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from server.fulfillment import scans, service, shipping, unpick
from server.fulfillment.errors import FulfillmentCode
from server.fulfillment.schemas import (InboundNoteOut, PackIn, PackLineIn, ParcelOut, ReceiveIn, ReceiveLineIn,
                                        WaveOut)
from server.kit import audit, clock, pools
from server.kit.db import atomic
from server.kit.errors import Conflict, NotFound, ValidationFailed
from server.models.catalog import Sku
from server.models.collection import Collection, CollectionStatus
from server.models.fulfillment import (DeliveryPromise, FulfillmentTask, InboundLine, InboundNote, InboundScan,
                                       Parcel, ParcelLine, ParcelStatus, PickRecord, SkuBin, TaskLine, TaskStatus)
from server.models.merchants import Merchant
from server.models.orders import Order
from server.models.stations import Station
from server.models.trace import Batch, BatchStatus, TraceCode

LEG_NAMES = {"county_town": "县→乡镇", "town_village": "乡镇→村", "county_village": "县→村"}


# ---- waves -------------------------------------------------------------------------------------
def wave_key(w: WaveOut) -> str:
    """A wave's key in URLs and on the printed pick list (its barcode): mode-town-cold."""
    return f"{w.mode}-{w.town_station_id or 0}-{int(w.cold_chain)}"


async def find_wave(key: str) -> WaveOut:
    """The open wave with this key (its tasks as they are now)."""
    for w in await service.waves():
        if wave_key(w) == key:
            return w
    raise NotFound("no open wave with this key", code=FulfillmentCode.WAVE_NOT_FOUND)


# ---- pick lists --------------------------------------------------------------------------------
@dataclass
class PickTaskLine:
    task_id: int
    line_id: int
    order_no: str
    quantity: int
    picked: int
    packed: int


@dataclass
class PickRow:
    """One SKU of a pick list: where it sits, how many, which batches to take, for which tasks."""
    sku_id: int
    name: str
    spec: str
    bin: str
    cold_chain: bool
    quantity: int = 0
    picked: int = 0
    batches: list[str] = field(default_factory=list)
    lines: list[PickTaskLine] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.picked >= self.quantity


async def received_batches(sku_ids: list[int], per_sku: int = 5) -> dict[int, list[str]]:
    """The received, not recalled batch numbers of each SKU, oldest receipt first (first in, first out)."""
    rows = await InboundLine.filter(sku_id__in=sku_ids, note__status="received", received_qty__gt=0) \
        .order_by("note__received_at", "id").values("sku_id", "batch", "sku__product__merchant_id",
                                                     "note__received_at")
    # received collections (村级揽收, #26) count like received inbound lines, in receipt order with them
    collected = await Collection.filter(sku_id__in=sku_ids, status=CollectionStatus.RECEIVED, received_qty__gt=0) \
        .order_by("received_at", "id").values("sku_id", "batch__code", "merchant_id", "received_at")
    if collected:
        rows = sorted(list(rows) + [{"sku_id": r["sku_id"], "batch": r["batch__code"],
                                     "sku__product__merchant_id": r["merchant_id"],
                                     "note__received_at": r["received_at"]} for r in collected],
                      key=lambda r: r["note__received_at"])
    recalled = set(await Batch.filter(status=BatchStatus.RECALLED,
                                      merchant_id__in={r["sku__product__merchant_id"] for r in rows})
                   .values_list("merchant_id", "code"))
    out: dict[int, list[str]] = {}
    for r in rows:
        got = out.setdefault(r["sku_id"], [])
        if (r["sku__product__merchant_id"], r["batch"]) not in recalled and r["batch"] not in got \
                and len(got) < per_sku:
            got.append(r["batch"])
    return out


async def pick_list(task_ids: list[int]) -> list[PickRow]:
    """The tasks' lines grouped by SKU, sorted by bin location (SKUs without one last), then name."""
    lines = await TaskLine.filter(task_id__in=task_ids).order_by("task_id", "id").values(
        "id", "task_id", "sku_id", "quantity", "picked_qty", "packed_qty", "cold_chain")
    if not lines:
        return []
    sku_ids = sorted({ln["sku_id"] for ln in lines})
    skus = {s["id"]: s for s in await Sku.filter(id__in=sku_ids).values("id", "spec", "product__name")}
    bins = dict(await SkuBin.filter(sku_id__in=sku_ids).values_list("sku_id", "bin"))
    order_nos = dict(await FulfillmentTask.filter(id__in=task_ids).values_list("id", "order__order_no"))
    batches = await received_batches(sku_ids)
    rows: dict[int, PickRow] = {}
    for ln in lines:
        s = skus.get(ln["sku_id"], {})
        row = rows.get(ln["sku_id"])
        if row is None:
            row = rows[ln["sku_id"]] = PickRow(
                sku_id=ln["sku_id"], name=s.get("product__name", ""), spec=s.get("spec", ""),
                bin=bins.get(ln["sku_id"], ""), cold_chain=ln["cold_chain"], batches=batches.get(ln["sku_id"], []))
        row.quantity += ln["quantity"]
        row.picked += ln["picked_qty"]
        row.lines.append(PickTaskLine(task_id=ln["task_id"], line_id=ln["id"], order_no=order_nos.get(ln["task_id"], ""),
                                      quantity=ln["quantity"], picked=ln["picked_qty"], packed=ln["packed_qty"]))
    return sorted(rows.values(), key=lambda r: (r.bin == "", r.bin, r.name, r.spec, r.sku_id))


async def set_bin(sku_id: int, bin_code: str, *, actor_id: int) -> str:
    """Set (or clear, with "") where a SKU sits in the warehouse."""
    bin_code = bin_code.strip().upper()
    if len(bin_code) > 16:
        raise ValidationFailed.field("bin", "at most 16 characters")
    if not await Sku.filter(id=sku_id).exists():
        raise NotFound("SKU not found")
    async with atomic() as conn:
        if bin_code:
            if not await SkuBin.filter(sku_id=sku_id).using_db(conn).update(bin=bin_code, updated_by_id=actor_id):
                try:
                    async with atomic() as inner:
                        await SkuBin.create(sku_id=sku_id, bin=bin_code, updated_by_id=actor_id, using_db=inner)
                except IntegrityError:  # set at the same moment by someone else: the last one stands
                    await SkuBin.filter(sku_id=sku_id).using_db(conn).update(bin=bin_code, updated_by_id=actor_id)
        else:
            await SkuBin.filter(sku_id=sku_id).using_db(conn).delete()
        await audit.record(actor_id, "warehouse.bin_set", "sku", sku_id, {"bin": bin_code}, conn=conn)
    return bin_code


# ---- pick by scan ------------------------------------------------------------------------------
@dataclass
class PickScanOut:
    duplicate: bool
    task_id: int
    sku_id: int
    name: str
    spec: str
    batch: str
    picked: int      # of this SKU in the scanned tasks, after the scan
    quantity: int


@dataclass
class _Scanned:
    batch: str
    sku_ids: list[int]
    item_code: str | None   # an item's 溯源码: one unit, never picked twice


async def _resolve(code: str) -> _Scanned | None:
    """A scanned code as a batch number: an item's or batch's 溯源码, else a received batch number."""
    tc = await TraceCode.get_or_none(code=code.upper()).select_related("batch")
    if tc is not None:
        b = tc.batch
        skus = b.sku_ids or list(await Sku.filter(product_id=b.product_id).values_list("id", flat=True))
        return _Scanned(batch=b.code, sku_ids=list(skus), item_code=tc.code if tc.kind == "item" else None)
    skus = await InboundLine.filter(batch=code, note__status="received").distinct().values_list("sku_id", flat=True)
    if not skus:  # a received collection's batch number (#26)
        skus = await Collection.filter(batch__code=code, status=CollectionStatus.RECEIVED).distinct() \
            .values_list("sku_id", flat=True)
    if skus:
        return _Scanned(batch=code, sku_ids=list(skus), item_code=None)
    return None


async def _sku_brief(sku_id: int) -> tuple[str, str]:
    row = await Sku.filter(id=sku_id).values("spec", "product__name")
    return (row[0]["product__name"], row[0]["spec"]) if row else ("", "")


async def _progress(task_ids: list[int], sku_id: int) -> tuple[int, int]:
    rows = await TaskLine.filter(task_id__in=task_ids, sku_id=sku_id).values_list("quantity", "picked_qty")
    return sum(q for q, _ in rows), sum(p for _, p in rows)


async def _duplicate(task_ids: list[int], scan_id: str) -> PickScanOut | None:
    rec = await PickRecord.get_or_none(scan_id=scan_id).select_related("line")
    if rec is None:
        return None
    name, spec = await _sku_brief(rec.line.sku_id)
    quantity, picked = await _progress(task_ids, rec.line.sku_id)
    return PickScanOut(duplicate=True, task_id=rec.line.task_id, sku_id=rec.line.sku_id, name=name, spec=spec,
                       batch=rec.batch, picked=picked, quantity=quantity)


async def scan_pick(task_ids: list[int], code: str, scan_id: str, *, actor_id: int) -> PickScanOut:
    """One unit picked by scanning its batch number or 溯源码 into the first of the tasks that still
    needs its SKU. Refused on the spot: an unknown code, a SKU none of the tasks holds, a unit more
    than they need, an item code already picked, a recalled batch. The same scan_id again is
    answered as a duplicate and writes nothing."""
    code = code.strip()
    if not code or len(code) > 64:
        raise ValidationFailed.field("code", "scan a batch number or a trace code")
    if not scan_id or len(scan_id) > 40:
        raise ValidationFailed.field("scan_id", "every scan carries its own id")
    dup = await _duplicate(task_ids, scan_id)
    if dup is not None:
        return dup
    scanned = await _resolve(code)
    if scanned is None:
        raise NotFound("no received batch and no trace code has this number", code=FulfillmentCode.SCAN_UNKNOWN,
                       details=[{"field": "code", "message": "unknown code"}])
    if scanned.item_code and await PickRecord.filter(trace_code=scanned.item_code).exists():
        raise Conflict("this item's trace code was already picked", code=FulfillmentCode.ITEM_ALREADY_PICKED,
                       details=[{"field": "code", "message": "already picked"}])
    lines = await TaskLine.filter(task_id__in=task_ids, sku_id__in=scanned.sku_ids).order_by("task_id", "id") \
        .values("task_id", "sku_id", "quantity", "picked_qty")
    if not lines:
        name, spec = await _sku_brief(scanned.sku_ids[0]) if scanned.sku_ids else ("", "")
        raise Conflict(f"wrong goods: {name} {spec} (batch {scanned.batch}) is not on this pick list",
                       code=FulfillmentCode.WRONG_SKU, details={"name": name, "spec": spec, "batch": scanned.batch})
    open_ = [ln for ln in lines if ln["picked_qty"] < ln["quantity"]]
    if not open_:
        name, spec = await _sku_brief(lines[0]["sku_id"])
        raise Conflict(f"over-pick: every {name} {spec} on this list is picked", code=FulfillmentCode.OVER_PICK,
                       details={"name": name, "spec": spec})
    target = open_[0]
    try:
        await service.pick(target["task_id"], target["sku_id"], scanned.batch, 1, actor_id=actor_id,
                           source="console", scan_id=scan_id, trace_code=scanned.item_code)
    except IntegrityError:  # the same scan arrived twice at once: the other one wrote it
        dup = await _duplicate(task_ids, scan_id)
        if dup is None:
            raise
        return dup
    name, spec = await _sku_brief(target["sku_id"])
    quantity, picked = await _progress(task_ids, target["sku_id"])
    return PickScanOut(duplicate=False, task_id=target["task_id"], sku_id=target["sku_id"], name=name, spec=spec,
                       batch=scanned.batch, picked=picked, quantity=quantity)


# ---- pack --------------------------------------------------------------------------------------
async def pack_picked(task_id: int, weight_g: int, *, actor_id: int) -> list[ParcelOut]:
    """Pack every picked, unpacked unit of a task: one parcel for ambient goods and one for cold-chain
    goods (they never share a box). weight_g is the weighed total, shared by units when split."""
    lines = await TaskLine.filter(task_id=task_id).order_by("id")
    if not lines:
        raise NotFound("task not found")
    groups: dict[bool, list[PackLineIn]] = {}
    units: dict[bool, int] = {}
    held = await service.unpick_held(task_id, None)  # refunded units waiting to be put back
    for ln in lines:
        free = ln.picked_qty - ln.packed_qty - held.get(ln.id, 0)
        if free > 0:
            groups.setdefault(ln.cold_chain, []).append(PackLineIn(task_line_id=ln.id, quantity=free))
            units[ln.cold_chain] = units.get(ln.cold_chain, 0) + free
    if not groups:
        raise Conflict("nothing picked is waiting to be packed", code=FulfillmentCode.NOTHING_TO_PACK)
    total = sum(units.values())
    out = []
    for cold, pack_lines in sorted(groups.items()):
        share = max(1, weight_g * units[cold] // total) if len(groups) > 1 else weight_g
        out.append(await service.pack(task_id, PackIn(lines=pack_lines, weight_g=share), actor_id=actor_id,
                                      source="console"))
    return out


# ---- labels and the dispatch board -------------------------------------------------------------
@dataclass
class LabelOut:
    parcel: ParcelOut
    order_no: str
    fulfilment: str
    destination: str
    town: str
    route: list[str]
    items: list[tuple[str, str, int]]
    qr_svg: str


def qr_svg(payload: str) -> str:
    img = qrcode.make(payload, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    buf = io.BytesIO()
    img.save(buf)
    return buf.getvalue().decode()


async def _station_names(ids) -> dict[int, str]:
    return dict(await Station.filter(id__in=[i for i in ids if i]).values_list("id", "name"))


async def label(parcel_id: int) -> LabelOut:
    """What the printed parcel label carries: QR (the parcel code), route, destination, contents."""
    p = await Parcel.get_or_none(id=parcel_id).select_related("task")
    if p is None:
        raise NotFound("parcel not found")
    order = await Order.get(id=p.order_id)
    names = await _station_names(list(p.route or []) + [p.task.destination_station_id, p.task.town_station_id])
    items = [(r["sku__product__name"], r["sku__spec"], r["quantity"]) for r in await ParcelLine.filter(
        parcel_id=p.id).order_by("id").values("sku__product__name", "sku__spec", "quantity")]
    payload = service.label_payload(p.label)
    return LabelOut(parcel=service.parcel_out(p), order_no=order.order_no, fulfilment=p.task.fulfilment,
                    destination=names.get(p.task.destination_station_id, "") or ("快递" if p.task.mode == "courier" else ""),
                    town=names.get(p.task.town_station_id, ""), route=[names.get(s, str(s)) for s in p.route or []],
                    items=items, qr_svg=await pools.cpu(qr_svg, payload))


@dataclass
class RouteGroup:
    """Packed parcels waiting at the county warehouse for one next stop (or for a courier)."""
    key: str
    name: str
    courier: bool
    parcels: list[dict] = field(default_factory=list)


async def dispatch_board(limit: int = 500) -> list[RouteGroup]:
    """Packed parcels at the county warehouse grouped by their first stop (town), courier parcels apart."""
    rows = await Parcel.filter(status=ParcelStatus.PACKED, direction="forward").order_by("id").limit(limit).values(
        "id", "label", "route", "weight_g", "cold_chain", "packed_at", "task__mode", "task__order__order_no",
        "task__destination_station_id")
    names = await _station_names({s for r in rows for s in (r["route"] or [])[1:2]}
                                 | {r["task__destination_station_id"] for r in rows})
    groups: dict[str, RouteGroup] = {}
    for r in rows:
        courier = r["task__mode"] == "courier"
        first = (r["route"] or [None, None])[1] if len(r["route"] or []) > 1 else None
        key = "courier" if courier else f"s{first or 0}"
        g = groups.get(key)
        if g is None:
            g = groups[key] = RouteGroup(key=key, courier=courier,
                                         name="第三方快递（县外）" if courier else names.get(first, "县城配送"))
        g.parcels.append({**r, "destination": names.get(r["task__destination_station_id"], "")})
    return sorted(groups.values(), key=lambda g: (g.courier, g.name))


async def dispatch_group(principal: Any, key: str) -> tuple[int, list[str]]:
    """Dispatch every packed parcel of one route group; (dispatched, refusals as 'label: reason')."""
    board = {g.key: g for g in await dispatch_board()}
    g = board.get(key)
    if g is None or g.courier:
        raise NotFound("no packed parcels wait for this route", code=FulfillmentCode.ROUTE_EMPTY)
    done, refused = 0, []
    for p in g.parcels:
        try:
            await scans.dispatch(principal, p["id"])
            done += 1
        except Conflict as exc:   # one parcel moved meanwhile: the others still go
            refused.append(f"{p['label']}: {exc.message}")
    return done, refused


# ---- the SLA board -----------------------------------------------------------------------------
@dataclass
class SlaItem:
    parcel_id: int
    label: str
    order_no: str
    leg: str
    leg_name: str
    town: str
    due_at: datetime
    breached: bool
    status: str


@dataclass
class SlaBoard:
    legs: dict[str, list[SlaItem]]
    courier_waiting: list[dict]
    uploads_needing_person: list[Any]
    breached: int


async def sla_board(limit: int = 300) -> SlaBoard:
    """Open delivery promises by leg, soonest due first (breached ones flagged), packed courier
    parcels waiting for their hand-off, and WeChat shipping uploads that need a person."""
    now = clock.now()
    rows = await DeliveryPromise.filter(met_at=None).order_by("due_at").limit(limit).values(
        "parcel_id", "leg", "due_at", "breached_at", "town_station_id", "parcel__label", "parcel__status",
        "parcel__order__order_no")
    names = await _station_names({r["town_station_id"] for r in rows})
    legs: dict[str, list[SlaItem]] = {leg: [] for leg in LEG_NAMES}
    breached = 0
    for r in rows:
        late = r["breached_at"] is not None or r["due_at"] < now
        breached += late
        legs.setdefault(r["leg"], []).append(SlaItem(
            parcel_id=r["parcel_id"], label=r["parcel__label"], order_no=r["parcel__order__order_no"], leg=r["leg"],
            leg_name=LEG_NAMES.get(r["leg"], r["leg"]), town=names.get(r["town_station_id"], ""), due_at=r["due_at"],
            breached=late, status=r["parcel__status"]))
    courier = await Parcel.filter(status=ParcelStatus.PACKED, task__mode="courier").order_by("packed_at").limit(100) \
        .values("id", "label", "packed_at", "task__order__order_no")
    uploads = (await shipping.list_uploads("needs_person", None, 50)).items
    return SlaBoard(legs=legs, courier_waiting=courier, uploads_needing_person=uploads, breached=breached)


# ---- inbound: count by scanning, then receive --------------------------------------------------
@dataclass
class InboundView:
    note: InboundNoteOut
    merchant: str
    skus: dict[int, tuple[str, str]]
    scanned: dict[int, int]
    sellable: dict[int, int]


async def inbound_view(note_id: int) -> InboundView:
    """A note with its lines' names, the units counted so far, and (once received) the SKUs' sellable stock."""
    note = await service.inbound_note(note_id)
    sku_ids = [ln.sku_id for ln in note.lines]
    skus = {r["id"]: (r["product__name"], r["spec"]) for r in await Sku.filter(id__in=sku_ids).values(
        "id", "spec", "product__name")}
    scanned = dict(await InboundLine.filter(note_id=note_id).values_list("id", "scanned_qty"))
    sellable = {s.sku_id: s.sellable for s in await service.stock(sku_ids)}
    merchant = await Merchant.filter(id=note.merchant_id).values_list("name", flat=True)
    return InboundView(note=note, merchant=merchant[0] if merchant else "", skus=skus, scanned=scanned,
                       sellable=sellable)


async def recent_inbound(limit: int = 30) -> list[dict]:
    """The newest inbound notes with their merchant."""
    return await InboundNote.all().order_by("-id").limit(limit).values(
        "id", "status", "note", "created_at", "received_at", "merchant__name")


async def scan_inbound(note_id: int, code: str, scan_id: str, *, actor_id: int) -> tuple[bool, int, int]:
    """Count one unit of an open note by its batch number: (duplicate, line id, counted on the line).
    A batch the note does not announce, or a line already counted in full, is refused."""
    code = code.strip()
    if not code or len(code) > 64:
        raise ValidationFailed.field("code", "scan a batch number")
    if not scan_id or len(scan_id) > 40:
        raise ValidationFailed.field("scan_id", "every scan carries its own id")
    note = await InboundNote.get_or_none(id=note_id)
    if note is None:
        raise NotFound("inbound note not found")
    prior = await InboundScan.get_or_none(scan_id=scan_id).select_related("line")
    if prior is not None:
        return True, prior.line_id, prior.line.scanned_qty
    if note.status != "open":
        raise Conflict("this inbound note was already received", code=FulfillmentCode.ALREADY_RECEIVED)
    tc = await TraceCode.get_or_none(code=code.upper()).select_related("batch")
    batch = tc.batch.code if tc is not None else code
    lines = await InboundLine.filter(note_id=note_id, batch=batch).order_by("id")
    if not lines:
        raise Conflict(f"batch {batch} is not on this inbound note", code=FulfillmentCode.BATCH_NOT_ON_NOTE,
                       details={"batch": batch})
    try:
        async with atomic() as conn:
            for ln in lines:
                if await InboundLine.filter(id=ln.id, scanned_qty__lt=F("expected_qty")).using_db(conn).update(
                        scanned_qty=F("scanned_qty") + 1):
                    await InboundScan.create(line_id=ln.id, scan_id=scan_id, actor_id=actor_id, using_db=conn)
                    return False, ln.id, (await InboundLine.get(id=ln.id, using_db=conn)).scanned_qty
    except IntegrityError:  # the same scan twice at once: the other one counted it
        prior = await InboundScan.get(scan_id=scan_id).select_related("line")
        return True, prior.line_id, prior.line.scanned_qty
    raise Conflict(f"more than announced: every unit of batch {batch} is counted", code=FulfillmentCode.INBOUND_OVER_COUNT,
                   details={"batch": batch})


async def receive_counted(note_id: int, *, actor_id: int) -> InboundNoteOut:
    """Receive a note with the counted units as the received quantities (they become sellable)."""
    lines = await InboundLine.filter(note_id=note_id).order_by("id").values("id", "scanned_qty")
    if not lines:
        raise NotFound("inbound note not found")
    body = ReceiveIn(lines=[ReceiveLineIn(line_id=ln["id"], quantity=ln["scanned_qty"]) for ln in lines])
    return await service.receive_inbound(note_id, body, actor_id=actor_id)


async def open_tasks_count() -> int:
    return await FulfillmentTask.filter(status__in=(TaskStatus.PENDING, TaskStatus.PICKING)).count()


async def unpicks_waiting() -> int:
    """Refunded units already picked that wait to go back on the shelf (the un-pick list, #25)."""
    return sum(r.quantity for r in await unpick.pending(500))
