"""Home delivery with proof of delivery; third-party courier with the WeChat shipping upload."""

from server.fulfillment import service, shipping
from server.integrations.simulators.wechat_shipping import uploaded
from server.models.catalog import Sku
from server.models.fulfillment import FulfillmentTask
from server.models.orders import Order, OrderEvent
from tests.conftest import wait_for
from tests.fulfillment import factories as f
from tests.fulfillment.conftest import ready_parcel, scan

WH = "/api/v1/console/warehouse"


async def _wait(pred):
    return bool(await wait_for(pred))


async def test_home_delivery_ends_with_the_buyers_code(world):
    m, (sku, _) = await f.merchant_with_skus()
    order = await f.paid_order(world.buyer.id, [(sku, 1)], address=f.address(world.net))
    parcel = await ready_parcel(world, order.id, m.id)
    task = await FulfillmentTask.get(order_id=order.id)
    assert task.route == [world.net.county.id, world.net.town.id, world.net.village.id]
    label, net = parcel["label"], world.net
    assert (await world.warehouse.post(f"{WH}/parcels/{parcel['id']}/dispatch")).status_code == 200
    # shipped: the order's shipping info goes to WeChat (同城配送, logistics_type 2)
    assert await _wait(lambda: FulfillmentTask.filter(id=task.id, shipping_uploaded_at__isnull=False).exists())
    body = await uploaded(order.order_no)
    assert body["logistics_type"] == 2 and body["order_key"]["out_trade_no"] == order.order_no
    assert body["payer"]["openid"].startswith("o-buyer-")
    assert (await scan(world.town_staff, label, "arrived", net.town.id)).status_code == 200
    assert (await scan(world.town_staff, label, "dispatched", net.town.id)).status_code == 200
    assert (await scan(world.village_staff, label, "arrived", net.village.id)).status_code == 200
    r = await scan(world.village_staff, label, "handed_over", net.village.id)
    assert r.status_code == 409  # delivery orders are not left at the station
    tracking = (await world.buyer.get(f"/api/v1/orders/{order.id}/tracking")).json()
    assert tracking["parcels"][0]["pod_code"] is None  # not shown before it is on its way to the door
    r = await scan(world.village_staff, label, "out_for_delivery", net.village.id)
    assert r.status_code == 200
    assert (await Order.get(id=order.id)).status == "out_for_delivery"
    code = (await world.buyer.get(f"/api/v1/orders/{order.id}/tracking")).json()["parcels"][0]["pod_code"]
    assert code and len(code) == 6
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    r = await world.village_staff.post("/api/v1/logistics/deliveries",
                                       json={"label": label, "station_id": net.village.id, "code": wrong})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "code"
    r = await world.other_staff.post("/api/v1/logistics/deliveries",
                                     json={"label": label, "station_id": net.village.id, "code": code})
    assert r.status_code == 404
    r = await world.village_staff.post("/api/v1/logistics/deliveries",
                                       json={"label": label, "station_id": net.village.id, "code": code})
    assert r.status_code == 200 and r.json()["parcel"]["status"] == "delivered"
    # the proof of delivery completes the order (delivered, then completed, both in its events)
    done = await Order.get(id=order.id)
    assert done.status == "completed" and done.completed_at is not None
    events = await OrderEvent.filter(order_id=order.id).order_by("id").values_list("to_status", flat=True)
    assert events[-2:] == ["delivered", "completed"]
    again = await world.village_staff.post("/api/v1/logistics/deliveries",
                                           json={"label": label, "station_id": net.village.id, "code": code})
    assert again.status_code == 200 and again.json()["duplicate"] is True


async def test_delivery_code_cannot_be_guessed(world):
    m, (sku, _) = await f.merchant_with_skus()
    order = await f.paid_order(world.buyer.id, [(sku, 1)], address=f.address(world.net, village=False))
    parcel = await ready_parcel(world, order.id, m.id)
    assert parcel["route"] == [world.net.county.id, world.net.town.id]  # no village: the town delivers
    label = parcel["label"]
    await world.warehouse.post(f"{WH}/parcels/{parcel['id']}/dispatch")
    await scan(world.town_staff, label, "arrived", world.net.town.id)
    assert (await scan(world.town_staff, label, "out_for_delivery", world.net.town.id)).status_code == 200
    from server.models.fulfillment import Parcel

    real = (await Parcel.get(label=label)).pod_code
    wrong = [f"{(int(real) + i) % 10**6:06d}" for i in range(1, 8)]
    codes = [(await world.town_staff.post("/api/v1/logistics/deliveries", json={
        "label": label, "station_id": world.net.town.id, "code": c})).status_code for c in wrong]
    assert codes[:5] == [422] * 5 and codes[5:] == [429, 429]
    r = await world.town_staff.post("/api/v1/logistics/deliveries",
                                    json={"label": label, "station_id": world.net.town.id, "code": real})
    assert r.status_code == 429  # locked for a while, even with the right code


