"""Orders that complete, by mode: a courier order by its buyer's confirmation of receipt (确认收货) or
automatically KAZUO_AUTO_CONFIRM_DAYS after the courier took it (自动确认收货), by a deferred job and
a sweeper; every completion once, through the order state machine. (Pickup at the counter and station
delivery at the proof of delivery are in tests/stations and test_delivery.py.)"""
from datetime import timedelta

from jobs import orders as order_jobs
from server.kit import clock, runtime
from server.models.fulfillment import FulfillmentTask
from server.models.orders import Order, OrderEvent
from server.orders import receipt
from tests.conftest import login, wait_for
from tests.fulfillment import factories as f
from tests.fulfillment.conftest import ready_parcel

WH = "/api/v1/console/warehouse"


async def _courier_order(world, *, ship: bool = True):
    m, (sku, _) = await f.merchant_with_skus()
    order = await f.paid_order(world.buyer.id, [(sku, 1)], address=f.address(world.net, outside=True))
    parcel = await ready_parcel(world, order.id, m.id)
    if ship:
        r = await world.warehouse.post(f"{WH}/parcels/{parcel['id']}/courier",
                                       json={"company": "SF", "tracking_no": "SF" + str(order.id).zfill(10)})
        assert r.status_code == 200, r.text
    return order


async def test_the_buyer_confirms_receipt_once(world, client):
    order = await _courier_order(world, ship=False)
    url = f"/api/v1/orders/{order.id}/confirm-receipt"
    r = await world.buyer.post(url)  # still in the warehouse
    assert r.status_code == 409 and r.json()["error"]["code"] == "order_not_shipped"
    task = await FulfillmentTask.get(order_id=order.id)
    parcel = (await world.warehouse.get(f"{WH}/tasks/{task.id}")).json()["parcels"][0]
    r = await world.warehouse.post(f"{WH}/parcels/{parcel['id']}/courier", json={"company": "SF", "tracking_no": "SF42"})
    assert r.status_code == 200, r.text
    stranger = await login(client)
    assert (await stranger.post(url)).status_code == 404
    assert (await world.warehouse.post(url)).status_code == 404  # only the order's buyer
    r = await world.buyer.post(url)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed" and r.json()["completed_at"] is not None
    again = await world.buyer.post(url)
    assert again.status_code == 200 and again.json()["completed_at"] == r.json()["completed_at"]
    events = await OrderEvent.filter(order_id=order.id, to_status="completed").values("actor_id", "from_status")
    assert events == [{"actor_id": world.buyer.id, "from_status": "out_for_delivery"}]
    # the automatic confirmation that comes later changes nothing
    clock.shift(timedelta(days=runtime.settings().auto_confirm_days, minutes=1))
    try:
        assert await receipt.auto_confirm(order.id) == "skip"
    finally:
        clock.reset()
    assert await OrderEvent.filter(order_id=order.id, to_status="completed").count() == 1


async def test_a_pickup_order_cannot_be_confirmed_before_the_counter(world):
    m, (sku, _) = await f.merchant_with_skus()
    order = await f.paid_order(world.buyer.id, [(sku, 1)], station=world.net.village)
    r = await world.buyer.post(f"/api/v1/orders/{order.id}/confirm-receipt")
    assert r.status_code == 409 and r.json()["error"]["code"] == "order_not_shipped"
    assert (await Order.get(id=order.id)).status == "paid"


async def test_courier_orders_complete_by_themselves_after_the_set_days(world):
    order = await _courier_order(world)
    days = runtime.settings().auto_confirm_days
    assert days == 10  # the default
    # the job runs early (a retry, an early delivery): not due, nothing changes
    assert await order_jobs.auto_confirm({}, order.id) == "not_due"
    assert order.id not in await receipt.due_auto_confirm()
    clock.shift(timedelta(days=days, seconds=1))
    try:
        assert order.id in await receipt.due_auto_confirm()
        # the sweeper re-finds it (a lost job) and the worker completes it
        assert await order_jobs.sweep_auto_confirm({}) >= 1
        assert await wait_for(lambda: Order.filter(id=order.id, status="completed").exists(), timeout=10)
        # the job again (arq delivers at least once): completed once
        assert await order_jobs.auto_confirm({}, order.id) == "skip"
        assert order.id not in await receipt.due_auto_confirm()
    finally:
        clock.reset()
    done = await Order.get(id=order.id)
    assert done.completed_at is not None
    events = await OrderEvent.filter(order_id=order.id, to_status="completed").values("actor_id")
    assert events == [{"actor_id": None}]


async def test_the_courier_hand_over_enqueues_the_deferred_confirmation(world, monkeypatch):
    from server.kit import jobs as kjobs

    seen = []
    real = kjobs.enqueue_many

    def spy(name, calls, *, defer=None):
        if name == receipt.JOB:
            seen.append((calls, defer))
        real(name, calls, defer=defer)

    monkeypatch.setattr(kjobs, "enqueue_many", spy)
    order = await _courier_order(world)
    assert len(seen) == 1
    (args, job_id), = seen[0][0]
    assert args == (order.id,) and seen[0][1] == timedelta(days=10)
    assert (await Order.get(id=order.id)).status == "out_for_delivery"
