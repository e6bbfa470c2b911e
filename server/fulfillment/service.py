"""County warehouse fulfilment (县仓履约): handoff of paid orders, inbound stock (集采统储), waves,
pick, pack. Scans and transport are in server/fulfillment/scans.py.

Stock: Sku.stock is sellable, Sku.reserved is held by orders not yet shipped (the orders capability
moves stock -> reserved at checkout). On hand in the warehouse = stock + reserved. Inbound receipts
and returns received add to stock; goods leaving the warehouse take from reserved. Every change is a
guarded conditional update by server/inventory (journaled); a SKU holding fewer reserved units than
what is released or leaves is refused there (stock_inconsistent), on every path."""
from __future__ import annotations

import logging
import secrets
import uuid
from datetime import timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q

from server.fulfillment import routing, scans
from server.fulfillment.parcels import label_payload, parcel_out, transition_order
from server.fulfillment.schemas import (InboundLineOut, InboundNoteIn, InboundNoteOut, PackIn, ParcelBrief,
                                        ParcelOut, ReceiveIn, StockOut, TaskLineOut, TaskOut, TaskQuery,
                                        WaveOut)
from server.inventory import service as inventory
from server.inventory.errors import StockRefused
from server.kit import audit, clock, jobs, pools, runtime
from server.kit import redis as kr
from server.kit.db import atomic, id_page, lock_rows
from server.kit.errors import Conflict, NotFound, ValidationFailed
from server.kit.schemas import Page
from server.models.catalog import Sku
from server.models.collection import Collection, CollectionStatus
from server.models.fulfillment import (DeliveryPromise, FulfillmentTask, InboundLine, InboundNote, Parcel,
                                       ParcelLine, ParcelStatus, PickRecord, ScanEvent, TaskLine, TaskStatus,
                                       UnpickItem, WmsOutbox)
from server.models.inventory import StockReason
from server.models.orders import Order, OrderLine, OrderStatus
from server.models.stations import Station
from server.fulfillment.errors import FulfillmentCode
from server.trace.errors import TraceErrorCode
from server.models.merchants import Merchant
from server.trace import service as trace_service
from server.fulfillment.schemas import PackLineIn
from server.fulfillment import sla

log = logging.getLogger("kazuo.fulfillment")

OPEN_TASK = (TaskStatus.PENDING, TaskStatus.PICKING, TaskStatus.PACKED)


# ---- handoff (paid order -> one task at the county warehouse) -----------------------------------
async def handoff(order_id: int) -> int | None:
    """Turn a paid order into its fulfilment task (idempotent); returns the task id."""
    existing = await FulfillmentTask.filter(order_id=order_id).values_list("id", flat=True)
    if existing:
        return existing[0]
    try:
        async with atomic() as conn:
            order = await Order.filter(id=order_id).using_db(conn).select_for_update().first()
            if order is None:
                return None
            if order.status != OrderStatus.PAID:
                # a concurrent handoff got there first (or the order was refunded or closed)
                return await FulfillmentTask.filter(order_id=order_id).using_db(conn) \
                    .first().values_list("id", flat=True)
            if order.ship_not_before is not None and order.ship_not_before > clock.now():
                return None  # a pre-sale before its ship-from date: the sweeper hands it off then
            route = await routing.resolve(order, conn)
            lines = await OrderLine.filter(order_id=order_id).using_db(conn).order_by("id")
            cold = any(ln.cold_chain for ln in lines)
            task = await FulfillmentTask.create(
                order_id=order_id, mode=route.mode, fulfilment=order.fulfilment, route=route.stations,
                destination_station_id=route.destination_id, town_station_id=route.town_id, cold_chain=cold,
                using_db=conn)
            await TaskLine.bulk_create([
                TaskLine(task_id=task.id, order_line_id=ln.id, sku_id=ln.sku_id,
                         quantity=ln.quantity - (ln.refunded_qty or 0), cold_chain=ln.cold_chain)
                for ln in lines if ln.quantity - (ln.refunded_qty or 0) > 0], using_db=conn)
            if not await transition_order(order_id, OrderStatus.PAID, OrderStatus.IN_FULFILMENT, conn=conn):
                raise _Abandon()
            await _wms_event("task.created", await _task_payload(task.id, conn), conn)
    except _Abandon:
        return None
    except IntegrityError:  # a concurrent handoff created it first
        return await FulfillmentTask.filter(order_id=order_id).first().values_list("id", flat=True)
    log.info("order %s handed off as task %s (%s)", order_id, task.id, route.mode)
    return task.id


