"""A refund that succeeds after the order was handed to the warehouse takes the refunded units that
are not picked yet off the task (back on the shelf); picked, unpacked units are listed for the
un-pick and cannot be packed (issue #25); a task left with every remaining unit packed is packed."""
from server.aftersales import service as aftersales
from server.fulfillment import service
from server.models.catalog import Sku
from server.models.fulfillment import FulfillmentTask, TaskLine, UnpickItem
from server.models.orders import Order, OrderLine
from server.models.payments import Refund
from server.orders import refunds
from tests.fulfillment import factories as f
from tests.fulfillment.conftest import receive_batch

WH = "/api/v1/console/warehouse"


async def _refund(order_id: int, lines: dict[int, int]) -> None:
    """A refund of these lines, approved and paid back (what WeChat's refund notice applies)."""
    out = await refunds.create_refund(order_id, lines=lines, reason="买家申请退款", requested_by=None,
                                      auto_approve=False)
    await Refund.filter(id=out.id).update(status="approved")
    assert await refunds.complete(out.refund_no, success=True, refund_fee=out.amount_fen) == "applied"


async def _pick_and_pack_one(world, merchant_id: int, task_id: int, sku_id: int) -> dict:
    """Pick one unit of the SKU (from a batch received for it) and pack it into a parcel of its own."""
    batch = await receive_batch(world.warehouse, merchant_id, sku_id, 5)
    assert (await world.warehouse.post(f"{WH}/tasks/{task_id}/pick",
                                       json={"sku_id": sku_id, "batch": batch, "quantity": 1})).status_code == 200
    line = await TaskLine.get(task_id=task_id, sku_id=sku_id)
    r = await world.warehouse.post(f"{WH}/tasks/{task_id}/parcels",
                                   json={"lines": [{"task_line_id": line.id, "quantity": 1}], "weight_g": 400})
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_refund_at_the_warehouse_takes_unpicked_units_off_the_task(world):
    m, (a, b) = await f.merchant_with_skus(2)
    order = await f.paid_order(world.buyer.id, [(a, 3), (b, 2)], station=world.net.village)
    task_id = await service.handoff(order.id)
    assert (await Order.get(id=order.id)).status == "in_fulfilment"
    pick = f"{WH}/tasks/{task_id}/pick"
    bbatch = await receive_batch(world.warehouse, m.id, b.id, 5)
    assert (await world.warehouse.post(pick, json={"sku_id": b.id, "batch": bbatch, "quantity": 2})).status_code == 200
    la = await OrderLine.get(order_id=order.id, sku_id=a.id)
    lb = await OrderLine.get(order_id=order.id, sku_id=b.id)
    before_a, before_b = await Sku.get(id=a.id), await Sku.get(id=b.id)

    await _refund(order.id, {la.id: 2, lb.id: 1})  # two of A not picked yet; one of B already picked

    ta = await TaskLine.get(task_id=task_id, sku_id=a.id)
    tb = await TaskLine.get(task_id=task_id, sku_id=b.id)
    assert (ta.quantity, tb.quantity, tb.picked_qty) == (1, 2, 2)
    after_a, after_b = await Sku.get(id=a.id), await Sku.get(id=b.id)
    assert (after_a.stock - before_a.stock, before_a.reserved - after_a.reserved) == (2, 2)  # back on the shelf
    assert (after_b.stock, after_b.reserved) == (before_b.stock, before_b.reserved)
    # the refunded unit of B already picked is listed to go back (issue #25: "refunded 1 of 2, packed 2")
    r = await world.warehouse.post(f"{WH}/tasks/{task_id}/parcels",
                                   json={"lines": [{"task_line_id": tb.id, "quantity": 2}], "weight_g": 1200})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_picked"
    [item] = await UnpickItem.filter(task_id=task_id, status="pending")
    assert (item.line_id, item.quantity) == (tb.id, 1)
    assert await aftersales.confirm_unpick(item.id, actor_id=None) is not None
    tb = await TaskLine.get(id=tb.id)
    assert (tb.quantity, tb.picked_qty) == (1, 1)
    after_b = await Sku.get(id=b.id)
    assert (after_b.stock - before_b.stock, before_b.reserved - after_b.reserved) == (1, 1)
    # the warehouse now picks one of A, not three
    abatch = await receive_batch(world.warehouse, m.id, a.id, 5)
    r = await world.warehouse.post(pick, json={"sku_id": a.id, "batch": abatch, "quantity": 2})
    assert r.status_code == 409 and r.json()["error"]["code"] == "over_pick"
    assert (await world.warehouse.post(pick, json={"sku_id": a.id, "batch": abatch, "quantity": 1})).status_code == 200
    r = await world.warehouse.post(f"{WH}/tasks/{task_id}/parcels",
                                   json={"lines": [{"task_line_id": ta.id, "quantity": 1},
                                                   {"task_line_id": tb.id, "quantity": 1}], "weight_g": 1200})
    assert r.status_code == 201, r.text
    assert (await FulfillmentTask.get(id=task_id)).status == "packed"


