"""Un-pick (退款回架, issue #25): units of a refund that the warehouse had already picked go back on the
shelf before the refund proceeds. service.shrink_for_refund lists them (UnpickItem) and pack refuses
them meanwhile; the warehouse confirms each one here (the reservation is released through
server/inventory) and the caller lets the refund go on once none of its items is left."""
from __future__ import annotations

from typing import Any

from tortoise.expressions import F

from server.fulfillment import scans, service
from server.fulfillment.errors import FulfillmentCode
from server.fulfillment.schemas import UnpickOut
from server.inventory import service as inventory
from server.kit import audit, clock
from server.kit.db import lock_rows
from server.kit.errors import Conflict, NotFound
from server.models.catalog import Sku
from server.models.fulfillment import (DeliveryPromise, FulfillmentTask, Parcel, ParcelLine, ParcelStatus, SkuBin,
                                       TaskLine, TaskStatus, UnpickItem)
from server.models.inventory import StockReason

OPEN = (TaskStatus.PENDING, TaskStatus.PICKING)
HOLDING = (*OPEN, TaskStatus.PACKED)  # the warehouse still holds units of it (packed parcels not dispatched)



async def unpicked_units(order_id: int, conn: Any) -> dict[int, int] | None:
    """{order_line_id: units not picked yet} of the order's open task; None when no task is open
    (not handed off yet, or everything packed)."""
    task = await FulfillmentTask.filter(order_id=order_id, status__in=OPEN).using_db(conn).first()
    if task is None:
        return None
    out: dict[int, int] = {}
    for lid, q, p in await TaskLine.filter(task_id=task.id).using_db(conn).values_list(
            "order_line_id", "quantity", "picked_qty"):
        out[lid] = out.get(lid, 0) + q - p
    return out


async def hold_for_refund(order_id: int, lines: list[dict], refund_id: int, conn: Any) -> int | None:
    """At a refund's approval: unpicked units come off the open task at once (back on the shelf), picked
    ones and ones packed in a parcel still at the warehouse are listed to be put back. Returns the units waiting for the un-pick, None without an open task."""
    if not await FulfillmentTask.filter(order_id=order_id, status__in=HOLDING).using_db(conn).exists():
        return None
    await service.shrink_for_refund(order_id, lines, conn, refund_id)
    return sum(await UnpickItem.filter(refund_id=refund_id, status="pending").using_db(conn)
               .values_list("quantity", flat=True))


async def pending(limit: int = 200) -> list[UnpickOut]:
    """The warehouse's un-pick list, oldest first, with the SKU's bin."""
    items = await UnpickItem.filter(status="pending").order_by("id").limit(limit)
    if not items:
        return []
    sku_ids = sorted({i.sku_id for i in items})
    skus = {s["id"]: s for s in await Sku.filter(id__in=sku_ids).values("id", "spec", "product__name")}
    bins = dict(await SkuBin.filter(sku_id__in=sku_ids).values_list("sku_id", "bin"))
    order_nos = dict(await FulfillmentTask.filter(id__in={i.task_id for i in items})
                     .values_list("id", "order__order_no"))
    labels = dict(await Parcel.filter(id__in={i.parcel_id for i in items if i.parcel_id}).values_list("id", "label"))
    return [UnpickOut(id=i.id, task_id=i.task_id, order_no=order_nos.get(i.task_id, ""), sku_id=i.sku_id,
                      name=skus.get(i.sku_id, {}).get("product__name", ""),
                      spec=skus.get(i.sku_id, {}).get("spec", ""), bin=bins.get(i.sku_id, ""),
                      quantity=i.quantity, refund_id=i.refund_id, created_at=i.created_at,
                      parcel_label=labels.get(i.parcel_id, "") if i.parcel_id else "") for i in items]


async def waiting_units(refund_ids: list[int]) -> dict[int, int]:
    """{refund_id: units still waiting to go back on the shelf} (the office's refunds page, 待回架)."""
    out: dict[int, int] = {}
    if refund_ids:
        for rid, q in await UnpickItem.filter(refund_id__in=refund_ids, status="pending").values_list(
                "refund_id", "quantity"):
            out[rid] = out.get(rid, 0) + q
    return out


async def count_pending() -> int:
    return await UnpickItem.filter(status="pending").count()