class _Abandon(Exception):
    pass


async def paid_orders_without_task(limit: int = 500) -> list[int]:
    """Paid orders older than the grace period (their handoff job was lost or failed)."""
    grace = runtime.settings().fulfillment_handoff_grace_seconds
    before = clock.now() - timedelta(seconds=grace)
    # A pre-sale order waits for its ship-from date (Order.ship_not_before, server/presale).
    ids = await Order.filter(Q(ship_not_before__isnull=True) | Q(ship_not_before__lte=clock.now()),
                             status=OrderStatus.PAID, paid_at__lte=before).order_by("id").limit(limit) \
        .values_list("id", flat=True)
    return list(ids)


async def cancel_closed(limit: int = 200) -> int:
    """Stop the tasks of orders closed (fully refunded) or cancelled before they shipped."""
    ids = await FulfillmentTask.filter(status__in=OPEN_TASK,
                                       order__status__in=(OrderStatus.CLOSED, OrderStatus.CANCELLED)) \
        .order_by("id").limit(limit).values_list("id", flat=True)
    done = 0
    for tid in ids:
        try:
            done += await cancel_task(tid)
        except StockRefused:  # the books disagree: this task waits (logged), the others go on
            log.exception("task %s not cancelled: its stock is inconsistent", tid)
    return done


async def cancel_task(task_id: int) -> bool:
    """Cancel one open task whose order was closed: units still in the warehouse become sellable
    again (their reservation is released); parcels already on the road come back as returns."""
    async with atomic() as conn:
        rows = await lock_rows(FulfillmentTask, [task_id], conn)
        if not rows or rows[0].status not in OPEN_TASK:
            return False
        task = rows[0]
        order = await Order.get(id=task.order_id, using_db=conn)
        if order.status not in (OrderStatus.CLOSED, OrderStatus.CANCELLED):
            return False
        left: dict[int, int] = {}
        gone = await Parcel.filter(task_id=task_id).exclude(status=ParcelStatus.PACKED).using_db(conn) \
            .values_list("id", flat=True)
        for pl in await ParcelLine.filter(parcel_id__in=list(gone)).using_db(conn).values("task_line_id", "quantity"):
            left[pl["task_line_id"]] = left.get(pl["task_line_id"], 0) + pl["quantity"]
        release: dict[int, int] = {}
        for ln in await TaskLine.filter(task_id=task_id).using_db(conn):
            n = ln.quantity - left.get(ln.id, 0)
            if n > 0:
                release[ln.sku_id] = release.get(ln.sku_id, 0) + n
        await inventory.release(conn, [inventory.Move(sku_id, qty, "fulfillment_task", task_id)
                                       for sku_id, qty in release.items()], StockReason.TASK_CANCEL)
        now = clock.now()
        await Parcel.filter(task_id=task_id, status=ParcelStatus.PACKED).using_db(conn).update(
            status=ParcelStatus.RETURNED, direction="return", return_reason="order_closed", finished_at=now,
            version=F("version") + 1)
        await FulfillmentTask.filter(id=task_id).using_db(conn).update(status=TaskStatus.CANCELLED)
        await audit.record(None, "fulfillment.task_cancelled", "fulfillment_task", task_id,
                           {"order_id": task.order_id, "order_status": order.status,
                            "released": {str(k): v for k, v in release.items()}}, conn=conn)
    return True


async def _packed_if_complete(task_id: int, conn: Any, now) -> bool:
    """A task with units packed and none left to pack is packed; returns whether it is."""
    left = await TaskLine.filter(task_id=task_id).using_db(conn).values_list("quantity", "packed_qty")
    if any(p for _, p in left) and all(q == p for q, p in left):
        await FulfillmentTask.filter(id=task_id).using_db(conn).update(status=TaskStatus.PACKED, packed_at=now)
        return True
    return False


