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
from server.models.fulfillment import FulfillmentTask, SkuBin, TaskLine, TaskStatus, UnpickItem
from server.models.inventory import StockReason

OPEN = (TaskStatus.PENDING, TaskStatus.PICKING)



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
    ones are listed to be put back. Returns the units waiting for the un-pick, None without an open task."""
    if not await FulfillmentTask.filter(order_id=order_id, status__in=OPEN).using_db(conn).exists():
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
    return [UnpickOut(id=i.id, task_id=i.task_id, order_no=order_nos.get(i.task_id, ""), sku_id=i.sku_id,
                      name=skus.get(i.sku_id, {}).get("product__name", ""),
                      spec=skus.get(i.sku_id, {}).get("spec", ""), bin=bins.get(i.sku_id, ""),
                      quantity=i.quantity, refund_id=i.refund_id, created_at=i.created_at) for i in items]


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
    if not await TaskLine.filter(id=item.line_id, picked_qty__gte=F("packed_qty") + n).using_db(conn).update(
            quantity=F("quantity") - n, picked_qty=F("picked_qty") - n):
        raise Conflict("these units are no longer picked and unpacked", code=FulfillmentCode.UNPICK_DONE)
    await inventory.release(conn, [inventory.Move(item.sku_id, n, "fulfillment_task", item.task_id)],
                            StockReason.UNPICK, actor_id=actor_id)
    now = clock.now()
    if await service._packed_if_complete(item.task_id, conn, now):
        await scans.ship_if_done(item.task_id, conn, now)
    await audit.record(actor_id, "fulfillment.unpicked", "fulfillment_task", item.task_id,
                       {"item_id": item_id, "sku_id": item.sku_id, "quantity": n, "refund_id": item.refund_id},
                       conn=conn)
    if await UnpickItem.filter(refund_id=item.refund_id, status="pending").using_db(conn).exists():
        return None
    return item.refund_id