async def confirm(item_id: int, *, actor_id: int | None, conn: Any) -> int | None:
    """The warehouse put an item's units back on the shelf (inside the caller's transaction): the task
    line holds that many fewer, the reservation is released. Returns the refund id when this was its
    last pending item (the refund may proceed), else None. A second confirmation is a 409."""
    item = await UnpickItem.get_or_none(id=item_id, using_db=conn)
    if item is None:
        raise NotFound("un-pick item not found")
    await lock_rows(FulfillmentTask, [item.task_id], conn)  # the task row first, as pick and pack do
    if not await UnpickItem.filter(id=item_id, status="pending").using_db(conn).update(
            status="done", done_at=clock.now(), done_by_id=actor_id):
        raise Conflict("this item was already put back", code=FulfillmentCode.UNPICK_DONE)
    n = item.quantity
    now = clock.now()
    if item.parcel_id is not None:
        await _unpack(item, actor_id, conn, now)
    else:
        if not await TaskLine.filter(id=item.line_id, picked_qty__gte=F("packed_qty") + n).using_db(conn).update(
                quantity=F("quantity") - n, picked_qty=F("picked_qty") - n):
            raise Conflict("these units are no longer picked and unpacked", code=FulfillmentCode.UNPICK_DONE)
        await inventory.release(conn, [inventory.Move(item.sku_id, n, "fulfillment_task", item.task_id)],
                                StockReason.UNPICK, actor_id=actor_id)
        if await service._packed_if_complete(item.task_id, conn, now):
            await scans.ship_if_done(item.task_id, conn, now)
    await audit.record(actor_id, "fulfillment.unpacked" if item.parcel_id else "fulfillment.unpicked",
                       "fulfillment_task", item.task_id,
                       {"item_id": item_id, "sku_id": item.sku_id, "quantity": n, "refund_id": item.refund_id,
                        "parcel_id": item.parcel_id}, conn=conn)
    if await UnpickItem.filter(refund_id=item.refund_id, status="pending").using_db(conn).exists():
        return None
    return item.refund_id


async def _unpack(item: UnpickItem, actor_id: int | None, conn: Any, now) -> None:
    """Take the item's units out of its parcel still at the warehouse (re-packed without them, lighter
    by their SKU weight; emptied, it is done with): the task holds that many fewer, picked and packed,
    and their reservation is released (UNPACK)."""
    n = item.quantity
    parcel = (await lock_rows(Parcel, [item.parcel_id], conn) or [None])[0]
    if parcel is None or parcel.status != ParcelStatus.PACKED:
        raise Conflict("the parcel already left the warehouse", code=FulfillmentCode.ALREADY_DISPATCHED)
    pl = await ParcelLine.filter(parcel_id=parcel.id, task_line_id=item.line_id, quantity__gte=n) \
        .using_db(conn).first()
    if pl is None or not await TaskLine.filter(id=item.line_id, packed_qty__gte=n).using_db(conn).update(
            quantity=F("quantity") - n, picked_qty=F("picked_qty") - n, packed_qty=F("packed_qty") - n):
        raise Conflict("these units are no longer in the parcel", code=FulfillmentCode.UNPICK_DONE)
    if pl.quantity == n:
        await ParcelLine.filter(id=pl.id).using_db(conn).delete()
    else:
        await ParcelLine.filter(id=pl.id).using_db(conn).update(quantity=F("quantity") - n)
    await inventory.release(conn, [inventory.Move(item.sku_id, n, "parcel", parcel.id)], StockReason.UNPACK,
                            actor_id=actor_id)
    if await ParcelLine.filter(parcel_id=parcel.id).using_db(conn).exists():
        weight = (await Sku.filter(id=item.sku_id).using_db(conn).values_list("weight_g", flat=True))[0] * n
        await Parcel.filter(id=parcel.id).using_db(conn).update(
            weight_g=max(parcel.weight_g - weight, 1), version=F("version") + 1)
    else:  # nothing left in it: the parcel is done with, as when a closed order's parcel is taken apart
        await Parcel.filter(id=parcel.id).using_db(conn).update(
            status=ParcelStatus.RETURNED, direction="return", return_reason="unpacked_refund", finished_at=now,
            version=F("version") + 1)
        await DeliveryPromise.filter(parcel_id=parcel.id).using_db(conn).delete()
    if await Parcel.filter(task_id=item.task_id).exclude(status=ParcelStatus.RETURNED).using_db(conn).exists():
        await scans.ship_if_done(item.task_id, conn, now)  # the others may all have left already