async def shrink_for_refund(order_id: int, refunded: list[dict], conn: Any, refund_id: int | None = None) -> int:
    """A refund succeeded for lines of an order the warehouse holds: the refunded units not picked
    yet come off its task and go back on the shelf, so nobody packs and ships goods whose money went
    back. Units already picked but not packed are listed for the warehouse to put back (un-pick,
    issue #25: "refunded 1 of 2, packed 2" no more) and cannot be packed meanwhile; units packed in a
    parcel still at the warehouse are listed to be taken out of it (un-pack) and that parcel cannot
    leave meanwhile; units on the road travel (a return after delivery). A task left with every
    remaining unit packed is packed. Runs in the refund's transaction; returns the units taken off."""
    tasks = await FulfillmentTask.filter(order_id=order_id, status__in=OPEN_TASK).using_db(conn) \
        .values_list("id", flat=True)
    if not tasks:
        return 0
    # packed units come out only while the order is being fulfilled (not once it is out or completed);
    # its parcels are locked before the task, in the order a dispatch scan takes them (parcel, task)
    unpack = refund_id is not None and await Order.filter(
        id=order_id, status__in=(OrderStatus.PAID, OrderStatus.IN_FULFILMENT)).using_db(conn).exists()
    packed = await _packed_in_warehouse(tasks[0], conn) if unpack else {}
    task_id = (await lock_rows(FulfillmentTask, list(tasks), conn))[0].id
    wanted = {}
    for item in refunded:
        wanted[item["line_id"]] = wanted.get(item["line_id"], 0) + item["qty"]
    released: dict[int, int] = {}
    held = await unpick_held(task_id, conn)
    for ln in await TaskLine.filter(task_id=task_id, order_line_id__in=list(wanted)).using_db(conn).order_by("id"):
        n = min(wanted[ln.order_line_id], ln.quantity - ln.picked_qty)
        # a pick that got there meanwhile keeps its units: only what is still unpicked comes off
        if n > 0 and await TaskLine.filter(id=ln.id, picked_qty__lte=F("quantity") - n).using_db(conn).update(
                quantity=F("quantity") - n):
            released[ln.sku_id] = released.get(ln.sku_id, 0) + n
        else:
            n = 0
        left = wanted[ln.order_line_id] - n
        rest = min(left, ln.picked_qty - ln.packed_qty - held.get(ln.id, 0))
        if rest > 0 and refund_id is not None:
            await UnpickItem.create(task_id=task_id, line_id=ln.id, sku_id=ln.sku_id, quantity=rest,
                                    refund_id=refund_id, using_db=conn)
            left -= rest
        for parcel_id, free in packed.get(ln.id, []):  # then out of parcels not dispatched yet (un-pack)
            if left <= 0:
                break
            take = min(left, free)
            if take > 0:
                await UnpickItem.create(task_id=task_id, line_id=ln.id, sku_id=ln.sku_id, quantity=take,
                                        refund_id=refund_id, parcel_id=parcel_id, using_db=conn)
                left -= take
    await inventory.release(conn, [inventory.Move(sku_id, qty, "fulfillment_task", task_id)
                                   for sku_id, qty in released.items()], StockReason.TASK_SHRINK)
    if released:
        now = clock.now()
        if await _packed_if_complete(task_id, conn, now):
            await scans.ship_if_done(task_id, conn, now)  # its parcels may all have left already
        await audit.record(None, "fulfillment.task_shrunk", "fulfillment_task", task_id,
                           {"order_id": order_id, "released": {str(k): v for k, v in released.items()}},
                           conn=conn)
    return sum(released.values())


async def _packed_in_warehouse(task_id: int, conn: Any) -> dict[int, list[tuple[int, int]]]:
    """{task_line_id: [(parcel_id, units packed there and not listed for un-pack yet)]} of the task's
    parcels still at the warehouse, locked so a dispatch waits (and then sees the un-pack)."""
    ids = await Parcel.filter(task_id=task_id, status=ParcelStatus.PACKED, direction="forward") \
        .using_db(conn).values_list("id", flat=True)
    if not ids:
        return {}
    ids = [p.id for p in await lock_rows(Parcel, list(ids), conn) if p.status == ParcelStatus.PACKED]
    taken: dict[tuple[int, int], int] = {}
    for parcel_id, line_id, q in await UnpickItem.filter(parcel_id__in=ids, status="pending").using_db(conn) \
            .values_list("parcel_id", "line_id", "quantity"):
        taken[(parcel_id, line_id)] = taken.get((parcel_id, line_id), 0) + q
    out: dict[int, list[tuple[int, int]]] = {}
    for pl in await ParcelLine.filter(parcel_id__in=ids).using_db(conn).order_by("-parcel_id", "id") \
            .values("parcel_id", "task_line_id", "quantity"):
        free = pl["quantity"] - taken.get((pl["parcel_id"], pl["task_line_id"]), 0)
        if free > 0:
            out.setdefault(pl["task_line_id"], []).append((pl["parcel_id"], free))
    return out


