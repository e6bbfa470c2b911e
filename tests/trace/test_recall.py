"""Where a batch went and its recall: off sale at once (SKUs, product, live quota), every buyer
notified (the subscribe message; an SMS only when it cannot reach them, #29), parcels not yet
delivered stopped, a report of who was reached."""
from __future__ import annotations

import secrets

from server.kit import clock
from server.models.catalog import Product, Sku
from server.models.fulfillment import Parcel
from server.models.orders import OrderLine
from server.models.payments import Refund
from server.models.live import LiveRoom, LiveSession, LiveTieIn
from server.models.pickup import Pickup
from server.models.trace import Recall, RecallContact
from server.trace import recall as recall_service
from tests.conftest import login, login_as
from tests.fulfillment.conftest import scan
from tests.trace.conftest import make_batch, sell_from_batch, wait_for


async def _live_tiein(shop) -> LiveTieIn:
    host = await login(shop.member.client)
    room = await LiveRoom.create(owner_id=host.id, title="直播间")
    s = await LiveSession.create(room=room, livestreamer_id=host.id, title="秋收直播", scheduled_at=clock.now(),
                                 stream_name="s" + secrets.token_hex(6))
    await Sku.filter(id=shop.skus[0].id).update(stock=shop.skus[0].stock - 10)
    return await LiveTieIn.create(session=s, sku_id=shop.skus[0].id, product_id=shop.skus[0].product_id,
                                  merchant_id=shop.merchant.id, live_price=800, quota=10, remaining=10)


