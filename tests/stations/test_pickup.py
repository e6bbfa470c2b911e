import asyncio
from datetime import timedelta

from server.kit import clock
from server.models.audit import AuditLog
from server.models.orders import Order, OrderStatus
from server.models.pickup import Pickup
from server.stations import service
from tests.stations.conftest import make_order, with_code


async def eventually(fn, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await fn()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.05)


async def receive(staff, station, order):
    r = await staff.post(f"/api/v1/station/{station.id}/receive", json={"order_no": order.order_no})
    assert r.status_code == 200, r.text
    assert "code" not in r.json() and "qr_payload" not in r.json()  # only the buyer holds the code
    return await with_code(r.json())


async def test_receive_issues_a_code_and_is_idempotent(net, staff_a, buyer):
    order = await make_order(buyer.id, net["a"].id)
    first = await receive(staff_a, net["a"], order)
    assert first["status"] == "ready" and len(first["code"]) == 8 and first["code"].isdigit()
    assert first["qr_payload"].startswith("KZP1.")
    assert (await Order.get(id=order.id)).status == OrderStatus.READY_FOR_PICKUP
    again = await receive(staff_a, net["a"], order)
    assert again["id"] == first["id"] and again["code"] == first["code"]
    assert await Pickup.filter(order_id=order.id).count() == 1
    # the warehouse's entry point gives the same pickup
    out = await service.receive_at_station(order.id, net["a"].id, actor_id=None)
    assert out.id == first["id"]


async def test_receive_refuses_other_station_and_unpaid_orders(net, staff_a, buyer):
    other = await make_order(buyer.id, net["b"].id)
    r = await staff_a.post(f"/api/v1/station/{net['a'].id}/receive", json={"order_no": other.order_no})
    assert r.status_code == 404
    unpaid = await make_order(buyer.id, net["a"].id, status=OrderStatus.PENDING_PAYMENT)
    r = await staff_a.post(f"/api/v1/station/{net['a'].id}/receive", json={"order_no": unpaid.order_no})
    assert r.status_code == 409 and r.json()["error"]["code"] == "order_not_receivable"
    assert (await Order.get(id=unpaid.id)).status == OrderStatus.PENDING_PAYMENT
    for bad in ({}, {"order_no": ""}, {"order_no": "x\x00"}, {"order_no": 12}, {"order_no": "a" * 33},
                {"order_no": "ok", "station_id": 1}):
        r = await staff_a.post(f"/api/v1/station/{net['a'].id}/receive", json=bad)
        assert r.status_code == 422, (bad, r.text)


async def test_receive_notifies_the_buyer_by_subscribe_message(client, net, staff_a, buyer):
    from server.models.accounts import User

    order = await make_order(buyer.id, net["a"].id)
    pickup = await receive(staff_a, net["a"], order)
    openid = (await User.get(id=buyer.id)).openid

    async def sent():
        r = await client.get("/__sim__/wechat/subscribe-messages", params={"touser": openid})
        return r.json()["items"]

    items = await eventually(sent)
    assert len(items) == 1
    data = items[0]["data"]
    assert data["character_string2"]["value"] == pickup["code"]
    assert data["thing1"]["value"].startswith("测试")
    # the deadline in WeChat's time format, Asia/Shanghai (2019年10月1日 15:01)
    from server.integrations.wechat_keywords import time_value

    p = await Pickup.get(id=pickup["id"])
    assert data["time3"]["value"] == time_value(p.deadline_at) and "年" in data["time3"]["value"]
    assert items[0]["template_id"] == "kazuo-pickup-ready-template"
    assert p.notified_wechat_at is not None
    # a second delivery of the job sends nothing more
    from server.stations import uncollected

    assert await uncollected.notify_ready(pickup["id"]) == {}
    assert len(await sent()) == 1