async def unpick_held(task_id: int, conn: Any) -> dict[int, int]:
    """{task_line_id: units} picked, not packed, waiting to be put back (un-pick): not to be packed."""
    held: dict[int, int] = {}
    for line_id, qty in await UnpickItem.filter(task_id=task_id, status="pending", parcel_id=None) \
            .using_db(conn).values_list("line_id", "quantity"):
        held[line_id] = held.get(line_id, 0) + qty
    return held


# ---- inbound (集采统储) ---------------------------------------------------------------------------
def _note_out(note: InboundNote, lines: list[InboundLine]) -> InboundNoteOut:
    return InboundNoteOut(
        id=note.id, merchant_id=note.merchant_id, status=note.status, note=note.note,
        created_by_id=note.created_by_id, received_by_id=note.received_by_id, created_at=note.created_at,
        received_at=note.received_at, lines=[InboundLineOut.model_validate(ln) for ln in lines])


async def create_inbound(body: InboundNoteIn, *, actor_id: int) -> InboundNoteOut:
    """Announce a merchant's delivery to the warehouse (入库单): SKUs, expected quantities, batches."""
    if not await Merchant.filter(id=body.merchant_id).exists():
        raise ValidationFailed.field("merchant_id", "no such merchant")
    sku_ids = {ln.sku_id for ln in body.lines}
    owned = dict(await Sku.filter(id__in=sku_ids).values_list("id", "product__merchant_id"))
    for i, ln in enumerate(body.lines):
        if owned.get(ln.sku_id) != body.merchant_id:
            raise ValidationFailed.field(f"lines[{i}].sku_id", "not a SKU of this merchant")
    async with atomic() as conn:
        note = await InboundNote.create(merchant_id=body.merchant_id, note=body.note, created_by_id=actor_id,
                                        using_db=conn)
        await InboundLine.bulk_create([InboundLine(note_id=note.id, sku_id=ln.sku_id, batch=ln.batch,
                                                   expected_qty=ln.quantity) for ln in body.lines],
                                      using_db=conn)
        lines = await InboundLine.filter(note_id=note.id).using_db(conn).order_by("id")
        await audit.record(actor_id, "inbound.create", "inbound_note", note.id,
                           {"merchant_id": body.merchant_id, "lines": len(lines)}, conn=conn)
    return _note_out(note, lines)


async def receive_inbound(note_id: int, body: ReceiveIn, *, actor_id: int) -> InboundNoteOut:
    """Receive a note's goods: the received quantities become sellable stock, exactly once."""
    async with atomic() as conn:
        # open -> received is the guard: a second receipt (or a concurrent one) changes nothing.
        note = await InboundNote.get_or_none(id=note_id, using_db=conn)
        if note is None:
            raise NotFound("inbound note not found")
        lines = {ln.id: ln for ln in await InboundLine.filter(note_id=note_id).using_db(conn)}
        given: dict[int, int] = {}
        for i, ln in enumerate(body.lines):
            if ln.line_id not in lines:
                raise ValidationFailed.field(f"lines[{i}].line_id", "not a line of this note")
            if ln.line_id in given:
                raise ValidationFailed.field(f"lines[{i}].line_id", "listed twice")
            given[ln.line_id] = ln.quantity
        missing = sorted(set(lines) - set(given))
        if missing:
            raise ValidationFailed.field("lines", f"every line needs a received quantity (missing {missing})")
        now = clock.now()
        changed = await InboundNote.filter(id=note_id, status="open").using_db(conn).update(
            status="received", received_by_id=actor_id, received_at=now)
        if not changed:
            raise Conflict("this inbound note was already received", code=FulfillmentCode.ALREADY_RECEIVED)
        for line_id, qty in given.items():
            await InboundLine.filter(id=line_id).using_db(conn).update(received_qty=qty)
        await inventory.restock(conn, [inventory.Move(lines[line_id].sku_id, qty, "inbound_line", line_id)
                                       for line_id, qty in sorted(given.items())], StockReason.INBOUND,
                                actor_id=actor_id)
        await audit.record(actor_id, "inbound.receive", "inbound_note", note_id,
                           {"received": {str(k): v for k, v in given.items()}}, conn=conn)
        note = await InboundNote.get(id=note_id, using_db=conn)
        out_lines = await InboundLine.filter(note_id=note_id).using_db(conn).order_by("id")
    return _note_out(note, out_lines)