async def test_refunding_the_unpacked_rest_leaves_the_task_packed(world):
    m, (a, b) = await f.merchant_with_skus(2)
    order = await f.paid_order(world.buyer.id, [(a, 2), (b, 1)], station=world.net.village)
    task_id = await service.handoff(order.id)
    await _pick_and_pack_one(world, m.id, task_id, b.id)
    assert (await FulfillmentTask.get(id=task_id)).status == "picking"
    la = await OrderLine.get(order_id=order.id, sku_id=a.id)
    await _refund(order.id, {la.id: 2})
    assert (await TaskLine.get(task_id=task_id, sku_id=a.id)).quantity == 0
    assert (await FulfillmentTask.get(id=task_id)).status == "packed"  # the parcel packed is all there is


async def test_a_refund_after_the_first_parcel_left_ships_the_task(world):
    """A courier order is out for delivery with its first parcel while the rest is not picked: a
    refund of the rest takes it off the task, and the task, all of whose parcels have left, is
    shipped (not left packed, waiting for a dispatch that will not come)."""
    m, (a, b) = await f.merchant_with_skus(2)
    order = await f.paid_order(world.buyer.id, [(a, 2), (b, 1)], address=f.address(world.net, outside=True))
    task_id = await service.handoff(order.id)
    parcel = await _pick_and_pack_one(world, m.id, task_id, b.id)
    r = await world.warehouse.post(f"{WH}/parcels/{parcel['id']}/courier",
                                   json={"company": "SF", "tracking_no": "SF20261129001"})
    assert r.status_code == 200, r.text
    assert (await Order.get(id=order.id)).status == "out_for_delivery"
    assert (await FulfillmentTask.get(id=task_id)).status == "picking"
    before = await Sku.get(id=a.id)
    la = await OrderLine.get(order_id=order.id, sku_id=a.id)
    await _refund(order.id, {la.id: 2})
    task = await FulfillmentTask.get(id=task_id)
    assert task.status == "shipped" and task.shipped_at is not None
    after = await Sku.get(id=a.id)
    assert (after.stock - before.stock, before.reserved - after.reserved) == (2, 2)


async def test_a_pick_and_a_refund_at_once_never_ship_more_than_is_left(world):
    """The picker scans all three units of a line while its refund of two succeeds: whichever gets
    the task row first, the line never holds more picked than its quantity and no unit is released
    twice or kept reserved for nothing."""
    import asyncio

    m, (a, _) = await f.merchant_with_skus(2)
    order = await f.paid_order(world.buyer.id, [(a, 3)], station=world.net.village)
    task_id = await service.handoff(order.id)
    batch = await receive_batch(world.warehouse, m.id, a.id, 5)
    before = await Sku.get(id=a.id)
    la = await OrderLine.get(order_id=order.id)
    picked, _ = await asyncio.gather(
        world.warehouse.post(f"{WH}/tasks/{task_id}/pick", json={"sku_id": a.id, "batch": batch, "quantity": 3}),
        _refund(order.id, {la.id: 2}))
    line = await TaskLine.get(task_id=task_id)
    after = await Sku.get(id=a.id)
    assert line.picked_qty <= line.quantity
    if picked.status_code == 200:  # the pick first: all three stay in the task, nothing released
        assert (line.quantity, line.picked_qty) == (3, 3) and after.reserved == before.reserved
    else:  # the refund first: one left to pick, two back on the shelf
        assert picked.status_code == 409 and picked.json()["error"]["code"] == "over_pick"
        assert (line.quantity, line.picked_qty) == (1, 0) and before.reserved - after.reserved == 2
    assert after.stock + after.reserved == before.stock + before.reserved


async def test_a_buyer_refund_just_after_the_hand_off_is_approved_at_once(world):
    """Issue #25: the order goes to the warehouse moments after payment; a buyer's refund (the plain
    refund API) of units nobody has picked yet is approved at once, not left for an admin; once a unit
    it asks for is picked, the merchant decides."""
    m, (a, _) = await f.merchant_with_skus(2)
    order = await f.paid_order(world.buyer.id, [(a, 3)], station=world.net.village)
    task_id = await service.handoff(order.id)
    assert (await Order.get(id=order.id)).status == "in_fulfilment"
    la = await OrderLine.get(order_id=order.id)
    r = await world.buyer.post(f"/api/v1/orders/{order.id}/refunds",
                               json={"lines": [{"line_id": la.id, "quantity": 1}], "reason": "拍错了"})
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["auto_approved"]) == ("approved", True)
    assert (await TaskLine.get(task_id=task_id)).quantity == 2   # off the task at once
    batch = await receive_batch(world.warehouse, m.id, a.id, 5)
    assert (await world.warehouse.post(f"{WH}/tasks/{task_id}/pick",
                                       json={"sku_id": a.id, "batch": batch, "quantity": 2})).status_code == 200
    r = await world.buyer.post(f"/api/v1/orders/{order.id}/refunds",
                               json={"lines": [{"line_id": la.id, "quantity": 1}], "reason": "又不要了"})
    assert r.status_code == 201 and (r.json()["status"], r.json()["auto_approved"]) == ("requested", False)