async def test_courier_outside_the_county(world):
    m, (sku, _) = await f.merchant_with_skus()
    order = await f.paid_order(world.buyer.id, [(sku, 2)], address=f.address(world.net, outside=True))
    parcel = await ready_parcel(world, order.id, m.id)
    task = await FulfillmentTask.get(order_id=order.id)
    assert task.mode == "courier" and task.route == [world.net.county.id]
    assert parcel["route"] == [world.net.county.id]
    # the local scans do not apply to a courier parcel
    r = await world.warehouse.post(f"{WH}/parcels/{parcel['id']}/dispatch")
    assert r.status_code == 409 and r.json()["error"]["code"] == "impossible_scan"
    r = await world.warehouse.post(f"{WH}/parcels/{parcel['id']}/courier", json={"company": "SF", "tracking_no": ""})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "tracking_no"
    r = await world.warehouse.post(f"{WH}/parcels/{parcel['id']}/courier",
                                   json={"company": "SF", "tracking_no": "SF1234567890"})
    assert r.status_code == 200, r.text
    assert r.json()["parcel"]["status"] == "with_courier" and r.json()["parcel"]["tracking_no"] == "SF1234567890"
    assert (await Sku.get(id=sku.id)).reserved == 0
    assert (await Order.get(id=order.id)).status == "out_for_delivery"
    again = await world.warehouse.post(f"{WH}/parcels/{parcel['id']}/courier",
                                       json={"company": "SF", "tracking_no": "SF1234567890"})
    assert again.status_code == 200 and again.json()["duplicate"] is True
    other = await world.warehouse.post(f"{WH}/parcels/{parcel['id']}/courier",
                                       json={"company": "ZTO", "tracking_no": "ZT000111"})
    assert other.status_code == 409
    assert await _wait(lambda: FulfillmentTask.filter(id=task.id, shipping_uploaded_at__isnull=False).exists())
    body = await uploaded(order.order_no)
    assert body["logistics_type"] == 1 and body["delivery_mode"] == 1
    assert body["shipping_list"][0]["tracking_no"] == "SF1234567890"
    assert body["shipping_list"][0]["express_company"] == "SF"
    assert body["shipping_list"][0]["contact"]["receiver_contact"] == "138****1111"
    # a second upload attempt (lost answer, sweeper): WeChat already holds exactly this (10060023)
    await FulfillmentTask.filter(id=task.id).update(shipping_uploaded_at=None, shipping_state="pending")
    assert await shipping.upload(task.id) == "uploaded"
    assert (await FulfillmentTask.get(id=task.id)).shipping_errcode == 10060023
    tr = (await world.buyer.get(f"/api/v1/orders/{order.id}/tracking")).json()
    assert tr["parcels"][0]["courier_company"] == "SF" and tr["parcels"][0]["events"][-1]["kind"] == "courier"


async def test_shipping_upload_errors_are_retried(world, settings):
    """WeChat unreachable: the failure is recorded with its next attempt time, then the upload succeeds."""
    from jobs.fulfillment import upload_shipping
    from server.kit import runtime

    m, (sku, _) = await f.merchant_with_skus()
    order = await f.paid_order(world.buyer.id, [(sku, 1)], station=world.net.county)
    task_id = await service.handoff(order.id)
    await FulfillmentTask.filter(id=task_id).update(status="shipped")
    wechat = runtime.get().extras["wechat"]
    real_api = wechat.api_base
    wechat.api_base = settings.base_url + "/__sim__/nowhere/"
    try:
        assert await upload_shipping({"job_try": 1}, task_id) == "pending"
    finally:
        wechat.api_base = real_api
    t = await FulfillmentTask.get(id=task_id)
    assert t.shipping_uploaded_at is None and t.shipping_attempts == 1 and t.shipping_next_at is not None
    assert await upload_shipping({"job_try": 2}, task_id) == "uploaded"
    assert (await uploaded(order.order_no))["logistics_type"] == 4  # 用户自提