async def inbound_note(note_id: int) -> InboundNoteOut:
    """One inbound note with its lines."""
    note = await InboundNote.get_or_none(id=note_id)
    if note is None:
        raise NotFound("inbound note not found")
    return _note_out(note, await InboundLine.filter(note_id=note_id).order_by("id"))


def _stock_skus(sku_ids: list[int] | None = None, merchant_id: int | None = None, q: str | None = None):
    qs = Sku.all().annotate(product_name=F("product__name"))
    if sku_ids:
        qs = qs.filter(id__in=sku_ids)
    if merchant_id:
        qs = qs.filter(product__merchant_id=merchant_id)
    if q:
        qs = qs.filter(product__name__icontains=q)
    return qs


def _stock_out(s: Sku) -> StockOut:
    return StockOut(sku_id=s.id, product_id=s.product_id, product_name=s.product_name or "", spec=s.spec,
                    on_hand=s.stock + s.reserved, reserved=s.reserved, sellable=s.stock)


async def stock(sku_ids: list[int] | None = None, merchant_id: int | None = None) -> list[StockOut]:
    """Stock per SKU: on hand in the warehouse, reserved by orders, sellable."""
    return [_stock_out(s) for s in await _stock_skus(sku_ids, merchant_id).order_by("id").limit(500)]


async def stock_page(merchant_id: int | None, q: str | None, cursor: str | None, limit: int) -> Page[StockOut]:
    """A keyset page of the SKUs' stock (of one merchant, of products whose name holds q), by id."""
    rows, nxt = await id_page(_stock_skus(merchant_id=merchant_id, q=q), cursor, limit)
    return Page[StockOut](items=[_stock_out(s) for s in rows], next_cursor=nxt)


# ---- tasks and waves ---------------------------------------------------------------------------
async def _tasks_out(tasks: list[FulfillmentTask], conn: Any = None) -> list[TaskOut]:
    """Tasks with their lines and parcels in three queries, whatever the page size."""
    ids = [t.id for t in tasks]
    lines: dict[int, list[TaskLine]] = {}
    parcels: dict[int, list[Parcel]] = {}
    if ids:
        for ln in await TaskLine.filter(task_id__in=ids).using_db(conn).order_by("id"):
            lines.setdefault(ln.task_id, []).append(ln)
        for p in await Parcel.filter(task_id__in=ids).using_db(conn).order_by("id"):
            parcels.setdefault(p.task_id, []).append(p)
    return [_task_model(t, lines.get(t.id, []), parcels.get(t.id, [])) for t in tasks]


async def _task_out(task: FulfillmentTask, conn: Any = None) -> TaskOut:
    return (await _tasks_out([task], conn))[0]


def _task_model(task: FulfillmentTask, lines: list[TaskLine], parcels: list[Parcel]) -> TaskOut:
    return TaskOut(id=task.id, order_id=task.order_id, status=task.status, mode=task.mode,
                   fulfilment=task.fulfilment, route=list(task.route or []),
                   destination_station_id=task.destination_station_id, town_station_id=task.town_station_id,
                   cold_chain=task.cold_chain, created_at=task.created_at,
                   lines=[TaskLineOut.model_validate(ln) for ln in lines],
                   parcels=[ParcelBrief.model_validate(p) for p in parcels])