async def test_destinations_and_recall(client, admin, shop):
    b = await make_batch(shop)
    town_staff = await login_as(client, "station_staff", station_id=shop.net.town.id)
    village_staff = await login_as(client, "station_staff", station_id=shop.net.village.id)
    packed = await sell_from_batch(shop, b["code"], qty=2)                  # still in the warehouse
    moving = await sell_from_batch(shop, b["code"], qty=1)                  # on the road to the town
    r = await scan(shop.warehouse, moving["parcel"]["label"], "dispatched")
    assert r.status_code == 200, r.text
    waiting = await sell_from_batch(shop, b["code"], qty=1)                 # at the village, code issued
    label = waiting["parcel"]["label"]
    for actor, kind, sid in ((shop.warehouse, "dispatched", None), (town_staff, "arrived", shop.net.town.id),
                             (town_staff, "dispatched", shop.net.town.id),
                             (village_staff, "arrived", shop.net.village.id),
                             (village_staff, "handed_over", shop.net.village.id)):
        r = await scan(actor, label, kind, sid)
        assert r.status_code == 200, (kind, r.text)
    await wait_for(lambda: Pickup.filter(order_id=waiting["order"].id, status="ready").exists())
    other = await make_batch(shop)  # another batch of the same product: not part of this recall
    await sell_from_batch(shop, other["code"], qty=1)
    tiein = await _live_tiein(shop)
    from live import gate

    assert await gate.load(tiein.id) == 10  # the flash gate of the live room holds the quota

    d = (await admin.get(f"/api/v1/console/trace/batches/{b['id']}/destinations")).json()
    assert d["orders"] == 3 and d["units"] == 4
    assert {i["order_id"] for i in d["items"]} == {packed["order"].id, moving["order"].id, waiting["order"].id}
    assert all(i["buyer_id"] == shop.buyer.id and i["buyer_phone"] == shop.buyer.user["phone"] for i in d["items"])
    assert {i["station_name"] for i in d["items"]} == {shop.net.village.name}
    assert all(len(i["parcels"]) == 1 for i in d["items"])
    assert (await shop.member.get(f"/api/v1/console/trace/batches/{b['id']}/destinations")).status_code == 403

    assert (await shop.buyer.get(f"/api/v1/products/{shop.skus[0].product_id}")).status_code == 200
    for body in ({}, {"reason": ""}, {"reason": "x" * 501}, {"reason": "ok ok", "status": "done"}):
        assert (await admin.post(f"/api/v1/console/trace/batches/{b['id']}/recall", json=body)).status_code == 422
    assert (await admin.post("/api/v1/console/trace/batches/999999999/recall",
                             json={"reason": "农残超标"})).status_code == 404
    r = await admin.post(f"/api/v1/console/trace/batches/{b['id']}/recall", json={"reason": "抽检农残超标"})
    assert r.status_code == 201, r.text
    rep = r.json()
    assert rep["contacts"] == 3 and rep["status"] == "active"
    # off sale at once: the batch's SKUs (here: all, so the product is taken down), the live quota
    assert not any(s.is_active for s in await Sku.filter(product_id=shop.skus[0].product_id))
    p = await Product.get(id=shop.skus[0].product_id)
    assert p.status == "off_shelf" and not p.visible and "召回" in p.takedown_reason
    t = await LiveTieIn.get(id=tiein.id)
    assert not t.is_active and t.remaining == 0 and t.returned == 10
    assert rep["withdrawn"]["live_tiein_ids"] == [tiein.id]
    await wait_for(lambda: _gate_gone(tiein.id))  # the job dropped the Redis gate
    r = await shop.buyer.get(f"/api/v1/products/{p.id}")
    assert r.status_code == 404
    # a second recall changes nothing
    r = await admin.post(f"/api/v1/console/trace/batches/{b['id']}/recall", json={"reason": "again"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_recalled"

    # the jobs reach the buyer and stop the parcels they can
    rec = await Recall.get(batch_id=b["id"])
    await wait_for(lambda: _all_tried(rec.id))
    rows = {c.order_id: c for c in await RecallContact.filter(recall_id=rec.id)}
    # the subscribe message reached every buyer, so no SMS was sent (#29's rule)
    assert all(c.wechat == "sent" and c.sms == "skipped" and c.reached_at for c in rows.values())
    assert rows[packed["order"].id].parcels == "stopped"
    assert rows[waiting["order"].id].parcels == "stopped"
    assert rows[moving["order"].id].parcels == "pending"
    # what the stopped parcels held is refunded (approved at once, paid back through WeChat Pay);
    # the moving parcel's order waits until it is stopped
    for o, units in ((packed["order"], 2), (waiting["order"], 1)):
        c = rows[o.id]
        assert c.refund_id is not None and c.refund_error == ""
        refund = await Refund.get(id=c.refund_id)
        line = await OrderLine.get(order_id=o.id)
        assert refund.auto_approved and refund.lines == [{"line_id": line.id, "qty": units,
                                                          "amount": units * line.unit_price}]
        await wait_for(lambda: Refund.filter(id=c.refund_id, status="succeeded").exists())
    assert rows[moving["order"].id].refund_id is None
    await recall_service.process_contact(rows[packed["order"].id].id)  # a job run twice refunds once
    assert await Refund.filter(order_id=packed["order"].id).count() == 1
    pk = await Parcel.get(id=packed["parcel"]["id"])
    assert pk.status == "returned" and pk.direction == "return"
    pu = await Pickup.get(order_id=waiting["order"].id)
    assert pu.status == "returned" and pu.open_code is None and pu.closed_reason == "recall"
    sms = (await client.get("/__sim__/aliyun/sms", params={"phone": shop.buyer.user["phone"]})).json()["messages"]
    assert sum(1 for m in sms if m["out_id"].startswith("recall-")) == 0
    wx = (await client.get("/__sim__/wechat/subscribe-messages",
                           params={"touser": shop.buyer.user.get("openid") or await _openid(shop.buyer.id)})).json()
    assert sum(1 for m in wx["items"] if m["template_id"] == "kazuo-recall-template") == 3

    # the moving parcel arrives at the town: the sweeper stops it there and the recall completes
    r = await scan(town_staff, moving["parcel"]["label"], "arrived", shop.net.town.id)
    assert r.status_code == 200
    await recall_service.sweep()
    await wait_for(lambda: _stopped(rec.id, moving["order"].id))
    mv = await Parcel.get(id=moving["parcel"]["id"])
    assert mv.direction == "return"
    await wait_for(lambda: Recall.filter(id=rec.id, status="completed").exists())
    rep = (await admin.get(f"/api/v1/console/trace/batches/{b['id']}/recall")).json()
    assert rep["reached"] == 3 and rep["parcels_stopped"] == 3 and rep["parcels_pending"] == 0
    assert rep["refunded"] == 3 and all(i["refund_id"] for i in rep["items"])
    # sent once each (WeChat only), however often the sweeper ran
    sms = (await client.get("/__sim__/aliyun/sms", params={"phone": shop.buyer.user["phone"]})).json()["messages"]
    assert sum(1 for m in sms if m["out_id"].startswith("recall-")) == 0
    wx = (await client.get("/__sim__/wechat/subscribe-messages", params={"touser": await _openid(shop.buyer.id)})).json()
    assert sum(1 for m in wx["items"] if m["template_id"] == "kazuo-recall-template") == 3
    # the public page says it loud
    page = (await client.get(f"/t/{b['trace_code']}")).text
    assert "本批次已召回" in page and "抽检农残超标" in page
    # the other batch is not recalled, and the recalled one is locked
    assert (await client.get(f"/api/v1/trace/{other['trace_code']}")).json()["status"] == "ok"
    r = await shop.member.patch(f"/api/v1/merchant/batches/{b['id']}", json={"note": "x"})
    assert r.status_code == 409


async def _gate_gone(tiein_id: int) -> bool:
    from live import gate

    return await gate.remaining(tiein_id) is None


async def _all_tried(recall_id: int) -> bool:
    return not await RecallContact.filter(recall_id=recall_id, attempts=0).exists()


async def _stopped(recall_id: int, order_id: int) -> bool:
    return await RecallContact.filter(recall_id=recall_id, order_id=order_id, parcels="stopped").exists()


async def _openid(user_id: int) -> str:
    from server.models.accounts import User

    return (await User.get(id=user_id)).openid


async def test_recall_with_nothing_sold_and_partial_skus(admin, shop):
    b = await make_batch(shop, sku_ids=[shop.skus[1].id])
    r = await admin.post(f"/api/v1/console/trace/batches/{b['id']}/recall", json={"reason": "包装破损"})
    assert r.status_code == 201
    assert r.json()["contacts"] == 0
    assert not (await Sku.get(id=shop.skus[1].id)).is_active
    assert (await Sku.get(id=shop.skus[0].id)).is_active  # not from this batch: still selling
    assert (await Product.get(id=shop.skus[0].product_id)).status == "on_sale"
    await recall_service.sweep()
    assert (await Recall.get(batch_id=b["id"])).status == "completed"


async def test_warehouse_refuses_to_pick_a_recalled_batch(admin, shop):
    from server.fulfillment import service
    from tests.fulfillment import factories as f
    from tests.trace.conftest import receive_batch

    b = await make_batch(shop)
    order = await f.paid_order(shop.buyer.id, [(shop.skus[0], 2)], station=shop.net.village)
    await receive_batch(shop.warehouse, shop.merchant.id, shop.skus[0].id, 2, batch=b["code"])
    good = await receive_batch(shop.warehouse, shop.merchant.id, shop.skus[0].id, 2)
    # the office waits for a new batch: the paid order stays, to be picked from another batch
    assert (await admin.post(f"/api/v1/console/trace/batches/{b['id']}/recall",
                             json={"reason": "霉变", "unpicked": "wait"})).status_code == 201
    task_id = await service.handoff(order.id)
    url = f"/api/v1/console/warehouse/tasks/{task_id}/pick"
    r = await shop.warehouse.post(url, json={"sku_id": shop.skus[0].id, "batch": b["code"], "quantity": 2})
    assert r.status_code == 409 and r.json()["error"]["code"] == "batch_recalled"
    r = await shop.warehouse.post(url, json={"sku_id": shop.skus[0].id, "batch": good, "quantity": 2})
    assert r.status_code == 200, r.text


async def test_picked_but_unpacked_units_are_stopped_once_packed(admin, shop):
    b = await make_batch(shop)
    sold = await sell_from_batch(shop, b["code"], qty=2, pack=False)
    r = await admin.post(f"/api/v1/console/trace/batches/{b['id']}/recall", json={"reason": "标签错误"})
    assert r.status_code == 201
    rec = await Recall.get(batch_id=b["id"])
    await wait_for(lambda: _all_tried(rec.id))
    assert (await RecallContact.get(recall_id=rec.id)).parcels == "pending"
    # the warehouse packs what it had picked; the next sweep stops the parcel before it leaves
    task = (await shop.warehouse.get(f"/api/v1/console/warehouse/tasks/{sold['task_id']}")).json()
    ln = task["lines"][0]
    r = await shop.warehouse.post(f"/api/v1/console/warehouse/tasks/{sold['task_id']}/parcels",
                                  json={"lines": [{"task_line_id": ln["id"], "quantity": 2}], "weight_g": 900})
    assert r.status_code == 201, r.text
    await recall_service.sweep()
    await wait_for(lambda: _stopped(rec.id, sold["order"].id))
    p = await Parcel.get(id=r.json()["id"])
    assert p.status == "returned" and p.direction == "return"
    await wait_for(lambda: Recall.filter(id=rec.id, status="completed").exists())


async def test_recall_report_shows_who_could_not_be_reached(client, admin, shop):
    from server.models.accounts import User

    b = await make_batch(shop)
    refused = await sell_from_batch(shop, b["code"], qty=1)
    openid = await _openid(shop.buyer.id)
    r = await client.post("/__sim__/wechat/subscribe-refuse", json={"touser": openid})
    assert r.status_code == 200
    # a second buyer with neither WeChat subscription nor phone on file: nobody to reach
    other = await login(client)
    await User.filter(id=other.id).update(openid=None)
    shop2 = type(shop)(shop.net, shop.merchant, shop.skus, shop.member, shop.warehouse, other)
    unreachable = await sell_from_batch(shop2, b["code"], qty=1)
    r = await admin.post(f"/api/v1/console/trace/batches/{b['id']}/recall", json={"reason": "异物"})
    assert r.status_code == 201
    rec = await Recall.get(batch_id=b["id"])
    await wait_for(lambda: _all_tried(rec.id))
    rows = {c.order_id: c for c in await RecallContact.filter(recall_id=rec.id)}
    a, z = rows[refused["order"].id], rows[unreachable["order"].id]
    assert (a.wechat, a.sms, a.reached_at is not None) == ("refused", "sent", True)
    assert (z.wechat, z.sms, z.reached_at) == ("none", "none", None)
    rep = (await admin.get(f"/api/v1/console/trace/batches/{b['id']}/recall")).json()
    assert rep["contacts"] == 2 and rep["reached"] == 1


async def test_a_recall_refund_waits_for_the_buyers_own_request(admin, shop):
    """The buyer asked for a refund of the recalled goods before the recall: the recall's refund
    waits until that request is decided (the sweeper comes back), then refunds what is left."""
    from server.orders import refunds

    b = await make_batch(shop)
    sold = await sell_from_batch(shop, b["code"], qty=2)  # packed, still in the warehouse
    line = await OrderLine.get(order_id=sold["order"].id)
    asked = await refunds.my_refund_request(shop.buyer.id, sold["order"].id, {line.id: 1}, "不想要了")
    assert asked.status == "requested"
    r = await admin.post(f"/api/v1/console/trace/batches/{b['id']}/recall", json={"reason": "抽检不合格"})
    assert r.status_code == 201
    rec = await Recall.get(batch_id=b["id"])
    await wait_for(lambda: _stopped(rec.id, sold["order"].id))
    c = await RecallContact.get(recall_id=rec.id)
    assert c.refund_id is None and c.refund_error == "awaiting_request"
    await recall_service.sweep()
    assert not await Recall.filter(id=rec.id, status="completed").exists()  # still work to do
    # the request is turned down: the recall refunds both units the stopped parcel held
    await refunds.decide(asked.id, approve=False, actor_id=admin.id, merchant_ids=None, note="召回另行退款")
    await recall_service.sweep()
    await wait_for(lambda: RecallContact.filter(id=c.id, refund_id__not_isnull=True).exists())
    refund = await Refund.get(id=(await RecallContact.get(id=c.id)).refund_id)
    assert refund.lines == [{"line_id": line.id, "qty": 2, "amount": 2 * line.unit_price}]


async def test_the_recall_refund_run_at_once_by_three_jobs_refunds_once(admin, shop):
    """Three copies of the refund step at the same moment (a lost job re-found while it ran): the
    contact row lock lets one refund through; the others find it done."""
    import asyncio

    from server.orders import refunds

    b = await make_batch(shop)
    sold = await sell_from_batch(shop, b["code"], qty=2)
    line = await OrderLine.get(order_id=sold["order"].id)
    asked = await refunds.my_refund_request(shop.buyer.id, sold["order"].id, {line.id: 1}, "不想要了")
    r = await admin.post(f"/api/v1/console/trace/batches/{b['id']}/recall", json={"reason": "抽检不合格"})
    assert r.status_code == 201
    rec = await Recall.get(batch_id=b["id"])
    await wait_for(lambda: RecallContact.filter(recall_id=rec.id, refund_error="awaiting_request").exists())
    c = await RecallContact.get(recall_id=rec.id)
    await refunds.decide(asked.id, approve=False, actor_id=admin.id, merchant_ids=None, note="召回另行退款")
    ids = await asyncio.gather(*[recall_service.refund_stopped(c.id) for _ in range(3)])
    assert len([i for i in ids if i is not None]) == 1
    assert await Refund.filter(order_id=sold["order"].id, status__not="rejected").count() == 1


async def _unpicked_order(shop, qty: int = 2):
    """A paid order of the batch's SKU handed to the warehouse and not picked yet."""
    from server.fulfillment import service
    from tests.fulfillment import factories as f

    order = await f.paid_order(shop.buyer.id, [(shop.skus[0], qty)], station=shop.net.village)
    task_id = await service.handoff(order.id)
    return order, task_id


async def test_unpicked_orders_of_a_recalled_sku_are_refunded_and_listed(admin, shop):
    """Paid orders still waiting for units of the recalled SKU (nobody picked them) are refunded,
    approved at once; the units come off the warehouse task and the report lists the orders."""
    from server.models.fulfillment import TaskLine
    from server.models.orders import Order

    b = await make_batch(shop)
    picked = await sell_from_batch(shop, b["code"], qty=1)
    waiting, task_id = await _unpicked_order(shop, qty=2)
    before = await Sku.get(id=shop.skus[0].id)
    r = await admin.post(f"/api/v1/console/trace/batches/{b['id']}/recall", json={"reason": "抽检不合格"})
    assert r.status_code == 201, r.text
    assert r.json()["unpicked"] == "refund" and r.json()["unpicked_orders"] == 1
    rows = {c["order_id"]: c for c in r.json()["items"]}
    assert rows[waiting.id]["unpicked_units"] == 2 and rows[waiting.id]["units"] == 0
    assert rows[picked["order"].id]["unpicked_units"] == 0
    rec = await Recall.get(batch_id=b["id"])
    await wait_for(lambda: RecallContact.filter(recall_id=rec.id, order_id=waiting.id, unpicked="refunded").exists())
    c = await RecallContact.get(recall_id=rec.id, order_id=waiting.id)
    refund = await Refund.get(id=c.unpicked_refund_id)
    line = await OrderLine.get(order_id=waiting.id)
    assert refund.auto_approved and refund.lines == [{"line_id": line.id, "qty": 2, "amount": 2 * line.unit_price}]
    # the refund succeeds (the WeChat Pay simulator): the units come off the task, the order closes
    await wait_for(lambda: Refund.filter(id=refund.id, status="succeeded").exists())
    assert (await TaskLine.get(task_id=task_id)).quantity == 0
    assert (await Order.get(id=waiting.id)).status == "closed"
    # the picked order's contact job stops its parcel at the warehouse (a job of its own: wait for it)
    assert await wait_for(lambda: RecallContact.filter(recall_id=rec.id, order_id=picked["order"].id,
                                                       parcels="stopped").exists(), timeout=15)
    after = await Sku.get(id=shop.skus[0].id)
    # the two unpicked units, and the unit of the picked order's parcel stopped at the warehouse
    assert after.reserved == before.reserved - 2 - 1
    # told, with what happened to their order
    await wait_for(lambda: _all_tried(rec.id))
    c = await RecallContact.get(id=c.id)
    assert (c.wechat, c.parcels) == ("sent", "none")
    # the job again, three at once (a lost job re-found while it ran): refunded once
    import asyncio

    await RecallContact.filter(id=c.id).update(unpicked="pending")  # as if the first had not recorded it
    got = await asyncio.gather(*[recall_service.refund_unpicked(c.id) for _ in range(3)])
    assert got.count(None) == 3  # nothing left to refund: the order was refunded already
    assert await Refund.filter(order_id=waiting.id).count() == 1
    rep = (await admin.get(f"/api/v1/console/trace/batches/{b['id']}/recall")).json()
    assert {i["order_id"] for i in rep["items"] if i["unpicked_units"]} == {waiting.id}


async def test_the_unpicked_refund_run_by_three_jobs_at_once_refunds_once(admin, shop):
    import asyncio

    b = await make_batch(shop)
    waiting, _ = await _unpicked_order(shop, qty=3)
    from server.trace import recall as rs

    real = rs.refund_unpicked

    async def later(contact_id):  # the contact job leaves the refund to this test
        return None

    rs.refund_unpicked = later
    try:
        r = await admin.post(f"/api/v1/console/trace/batches/{b['id']}/recall", json={"reason": "抽检不合格"})
        assert r.status_code == 201, r.text
        rec = await Recall.get(batch_id=b["id"])
        c = await RecallContact.get(recall_id=rec.id, order_id=waiting.id)
        assert c.unpicked == "pending" and c.unpicked_units == 3
        ids = await asyncio.gather(*[real(c.id) for _ in range(3)])
    finally:
        rs.refund_unpicked = real
    assert len([i for i in ids if i is not None]) == 1
    assert await Refund.filter(order_id=waiting.id).count() == 1
    assert (await RecallContact.get(id=c.id)).unpicked == "refunded"


async def test_the_office_can_wait_for_a_new_batch(admin, shop):
    from server.models.orders import Order

    b = await make_batch(shop)
    waiting, _ = await _unpicked_order(shop, qty=2)
    r = await admin.post(f"/api/v1/console/trace/batches/{b['id']}/recall",
                         json={"reason": "抽检不合格", "unpicked": "wait"})
    assert r.status_code == 201, r.text
    assert r.json()["unpicked"] == "wait" and r.json()["unpicked_orders"] == 1
    rec = await Recall.get(batch_id=b["id"])
    await wait_for(lambda: _all_tried(rec.id))
    c = await RecallContact.get(recall_id=rec.id, order_id=waiting.id)
    assert (c.unpicked, c.unpicked_units, c.unpicked_refund_id, c.wechat) == ("waiting", 2, None, "sent")
    assert not await Refund.filter(order_id=waiting.id).exists()
    assert (await Order.get(id=waiting.id)).status == "in_fulfilment"
    await recall_service.sweep()
    assert (await Recall.get(id=rec.id)).status == "completed"
    bad = await admin.post(f"/api/v1/console/trace/batches/{b['id']}/recall", json={"reason": "x" * 3, "unpicked": "later"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "unpicked"


async def _recall_messages(client, shop) -> tuple[int, int]:
    """(recall SMS, recall subscribe messages) the shop's buyer received so far."""
    sms = (await client.get("/__sim__/aliyun/sms", params={"phone": shop.buyer.user["phone"]})).json()["messages"]
    wx = (await client.get("/__sim__/wechat/subscribe-messages", params={"touser": await _openid(shop.buyer.id)})).json()
    return (sum(1 for m in sms if m["out_id"].startswith("recall-")),
            sum(1 for m in wx["items"] if m["template_id"] == "kazuo-recall-template"))


async def test_recall_sends_sms_only_when_no_subscribe_message_reaches_the_buyer(client, admin, shop, monkeypatch):
    from server.kit.errors import UpstreamError
    from server.models.notify import SubscribeChoice
    from server.notify import registry

    assert shop.buyer.user["phone"]
    # the buyer turned the recall template off (#29: a declined template is not sent): an SMS instead
    declined = await SubscribeChoice.create(user_id=shop.buyer.id, template_id="kazuo-recall-template",
                                            accepted=0, declined=True)
    b = await make_batch(shop)
    sold = await sell_from_batch(shop, b["code"], qty=1)
    before = await _recall_messages(client, shop)
    assert (await admin.post(f"/api/v1/console/trace/batches/{b['id']}/recall", json={"reason": "异物"})).status_code == 201
    rec = await Recall.get(batch_id=b["id"])
    await wait_for(lambda: _all_tried(rec.id))
    c = await RecallContact.get(recall_id=rec.id, order_id=sold["order"].id)
    assert (c.wechat, c.sms, c.reached_at is not None) == ("declined", "sent", True)
    assert await _recall_messages(client, shop) == (before[0] + 1, before[1])

    # WeChat failing: a recall does not wait for it, the SMS goes at once; once reached by SMS the
    # buyer is not messaged again when WeChat is back
    await declined.delete()

    async def down(*a, **kw):
        raise UpstreamError("wechat is down")

    monkeypatch.setattr(registry, "send", down)
    b2 = await make_batch(shop)
    sold2 = await sell_from_batch(shop, b2["code"], qty=1)
    before = await _recall_messages(client, shop)
    assert (await admin.post(f"/api/v1/console/trace/batches/{b2['id']}/recall", json={"reason": "异物"})).status_code == 201
    rec2 = await Recall.get(batch_id=b2["id"])
    await wait_for(lambda: _all_tried(rec2.id))
    c2 = await RecallContact.get(recall_id=rec2.id, order_id=sold2["order"].id)
    assert (c2.wechat, c2.sms, c2.reached_at is not None) == ("failed", "sent", True)
    monkeypatch.undo()
    await recall_service.process_contact(c2.id)
    assert await _recall_messages(client, shop) == (before[0] + 1, before[1])
    assert not await recall_service._open_work(rec2.id).filter(id=c2.id, wechat="failed").exists()