async def test_verify_by_code_once_then_already_picked_up(net, staff_a, buyer):
    order = await make_order(buyer.id, net["a"].id)
    pickup = await receive(staff_a, net["a"], order)
    url = f"/api/v1/station/{net['a'].id}/verify"
    r = await staff_a.post(url, json={"code": pickup["code"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["result"] == "picked_up" and body["pickup"]["verified_by"] == staff_a.id
    assert body["pickup"]["verify_method"] == "code" and body["pickup"]["picked_up_at"]
    o = await Order.get(id=order.id)
    assert o.status == OrderStatus.COMPLETED and o.completed_at is not None
    again = await staff_a.post(url, json={"code": pickup["code"]})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_picked_up"
    qr = await staff_a.post(url, json={"qr": pickup["qr_payload"]})
    assert qr.status_code == 409 and qr.json()["error"]["code"] == "already_picked_up"
    assert await AuditLog.filter(action="pickup.verify", object_id=str(order.id)).count() == 1
    assert await AuditLog.filter(action="pickup.verify_failed", object_id=str(net["a"].id)).count() == 2


async def test_verify_by_qr_and_bad_qr_payloads(net, staff_a, staff_b, buyer, shift_clock):
    order = await make_order(buyer.id, net["a"].id)
    pickup = await receive(staff_a, net["a"], order)
    url = f"/api/v1/station/{net['a'].id}/verify"
    qr = pickup["qr_payload"]
    head, sig = qr.rsplit(".", 1)
    tampered = f"{head}.{('A' if sig[0] != 'A' else 'B')}{sig[1:]}"
    r = await staff_a.post(url, json={"qr": tampered})
    assert r.status_code == 400 and r.json()["error"]["code"] == "qr_invalid"
    parts = qr.split(".")
    forged = ".".join([parts[0], parts[1], parts[2], str(int(parts[3]) + 86400), parts[4]])
    r = await staff_a.post(url, json={"qr": forged})
    assert r.status_code == 400 and r.json()["error"]["code"] == "qr_invalid"
    r = await staff_a.post(url, json={"qr": "not a qr"})
    assert r.status_code == 400
    # the right QR at another station is not found there
    r = await staff_b.post(f"/api/v1/station/{net['b'].id}/verify", json={"qr": qr})
    assert r.status_code == 404
    assert (await Pickup.get(id=pickup["id"])).status == "ready"
    # expired: past the deadline the QR no longer works
    shift_clock(timedelta(days=8))
    r = await staff_a.post(url, json={"qr": qr})
    assert r.status_code == 400 and r.json()["error"]["code"] == "qr_expired"
    clock.reset()
    r = await staff_a.post(url, json={"qr": qr})
    assert r.status_code == 200 and r.json()["pickup"]["verify_method"] == "qr"
    assert await AuditLog.filter(action="pickup.verify_failed", object_id=str(net["a"].id)).count() == 4


async def test_verify_input_is_checked(net, staff_a):
    url = f"/api/v1/station/{net['a'].id}/verify"
    for bad in ({}, {"code": "1234567"}, {"code": "123456789"}, {"code": "abcdefgh"}, {"code": 12345678},
                {"code": "12345678", "qr": "x"}, {"qr": ""}, {"qr": "x" * 600}, {"code": "1234\x0078"},
                {"code": "１２３４５６７８"}):
        r = await staff_a.post(url, json=bad)
        assert r.status_code == 422, (bad, r.text)


async def test_code_of_another_stations_order_is_wrong_here(net, staff_a, staff_b, buyer):
    order = await make_order(buyer.id, net["b"].id)
    pickup = await receive(staff_b, net["b"], order)
    r = await staff_a.post(f"/api/v1/station/{net['a'].id}/verify", json={"code": pickup["code"]})
    assert r.status_code == 404 and r.json()["error"]["code"] == "pickup_code_wrong"
    assert (await Pickup.get(id=pickup["id"])).status == "ready"
    assert (await Order.get(id=order.id)).status == OrderStatus.READY_FOR_PICKUP


async def test_order_closed_while_waiting_is_not_handed_over(net, staff_a, buyer):
    order = await make_order(buyer.id, net["a"].id)
    pickup = await receive(staff_a, net["a"], order)
    await Order.filter(id=order.id).update(status=OrderStatus.CLOSED)
    r = await staff_a.post(f"/api/v1/station/{net['a'].id}/verify", json={"code": pickup["code"]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "order_not_ready"
    p = await Pickup.get(id=pickup["id"])
    assert p.status == "ready" and p.picked_up_at is None
    from server.stations import uncollected

    assert await uncollected.cancel_closed(p.id)
    p = await Pickup.get(id=p.id)
    assert p.status == "cancelled" and p.open_code is None


async def test_concurrent_verifications_hand_over_once(net, buyer, client):
    from tests.conftest import login_as

    staff = [await login_as(client, "station_staff", station_id=net["a"].id) for _ in range(2)]
    order = await make_order(buyer.id, net["a"].id)
    pickup = await receive(staff[0], net["a"], order)
    url = f"/api/v1/station/{net['a'].id}/verify"
    results = await asyncio.gather(*[s.post(url, json={"code": pickup["code"]}) for s in staff * 3])
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409, 409, 409, 409, 409], [r.text for r in results]
    assert await AuditLog.filter(action="pickup.verify", object_id=str(order.id)).count() == 1


async def test_concurrent_receives_issue_one_pickup(net, staff_a, buyer):
    order = await make_order(buyer.id, net["a"].id)
    outs = await asyncio.gather(*[service.receive_at_station(order.id, net["a"].id, actor_id=None)
                                  for _ in range(4)])
    assert len({o.id for o in outs}) == 1
    assert await Pickup.filter(order_id=order.id).count() == 1


async def test_buyer_sees_own_pickup_only(net, staff_a, buyer, client):
    from tests.conftest import login

    order = await make_order(buyer.id, net["a"].id)
    assert (await buyer.get(f"/api/v1/orders/{order.id}/pickup")).status_code == 404
    pickup = await receive(staff_a, net["a"], order)
    r = await buyer.get(f"/api/v1/orders/{order.id}/pickup")
    assert r.status_code == 200
    card = r.json()
    assert card["code"] == pickup["code"] and card["station"]["id"] == net["a"].id
    assert card["qr_payload"] and card["deadline_at"]
    stranger = await login(client)
    assert (await stranger.get(f"/api/v1/orders/{order.id}/pickup")).status_code == 404
    assert (await client.get(f"/api/v1/orders/{order.id}/pickup")).status_code == 401
    await staff_a.post(f"/api/v1/station/{net['a'].id}/verify", json={"code": pickup["code"]})
    card = (await buyer.get(f"/api/v1/orders/{order.id}/pickup")).json()
    assert card["status"] == "picked_up" and card["code"] is None and card["qr_payload"] is None


async def test_open_codes_are_unique_per_station(net, buyer):
    from server.stations import codes

    seen = set()
    for _ in range(5):
        order = await make_order(buyer.id, net["a"].id)
        out = await service.receive_at_station(order.id, net["a"].id, actor_id=None)
        seen.add((await Pickup.get(id=out.id)).code)
    assert len(seen) == 5
    # a code drawn twice is retried, never issued twice
    taken = next(iter(seen))
    real = codes.new_code
    draws = iter([taken, taken, "00000001"])
    codes.new_code = lambda: next(draws)
    try:
        order = await make_order(buyer.id, net["a"].id)
        out = await service.receive_at_station(order.id, net["a"].id, actor_id=None)
    finally:
        codes.new_code = real
    assert (await Pickup.get(id=out.id)).code == "00000001"


async def test_orders_travelling_as_parcels_are_received_by_parcel_scan(net, staff_a, buyer):
    """With the warehouse flow, a parcel is received by scanning its label (the transfer record stays
    complete); typing the order number is for orders without parcels."""
    from server.models.fulfillment import FulfillmentTask, Parcel

    order = await make_order(buyer.id, net["a"].id, status=OrderStatus.IN_FULFILMENT)
    task = await FulfillmentTask.create(order_id=order.id, mode="wave", fulfilment="pickup")
    await Parcel.create(task=task, order_id=order.id, label="KZT" + order.order_no[-12:], weight_g=500,
                        packed_at=clock.now())
    r = await staff_a.post(f"/api/v1/station/{net['a'].id}/receive", json={"order_no": order.order_no})
    assert r.status_code == 409 and r.json()["error"]["code"] == "parcel_tracked"
    assert (await Order.get(id=order.id)).status == OrderStatus.IN_FULFILMENT
    assert not await Pickup.filter(order_id=order.id).exists()