async def _task_payload(task_id: int, conn: Any) -> dict:
    task = await FulfillmentTask.get(id=task_id, using_db=conn)
    return (await _task_out(task, conn)).model_dump(mode="json")


async def get_task(task_id: int) -> TaskOut:
    """One task with its lines and parcels."""
    task = await FulfillmentTask.get_or_none(id=task_id)
    if task is None:
        raise NotFound("task not found")
    return await _task_out(task)


async def list_tasks(query: TaskQuery) -> Page[TaskOut]:
    """Tasks, oldest first (keyset pages)."""
    q = FulfillmentTask.all()
    if query.status:
        q = q.filter(status=query.status)
    if query.town_station_id:
        q = q.filter(town_station_id=query.town_station_id)
    tasks, next_cursor = await id_page(q, query.cursor, query.limit)
    return Page[TaskOut](items=await _tasks_out(tasks), next_cursor=next_cursor)


async def waves() -> list[WaveOut]:
    """Open tasks grouped into waves (波次) by destination town, route mode and cold chain."""
    tasks = await FulfillmentTask.filter(status__in=OPEN_TASK).order_by("id").limit(5000).values(
        "id", "town_station_id", "mode", "cold_chain")
    if not tasks:
        return []
    lines = await TaskLine.filter(task_id__in=[t["id"] for t in tasks]).values("task_id", "quantity")
    per_task: dict[int, list[int]] = {}
    for ln in lines:
        per_task.setdefault(ln["task_id"], []).append(ln["quantity"])
    towns = {s["id"]: s for s in await Station.filter(
        id__in={t["town_station_id"] for t in tasks if t["town_station_id"]}).values("id", "town", "code")}
    day = clock.local_today().isoformat()
    groups: dict[tuple, WaveOut] = {}
    for t in tasks:
        key = (t["mode"], t["town_station_id"], t["cold_chain"])
        if key not in groups:
            town = towns.get(t["town_station_id"]) or {}
            code = town.get("code") or ("COURIER" if t["mode"] == "courier" else "COUNTY")
            groups[key] = WaveOut(wave=f"{day}/{code}{'/COLD' if t['cold_chain'] else ''}",
                                  town_station_id=t["town_station_id"], town=town.get("town", ""),
                                  cold_chain=t["cold_chain"], mode=t["mode"], task_ids=[], lines=0, units=0)
        w = groups[key]
        w.task_ids.append(t["id"])
        w.lines += len(per_task.get(t["id"], []))
        w.units += sum(per_task.get(t["id"], []))
    return sorted(groups.values(), key=lambda w: (w.mode, not w.cold_chain, w.wave))


# ---- pick (scan SKU and batch) -----------------------------------------------------------------
async def pick(task_id: int, sku_id: int, batch: str, quantity: int, *, actor_id: int | None,
               source: str = "api", scan_id: str | None = None, trace_code: str | None = None) -> TaskOut:
    """Record a pick scan of `quantity` units of a SKU from a received batch into a task (scan_id: the
    scanner's id for this scan; the same id again raises IntegrityError and writes nothing)."""
    task = await FulfillmentTask.get_or_none(id=task_id)
    if task is None:
        raise NotFound("task not found")
    if task.status not in (TaskStatus.PENDING, TaskStatus.PICKING):
        raise Conflict(f"the task is {task.status}; nothing left to pick",
                       code=FulfillmentCode.TASK_NOT_PICKABLE)
    if not (await InboundLine.filter(sku_id=sku_id, batch=batch, note__status="received").exists()
            or await Collection.filter(sku_id=sku_id, batch__code=batch, status=CollectionStatus.RECEIVED,
                                       received_qty__gt=0).exists()):  # a received collection (#26)
        raise ValidationFailed.field("batch", "no batch with this number was received for this SKU")
    if await trace_service.is_recalled(sku_id, batch):
        # 召回: the batch's units stay on the shelf until the office removes them; none may leave.
        raise Conflict("this batch was recalled: pick another batch", code=TraceErrorCode.BATCH_RECALLED,
                       details=[{"field": "batch", "message": "recalled"}])
    lines = await TaskLine.filter(task_id=task_id, sku_id=sku_id).order_by("id")
    if not lines:
        raise ValidationFailed.field("sku_id", "this SKU is not in the task")
    async with atomic() as conn:
        # the task row first, as pack and a refund's shrink take it: no lock-order deadlock
        await lock_rows(FulfillmentTask, [task_id], conn)
        lines = await TaskLine.filter(task_id=task_id, sku_id=sku_id).using_db(conn).order_by("id")
        remaining = quantity
        for ln in lines:
            take = min(remaining, ln.quantity - ln.picked_qty)
            if take <= 0:
                continue
            # picked_qty never passes quantity, however many pickers scan at once (and the quantity
            # as it is now: a refund may have shrunk it since the line was read)
            n = await TaskLine.filter(id=ln.id, picked_qty__lte=F("quantity") - take).using_db(conn).update(
                picked_qty=F("picked_qty") + take)
            if not n:
                raise Conflict("the line changed while picking; scan again",
                               code=FulfillmentCode.PICK_CONFLICT)
            await PickRecord.create(line_id=ln.id, batch=batch, quantity=take, actor_id=actor_id,
                                    source=source, scan_id=scan_id, trace_code=trace_code, using_db=conn)
            scan_id = None  # unique: on the first record of the scan only
            remaining -= take
            if not remaining:
                break
        if remaining:
            raise Conflict(f"only {quantity - remaining} more of this SKU are needed",
                           code=FulfillmentCode.OVER_PICK,
                           details=[{"field": "quantity", "message": "more than the task needs"}])
        await FulfillmentTask.filter(id=task_id, status=TaskStatus.PENDING).using_db(conn).update(
            status=TaskStatus.PICKING)
    return await get_task(task_id)


