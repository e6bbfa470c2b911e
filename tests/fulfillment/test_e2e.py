"""Through the real orders and payments path: checkout reserves, a cash payment enqueues the
handoff, the warehouse ships, the village station hands over, the stations capability issues the
pickup code; stock on hand, reserved and sellable stay consistent at every step."""
import asyncio

from server.models.catalog import Product, Sku
from server.models.fulfillment import FulfillmentTask
from server.models.orders import Order
from tests.fulfillment import factories as f
from tests.fulfillment.conftest import receive_batch, scan

WH = "/api/v1/console/warehouse"


async def test_checkout_to_pickup(world):
    from server.orders import service as orders_service
    from server.orders.schemas import CheckoutIn
    from server.payments import service as payments

    m, (sku, _) = await f.merchant_with_skus(stock=0)
    await Product.filter(id=sku.product_id).update(visible=True)
    batch = await receive_batch(world.warehouse, m.id, sku.id, 10)  # 集采统储: 10 units arrive
    assert (await Sku.get(id=sku.id)).stock == 10
    out = await orders_service.create_order(
        world.buyer.id, CheckoutIn(lines=[{"sku_id": sku.id, "quantity": 3}], fulfilment="pickup",
                                   station_id=world.net.village.id), idempotency_key=None)
    s = await Sku.get(id=sku.id)
    assert (s.stock, s.reserved) == (7, 3)
    await payments.record_cash_payment(out.id, station_id=world.net.village.id, actor_id=world.village_staff.id)
    for _ in range(200):  # the handoff job runs after the payment commits
        task = await FulfillmentTask.get_or_none(order_id=out.id)
        if task is not None:
            break
        await asyncio.sleep(0.05)
    assert task is not None and (await Order.get(id=out.id)).status == "in_fulfilment"
    line = (await world.warehouse.get(f"{WH}/tasks/{task.id}")).json()["lines"][0]
    r = await world.warehouse.post(f"{WH}/tasks/{task.id}/pick", json={"sku_id": sku.id, "batch": batch, "quantity": 3})
    assert r.status_code == 200
    r = await world.warehouse.post(f"{WH}/tasks/{task.id}/parcels",
                                   json={"lines": [{"task_line_id": line["id"], "quantity": 3}], "weight_g": 3000})
    parcel = r.json()
    stock = (await world.warehouse.get(f"{WH}/stock", params={"sku_id": sku.id})).json()[0]
    assert (stock["on_hand"], stock["reserved"], stock["sellable"]) == (10, 3, 7)
    assert (await world.warehouse.post(f"{WH}/parcels/{parcel['id']}/dispatch")).status_code == 200
    stock = (await world.warehouse.get(f"{WH}/stock", params={"sku_id": sku.id})).json()[0]
    assert (stock["on_hand"], stock["reserved"], stock["sellable"]) == (7, 0, 7)
    net = world.net
    for actor, kind, st in [(world.town_staff, "arrived", net.town.id), (world.town_staff, "dispatched", net.town.id),
                            (world.village_staff, "arrived", net.village.id),
                            (world.village_staff, "handed_over", net.village.id)]:
        assert (await scan(actor, parcel["label"], kind, st)).status_code == 200
    assert (await Order.get(id=out.id)).status == "ready_for_pickup"
    r = await world.village_staff.get(f"/api/v1/station/{net.village.id}/pickups?limit=50")
    assert r.status_code == 200 and any(p["order_id"] == out.id for p in r.json()["items"])
