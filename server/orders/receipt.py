"""Completion of orders that leave by a third-party courier (确认收货): the buyer confirms receipt, or
the order completes by itself KAZUO_AUTO_CONFIRM_DAYS days after the courier took its last parcel
(自动确认收货). Pickup orders complete at the counter (stations) and station deliveries at the
proof-of-delivery scan (fulfillment.scans); every completion is the orders state machine's
transition to `completed`, so it happens once whatever calls it and however often.

The automatic one is a deferred job enqueued when the courier task ships (fulfillment.scans) plus
a sweeper (jobs/orders.py) that re-finds due orders whose job was lost."""
from __future__ import annotations

from datetime import timedelta

from server.kit import clock, runtime
from server.kit import redis as kr
from server.kit.db import atomic
from server.kit.errors import Conflict, NotFound
from server.kit.jobs import enqueue
from server.models.fulfillment import FulfillmentTask, TaskStatus
from server.models.orders import Order, OrderStatus
from server.orders import service as orders_service
from server.orders.schemas import OrderOut
from server.orders.errors import OrderCode

S = OrderStatus
# A courier order is with the buyer's courier from out_for_delivery on; `delivered` takes orders
# that reached it before completion existed.
CONFIRMABLE = (S.OUT_FOR_DELIVERY, S.DELIVERED)
JOB = "orders.auto_confirm"


def auto_confirm_after() -> timedelta:
    return timedelta(days=runtime.settings().auto_confirm_days)


def schedule_auto_confirm(order_id: int) -> None:
    """Enqueue (after the commit) the job that completes a courier order when it is due."""
    enqueue(JOB, order_id, job_id=kr.key("job", f"{JOB}:{order_id}"), defer=auto_confirm_after())


async def confirm_receipt(buyer_id: int, order_id: int) -> OrderOut:
    """The buyer confirms receipt of their courier order (idempotent: a completed order is answered
    as it is); 404 for anyone else's order, 409 order_not_shipped before it left with a courier."""
    order = await Order.get_or_none(id=order_id, buyer_id=buyer_id).only("id", "status", "fulfilment")
    if order is None:
        raise NotFound("order not found")
    if order.status == S.COMPLETED:
        return await orders_service.order_out(order_id)
    mode = await FulfillmentTask.filter(order_id=order_id).values_list("mode", flat=True)
    if order.status not in CONFIRMABLE or (order.status == S.OUT_FOR_DELIVERY and mode[:1] != ["courier"]):
        raise Conflict(f"the order is {order.status}; receipt can be confirmed once a courier has it",
                       code=OrderCode.ORDER_NOT_SHIPPED, details={"status": order.status})
    async with atomic() as conn:
        try:
            await orders_service.transition(order_id, CONFIRMABLE, S.COMPLETED, conn=conn, actor_id=buyer_id,
                                            completed_at=clock.now())
        except Conflict:
            current = await Order.get(id=order_id, using_db=conn).only("status")
            if current.status != S.COMPLETED:  # refunded and closed meanwhile
                raise Conflict(f"the order is {current.status}; receipt cannot be confirmed",
                               code=OrderCode.ORDER_NOT_SHIPPED, details={"status": current.status}) from None
    return await orders_service.order_out(order_id)


async def auto_confirm(order_id: int) -> str:
    """Complete a courier order whose task shipped at least the auto-confirm period ago: completed |
    not_due (the job comes back then) | skip (not a courier order out for delivery)."""
    task = await FulfillmentTask.get_or_none(order_id=order_id)
    if task is None or task.mode != "courier" or task.status != TaskStatus.SHIPPED or task.shipped_at is None:
        return "skip"
    due = task.shipped_at + auto_confirm_after()
    if due > clock.now():
        return "not_due"
    async with atomic() as conn:
        try:
            await orders_service.transition(order_id, CONFIRMABLE, S.COMPLETED, conn=conn, actor_id=None,
                                            completed_at=clock.now())
        except Conflict:
            return "skip"
    return "completed"


async def due_auto_confirm(limit: int = 500) -> list[int]:
    """Courier orders still waiting for confirmation whose auto-confirm time has passed (the sweeper)."""
    before = clock.now() - auto_confirm_after()
    return list(await FulfillmentTask.filter(
        mode="courier", status=TaskStatus.SHIPPED, shipped_at__lte=before, order__status__in=CONFIRMABLE)
        .order_by("id").limit(limit).values_list("order_id", flat=True))