# ---- pack (into labelled parcels) --------------------------------------------------------------
def _new_label() -> str:
    return "KZ" + secrets.token_hex(6).upper()


async def pack(task_id: int, body: PackIn, *, actor_id: int | None, source: str = "api") -> ParcelOut:
    """Pack picked units into one labelled parcel; refuses unpicked units and mixed cold chain."""
    async with atomic() as conn:
        # One packer per task at a time: the lock keeps "packed <= picked" and the task status true.
        locked = await lock_rows(FulfillmentTask, [task_id], conn)
        if not locked:
            raise NotFound("task not found")
        task = locked[0]
        if task.status not in (TaskStatus.PICKING, TaskStatus.PENDING):
            raise Conflict(f"the task is {task.status}; nothing left to pack",
                           code=FulfillmentCode.TASK_NOT_PACKABLE)
        lines = {ln.id: ln for ln in await TaskLine.filter(task_id=task_id).using_db(conn)}
        held = await unpick_held(task_id, conn)  # refunded units waiting to go back on the shelf
        seen: set[int] = set()
        for i, pl in enumerate(body.lines):
            ln = lines.get(pl.task_line_id)
            if ln is None:
                raise ValidationFailed.field(f"lines[{i}].task_line_id", "not a line of this task")
            if pl.task_line_id in seen:
                raise ValidationFailed.field(f"lines[{i}].task_line_id", "listed twice")
            seen.add(pl.task_line_id)
            if ln.packed_qty + pl.quantity > ln.picked_qty - held.get(ln.id, 0):
                free = ln.picked_qty - ln.packed_qty - held.get(ln.id, 0)
                raise Conflict("cannot pack units that were not picked (or are refunded: put them back)",
                               code=FulfillmentCode.NOT_PICKED,
                               details=[{"field": f"lines[{i}].quantity",
                                         "message": f"{free} picked and unpacked"}])
        colds = {lines[pl.task_line_id].cold_chain for pl in body.lines}
        if len(colds) > 1:
            raise Conflict("cold-chain and ambient goods go in separate parcels",
                           code=FulfillmentCode.MIXED_COLD_CHAIN)
        for pl in body.lines:
            ln = lines[pl.task_line_id]
            n = await TaskLine.filter(id=ln.id, packed_qty__lte=ln.picked_qty - pl.quantity).using_db(conn) \
                .update(packed_qty=F("packed_qty") + pl.quantity)
            if not n:
                raise Conflict("cannot pack units that were not picked", code=FulfillmentCode.NOT_PICKED)
        now = clock.now()
        parcel = await Parcel.create(
            label=_new_label(), task_id=task_id, order_id=task.order_id, route=list(task.route or []),
            weight_g=body.weight_g, cold_chain=colds.pop(), packed_by_id=actor_id, packed_at=now,
            pod_code=(f"{secrets.randbelow(10**6):06d}" if task.fulfilment == "delivery"
                      and task.mode == "local" else ""), using_db=conn)
        await ParcelLine.bulk_create([ParcelLine(parcel_id=parcel.id, task_line_id=pl.task_line_id,
                                                 sku_id=lines[pl.task_line_id].sku_id, quantity=pl.quantity)
                                      for pl in body.lines], using_db=conn)
        await ScanEvent.create(parcel_id=parcel.id, kind="packed", direction="forward",
                               station_id=(task.route or [None])[0], actor_id=actor_id, source=source,
                               scan_key=f"{parcel.id}:forward:packed", at=now,
                               data={"weight_g": body.weight_g}, using_db=conn)
        if task.mode == "local":
            for leg, due, town_id in routing.initial_promises(list(task.route or []), now):
                await sla.add_promise(parcel.id, leg, due, town_id, conn)
        if not await _packed_if_complete(task_id, conn, now) and task.status == TaskStatus.PENDING:
            await FulfillmentTask.filter(id=task_id).using_db(conn).update(status=TaskStatus.PICKING)
    return parcel_out(parcel)


async def pack_by_sku(task_id: int, items: list[tuple[int, int]], weight_g: int, *,
                      source: str = "wms") -> ParcelOut:
    """Pack by (sku_id, quantity) as a WMS reports it: mapped onto the task's lines in order."""
    lines = await TaskLine.filter(task_id=task_id).order_by("id")
    if not lines:
        raise NotFound("task not found")
    out: dict[int, int] = {}
    held = await unpick_held(task_id, None)
    for i, (sku_id, qty) in enumerate(items):
        for ln in lines:
            if ln.sku_id != sku_id:
                continue
            free = ln.picked_qty - ln.packed_qty - held.get(ln.id, 0) - out.get(ln.id, 0)
            take = min(free, qty)
            if take > 0:
                out[ln.id] = out.get(ln.id, 0) + take
                qty -= take
            if not qty:
                break
        if qty:
            raise Conflict("cannot pack units that were not picked", code=FulfillmentCode.NOT_PICKED,
                           details=[{"field": f"lines[{i}].quantity", "message": "more than picked"}])
    body = PackIn(lines=[PackLineIn(task_line_id=k, quantity=v) for k, v in out.items()], weight_g=weight_g)
    return await pack(task_id, body, actor_id=None, source=source)


async def parcel_by_label(label: str) -> Parcel:
    p = await Parcel.get_or_none(label=label)
    if p is None:
        raise NotFound("parcel not found")
    return p


async def get_parcel(parcel_id: int) -> ParcelOut:
    """One parcel."""
    p = await Parcel.get_or_none(id=parcel_id)
    if p is None:
        raise NotFound("parcel not found")
    return parcel_out(p)


async def label_png(parcel_id: int) -> bytes:
    """The parcel label's QR code as a PNG."""
    import io

    import qrcode

    p = await Parcel.get_or_none(id=parcel_id)
    if p is None:
        raise NotFound("parcel not found")

    def render() -> bytes:
        buf = io.BytesIO()
        qrcode.make(label_payload(p.label)).save(buf, format="PNG")
        return buf.getvalue()

    return await pools.cpu(render)


# ---- WMS outbox --------------------------------------------------------------------------------
async def _wms_event(kind: str, payload: dict, conn: Any) -> None:
    """Queue an outbound WMS webhook event in the caller's transaction (only when a WMS is set)."""
    if not runtime.settings().wms_webhook_url:
        return
    ev = await WmsOutbox.create(event_id=uuid.uuid4().hex, kind=kind, payload=payload, using_db=conn)
    jobs.enqueue("fulfillment.wms_deliver", ev.id, job_id=kr.key("job", "wms", ev.id))


async def promise_rows(parcel_ids: list[int]) -> dict[int, list[DeliveryPromise]]:
    out: dict[int, list[DeliveryPromise]] = {}
    for pr in await DeliveryPromise.filter(parcel_id__in=parcel_ids).order_by("id"):
        out.setdefault(pr.parcel_id, []).append(pr)
    return out

