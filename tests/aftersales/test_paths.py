"""After-sales (issue #25) end to end: the automatic refund before picking (task or not), the un-pick
after picking, a refusal escalated to the office and a return through the station, silence approving
and a courier return, replacement; the ledger invariant after each."""
from datetime import timedelta

from server.aftersales import service as aftersales
from server.fulfillment import service as fulfillment
from server.kit import clock
from server.ledger import service as ledger
from server.models.aftersales import AfterSale, AfterSaleStep
from server.models.audit import AuditLog
from server.models.catalog import Sku
from server.models.fulfillment import Parcel, ParcelLine, ScanEvent, TaskLine
from server.models.orders import Order, OrderLine
from server.models.payments import Refund
from tests.aftersales.conftest import completed, photo
from tests.conftest import login, login_as, wait_for
from tests.console.conftest import operator, sign_in
from tests.fulfillment import factories as f
from tests.fulfillment.conftest import receive_batch

WH = "/api/v1/console/warehouse"


async def _done(case_id: int) -> AfterSale:
    async def check():
        await aftersales.sync_refund(case_id)
        return (await AfterSale.get(id=case_id)).status == "done"
    assert await wait_for(check, timeout=10), (await AfterSale.get(id=case_id)).status
    return await AfterSale.get(id=case_id)


async def test_refund_before_picking_is_automatic_with_or_without_the_task(world):
    m, (a, b) = await f.merchant_with_skus(2)
    order = await f.paid_order(world.buyer.id, [(a, 2), (b, 1)], station=world.net.village)
    task_id = await fulfillment.handoff(order.id)  # handed to the warehouse a moment after payment
    la = await OrderLine.get(order_id=order.id, sku_id=a.id)
    before = await Sku.get(id=a.id)
    r = await world.buyer.post("/api/v1/aftersales", json={
        "order_id": order.id, "kind": "refund_only", "reason": "changed_mind", "lines": [{"line_id": la.id, "qty": 1}]})
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["status"] == "refunding" and case["auto_approved"] and case["amount_fen"] == a.price
    assert (await TaskLine.get(task_id=task_id, sku_id=a.id)).quantity == 1
    after = await Sku.get(id=a.id)
    assert (after.stock - before.stock, before.reserved - after.reserved) == (1, 1)
    done = await _done(case["id"])
    assert (await Refund.get(id=done.refund_id)).status == "succeeded"
    assert (await Sku.get(id=a.id)).stock == after.stock  # not released twice at the refund's success
    assert await ledger.check_invariant([order.id]) == []
    # an order not handed off yet: the same
    order2 = await f.paid_order(world.buyer.id, [(b, 1)], station=world.net.village)
    lb = await OrderLine.get(order_id=order2.id)
    r = await world.buyer.post("/api/v1/aftersales", json={
        "order_id": order2.id, "kind": "refund_only", "reason": "changed_mind", "lines": [{"line_id": lb.id, "qty": 1}]})
    assert r.status_code == 201 and r.json()["status"] == "refunding"
    await _done(r.json()["id"])
    assert (await Order.get(id=order2.id)).status == "closed"
    assert await ledger.check_invariant([order2.id]) == []


async def test_after_picking_the_units_are_put_back_before_the_refund(world):
    m, (a, _) = await f.merchant_with_skus(2)
    order = await f.paid_order(world.buyer.id, [(a, 2)], station=world.net.village)
    task_id = await fulfillment.handoff(order.id)
    batch = await receive_batch(world.warehouse, m.id, a.id, 5)
    assert (await world.warehouse.post(f"{WH}/tasks/{task_id}/pick",
                                       json={"sku_id": a.id, "batch": batch, "quantity": 2})).status_code == 200
    la = await OrderLine.get(order_id=order.id)
    r = await world.buyer.post("/api/v1/aftersales", json={
        "order_id": order.id, "kind": "refund_only", "reason": "changed_mind", "lines": [{"line_id": la.id, "qty": 1}]})
    assert r.status_code == 201, r.text
    case = r.json()
    refund = await Refund.get(id=case["refund_id"])
    assert refund.status == "unpicking"
    tl = await TaskLine.get(task_id=task_id)
    r = await world.warehouse.post(f"{WH}/tasks/{task_id}/parcels",
                                   json={"lines": [{"task_line_id": tl.id, "quantity": 2}], "weight_g": 900})
    assert r.status_code == 409  # "refunded 1 of 2 units, packed 2" cannot happen
    items = (await world.warehouse.get(f"{WH}/unpicks")).json()["items"]
    mine = [i for i in items if i["task_id"] == task_id]
    assert len(mine) == 1 and mine[0]["quantity"] == 1
    assert (await world.buyer.get(f"{WH}/unpicks")).status_code == 403
    before = await Sku.get(id=a.id)
    r = await world.warehouse.post(f"{WH}/unpicks/{mine[0]['id']}/done")
    assert r.status_code == 200 and r.json()["refund_id"] == refund.id
    assert (await world.warehouse.post(f"{WH}/unpicks/{mine[0]['id']}/done")).status_code == 409
    after = await Sku.get(id=a.id)
    assert (after.stock - before.stock, before.reserved - after.reserved) == (1, 1)
    await _done(case["id"])
    r = await world.warehouse.post(f"{WH}/tasks/{task_id}/parcels",
                                   json={"lines": [{"task_line_id": tl.id, "quantity": 1}], "weight_g": 450})
    assert r.status_code == 201, r.text
    assert await ledger.check_invariant([order.id]) == []


async def test_after_packing_the_units_come_out_of_the_parcel_before_it_leaves(world, client, settings):
    """Gap of #25: units packed in a parcel still at the warehouse when the refund is approved are taken
    out of it (un-pack, re-packed lighter) before it may leave; the refund proceeds when they are back."""
    m, (a, _) = await f.merchant_with_skus(2)
    order = await f.paid_order(world.buyer.id, [(a, 2)], station=world.net.village)
    task_id = await fulfillment.handoff(order.id)
    batch = await receive_batch(world.warehouse, m.id, a.id, 5)
    assert (await world.warehouse.post(f"{WH}/tasks/{task_id}/pick",
                                       json={"sku_id": a.id, "batch": batch, "quantity": 2})).status_code == 200
    tl = await TaskLine.get(task_id=task_id)
    r = await world.warehouse.post(f"{WH}/tasks/{task_id}/parcels",
                                   json={"lines": [{"task_line_id": tl.id, "quantity": 2}], "weight_g": 2100})
    assert r.status_code == 201, r.text
    parcel = r.json()
    la = await OrderLine.get(order_id=order.id)
    r = await world.buyer.post("/api/v1/aftersales", json={
        "order_id": order.id, "kind": "refund_only", "reason": "changed_mind", "lines": [{"line_id": la.id, "qty": 1}]})
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["status"] == "requested"  # packed: the merchant decides
    merchant = await login_as(client, "merchant", merchant_id=m.id)
    r = await merchant.post(f"/api/v1/merchant/aftersales/{case['id']}/answer", json={"approve": True})
    assert r.status_code == 200, r.text
    refund = await Refund.get(order_id=order.id)
    assert refund.status == "unpicking"
    items = [i for i in (await world.warehouse.get(f"{WH}/unpicks")).json()["items"] if i["task_id"] == task_id]
    assert len(items) == 1 and items[0]["quantity"] == 1 and items[0]["parcel_label"] == parcel["label"]
    _, wphone = await operator("warehouse", name="赵仓管")
    desk = await sign_in(settings, wphone)
    page = await desk.page("/console/warehouse/unpicks")
    assert f'data-unpack="{parcel["label"]}"' in page.text and "拆包" in page.text  # which parcel to open
    await desk.client.aclose()
    r = await world.warehouse.post(f"{WH}/parcels/{parcel['id']}/dispatch")
    assert r.status_code == 409 and r.json()["error"]["code"] == "unpack_pending"  # the refunded unit stays
    assert (await Parcel.get(id=parcel["id"])).status == "packed"
    before = await Sku.get(id=a.id)
    r = await world.warehouse.post(f"{WH}/unpicks/{items[0]['id']}/done")
    assert r.status_code == 200 and r.json()["refund_id"] == refund.id
    assert (await world.warehouse.post(f"{WH}/unpicks/{items[0]['id']}/done")).status_code == 409
    after = await Sku.get(id=a.id)
    assert (after.stock - before.stock, before.reserved - after.reserved) == (1, 1)
    p = await Parcel.get(id=parcel["id"])
    assert p.weight_g == 2100 - a.weight_g
    assert [(x.quantity) for x in await ParcelLine.filter(parcel_id=p.id)] == [1]
    tl = await TaskLine.get(id=tl.id)
    assert (tl.quantity, tl.picked_qty, tl.packed_qty) == (1, 1, 1)
    await _done(case["id"])
    assert (await Refund.get(id=refund.id)).status == "succeeded"
    assert (await world.warehouse.post(f"{WH}/parcels/{parcel['id']}/dispatch")).status_code == 200
    assert (await Sku.get(id=a.id)).reserved == after.reserved - 1  # one unit left, not two
    assert await ledger.check_invariant([order.id]) == []


async def test_a_parcel_emptied_by_the_refund_is_done_with(world, client):
    m, (a, _) = await f.merchant_with_skus(2)
    order = await f.paid_order(world.buyer.id, [(a, 1)], station=world.net.village)
    task_id = await fulfillment.handoff(order.id)
    batch = await receive_batch(world.warehouse, m.id, a.id, 5)
    await world.warehouse.post(f"{WH}/tasks/{task_id}/pick", json={"sku_id": a.id, "batch": batch, "quantity": 1})
    tl = await TaskLine.get(task_id=task_id)
    parcel = (await world.warehouse.post(f"{WH}/tasks/{task_id}/parcels", json={
        "lines": [{"task_line_id": tl.id, "quantity": 1}], "weight_g": 1000})).json()
    la = await OrderLine.get(order_id=order.id)
    case = (await world.buyer.post("/api/v1/aftersales", json={
        "order_id": order.id, "kind": "refund_only", "reason": "changed_mind",
        "lines": [{"line_id": la.id, "qty": 1}]})).json()
    merchant = await login_as(client, "merchant", merchant_id=m.id)
    assert (await merchant.post(f"/api/v1/merchant/aftersales/{case['id']}/answer",
                                json={"approve": True})).status_code == 200
    items = [i for i in (await world.warehouse.get(f"{WH}/unpicks")).json()["items"] if i["task_id"] == task_id]
    before = await Sku.get(id=a.id)
    assert (await world.warehouse.post(f"{WH}/unpicks/{items[0]['id']}/done")).status_code == 200
    after = await Sku.get(id=a.id)
    assert (after.stock - before.stock, before.reserved - after.reserved) == (1, 1)
    p = await Parcel.get(id=parcel["id"])
    assert p.status == "returned" and p.return_reason == "unpacked_refund"
    assert (await world.warehouse.post(f"{WH}/parcels/{parcel['id']}/dispatch")).status_code == 409
    await _done(case["id"])
    assert (await Order.get(id=order.id)).status == "closed"
    assert await ledger.check_invariant([order.id]) == []


async def test_refused_escalated_approved_by_the_office_and_returned_through_the_station(world, client):
    m, (a, _) = await f.merchant_with_skus(2)
    order = await f.paid_order(world.buyer.id, [(a, 3)], station=world.net.village)
    await completed(world, order.id, m.id)
    la = await OrderLine.get(order_id=order.id)
    url = await photo(world.buyer)
    r = await world.buyer.post("/api/v1/aftersales", json={
        "order_id": order.id, "kind": "return_refund", "reason": "damaged", "lines": [{"line_id": la.id, "qty": 2}],
        "photos": [url], "description": "两瓶磕坏了"})
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["status"] == "requested" and case["return_cost_by"] == "merchant" and case["photos"] == [url]
    merchant = await login_as(client, "merchant", merchant_id=m.id)
    other = await login_as(client, "merchant", merchant_id=(await f.merchant_with_skus(1))[0].id)
    assert (await other.get(f"/api/v1/merchant/aftersales/{case['id']}")).status_code == 404
    r = await merchant.post(f"/api/v1/merchant/aftersales/{case['id']}/answer", json={"approve": False})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "reason"
    r = await merchant.post(f"/api/v1/merchant/aftersales/{case['id']}/answer",
                            json={"approve": False, "reason": "照片看不出破损"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    r = await world.buyer.post(f"/api/v1/aftersales/{case['id']}/escalate", json={"reason": "确实破了"})
    assert r.status_code == 200 and r.json()["status"] == "escalated"
    admin = await login_as(client, "admin")
    listed = (await admin.get("/api/v1/console/aftersales")).json()["items"]
    assert case["id"] in [c["id"] for c in listed]
    r = await admin.post(f"/api/v1/console/aftersales/{case['id']}/decide", json={"approve": True})
    assert r.status_code == 422
    r = await admin.post(f"/api/v1/console/aftersales/{case['id']}/decide",
                         json={"approve": True, "reason": "快递破损，商家承担"})
    assert r.status_code == 200 and r.json()["status"] == "awaiting_return"
    assert (await admin.post(f"/api/v1/console/aftersales/{case['id']}/decide",
                             json={"approve": False, "reason": "x"})).status_code == 409  # final
    # audited: who decided, with the reason
    [audited] = await AuditLog.filter(action="aftersales.office_approve", object_type="aftersale",
                                      object_id=str(case["id"]))
    assert audited.actor_id == admin.id and audited.data["note"] == "快递破损，商家承担"
    # the return over the village station's counter
    body = {"station_id": world.net.village.id}
    assert (await world.other_staff.post(f"/api/v1/station/aftersales/{case['id']}/receive",
                                         json={"station_id": world.net.village2.id})).status_code == 404
    waiting = (await world.village_staff.get("/api/v1/station/aftersales-returns")).json()["items"]
    assert case["id"] in [c["id"] for c in waiting]
    r = await world.village_staff.post(f"/api/v1/station/aftersales/{case['id']}/receive", json=body)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["status"] == "refunding" and got["return_method"] == "station"
    parcel = await Parcel.get(label=got["return_parcel_label"])
    assert parcel.direction == "return" and parcel.status == "at_station"
    assert parcel.weight_g == 2 * (await Sku.get(id=a.id)).weight_g  # the returned units' weight, not 1 g
    assert await ScanEvent.filter(parcel_id=parcel.id, kind="return_started").exists()
    # up the existing return path, scanned at each station, back on the shelf at the county warehouse
    stock_before = (await Sku.get(id=a.id)).stock
    net = world.net
    for actor, kind, st in [(world.village_staff, "dispatched", net.village.id), (world.town_staff, "arrived", net.town.id),
                            (world.town_staff, "dispatched", net.town.id), (world.warehouse, "arrived", None)]:
        body = {"label": parcel.label, "kind": kind, **({"station_id": st} if st else {})}
        r = await actor.post("/api/v1/logistics/scans", json=body)
        assert r.status_code == 200, (kind, r.text)
    assert (await Parcel.get(id=parcel.id)).status == "returned"
    assert (await Sku.get(id=a.id)).stock == stock_before + 2
    done = await _done(case["id"])
    assert (await Refund.get(id=done.refund_id)).amount_fen == 2 * a.price
    steps = await AfterSaleStep.filter(case_id=case["id"]).values_list("step", flat=True)
    assert {"requested", "rejected", "escalated", "office_approved", "return_received", "refunded"} <= set(steps)
    assert await ledger.check_invariant([order.id]) == []


async def test_silence_approves_then_a_courier_return(world, client):
    m, (a, _) = await f.merchant_with_skus(2)
    order = await f.paid_order(world.buyer.id, [(a, 1)], address=f.address(world.net, outside=True))
    await completed(world, order.id, m.id)
    la = await OrderLine.get(order_id=order.id)
    r = await world.buyer.post("/api/v1/aftersales", json={
        "order_id": order.id, "kind": "return_refund", "reason": "wrong_item", "lines": [{"line_id": la.id, "qty": 1}]})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert await aftersales.answer_by_silence(cid) is False  # not due yet
    await AfterSale.filter(id=cid).update(respond_by=clock.now() - timedelta(seconds=1))
    assert (await aftersales.sweep())["silence"] >= 1
    assert (await AfterSale.get(id=cid)).status == "awaiting_return"
    stranger = await login(client)
    assert (await stranger.get(f"/api/v1/aftersales/{cid}")).status_code == 404
    assert (await stranger.post(f"/api/v1/aftersales/{cid}/return",
                                json={"company": "SF", "tracking_no": "SF1234567"})).status_code == 404
    r = await world.buyer.post(f"/api/v1/aftersales/{cid}/return", json={"company": "SF", "tracking_no": "SF 12!"})
    assert r.status_code == 422
    r = await world.buyer.post(f"/api/v1/aftersales/{cid}/return", json={"company": "顺丰", "tracking_no": "SF1234567"})
    assert r.status_code == 200 and r.json()["status"] == "returning"
    merchant = await login_as(client, "merchant", merchant_id=m.id)
    r = await merchant.post(f"/api/v1/merchant/aftersales/{cid}/received")
    assert r.status_code == 200 and r.json()["status"] == "refunding"
    await _done(cid)
    assert await ledger.check_invariant([order.id]) == []


async def test_replacement_only_where_offered_is_a_zero_price_order(world, client):
    m, (a, _) = await f.merchant_with_skus(2)
    order = await f.paid_order(world.buyer.id, [(a, 2)], station=world.net.village)
    await completed(world, order.id, m.id)
    la = await OrderLine.get(order_id=order.id)
    body = {"order_id": order.id, "kind": "replacement", "reason": "spoiled", "lines": [{"line_id": la.id, "qty": 1}]}
    r = await world.buyer.post("/api/v1/aftersales", json=body)
    assert r.status_code == 409 and r.json()["error"]["code"] == "aftersales_not_offered"
    assert r.json()["error"]["details"][0]["field"] == "kind"
    # "changed mind" once the goods arrived: only where the merchant takes it
    r = await world.buyer.post("/api/v1/aftersales", json={**body, "kind": "return_refund", "reason": "changed_mind"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "aftersales_not_offered"
    assert r.json()["error"]["details"][0]["field"] == "reason"
    # nothing to send back before the goods reached the buyer
    fresh = await f.paid_order(world.buyer.id, [(a, 1)], station=world.net.village)
    lf = await OrderLine.get(order_id=fresh.id)
    r = await world.buyer.post("/api/v1/aftersales", json={**body, "order_id": fresh.id, "kind": "return_refund",
                                                           "lines": [{"line_id": lf.id, "qty": 1}]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "aftersales_nothing_to_return"
    assert r.json()["error"]["details"][0]["field"] == "kind"
    assert not await AfterSale.filter(order_id__in=(order.id, fresh.id)).exists()
    merchant = await login_as(client, "merchant", merchant_id=m.id)
    r = await merchant.put(f"/api/v1/merchants/{m.id}/aftersales-policy", json={"offers_replacement": True})
    assert r.status_code == 200 and r.json()["offers_replacement"] is True
    r = await world.buyer.post("/api/v1/aftersales", json=body)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert r.json()["amount_fen"] == 0
    await merchant.post(f"/api/v1/merchant/aftersales/{cid}/answer", json={"approve": True})
    before = await Sku.get(id=a.id)
    r = await world.village_staff.post(f"/api/v1/station/aftersales/{cid}/receive",
                                       json={"station_id": world.net.village.id})
    assert r.status_code == 200 and r.json()["status"] == "done", r.text
    new = await Order.get(id=r.json()["replacement_order_id"])
    assert (new.paid_fen, new.total_fen, new.buyer_id) == (0, 0, world.buyer.id)
    [line] = await OrderLine.filter(order_id=new.id)
    assert (line.sku_id, line.quantity, line.unit_price) == (a.id, 1, 0)
    after = await Sku.get(id=a.id)
    assert before.reserved + 1 == after.reserved
    assert await Refund.filter(order_id=order.id).count() == 0
    assert await ledger.check_invariant([order.id, new.id]) == []


async def test_a_return_not_sent_in_time_closes_the_case(world, client, settings):
    """The return's deadline: approved, the buyer has KAZUO_AFTERSALES_RETURN_SHIP_DAYS to send the goods;
    after that the sweeper closes the case (no refund) and a late tracking number is refused."""
    m, (a, _) = await f.merchant_with_skus(2)
    order = await f.paid_order(world.buyer.id, [(a, 1)], station=world.net.village)
    await completed(world, order.id, m.id)
    la = await OrderLine.get(order_id=order.id)
    r = await world.buyer.post("/api/v1/aftersales", json={
        "order_id": order.id, "kind": "return_refund", "reason": "damaged", "lines": [{"line_id": la.id, "qty": 1}]})
    cid = r.json()["id"]
    merchant = await login_as(client, "merchant", merchant_id=m.id)
    r = await merchant.post(f"/api/v1/merchant/aftersales/{cid}/answer", json={"approve": True})
    assert r.status_code == 200 and r.json()["status"] == "awaiting_return", r.text
    case = await AfterSale.get(id=cid)
    days = settings.aftersales_return_ship_days
    assert abs((case.return_by - case.decided_at) - timedelta(days=days)) < timedelta(seconds=1)
    await aftersales.sweep()
    assert (await AfterSale.get(id=cid)).status == "awaiting_return"  # not due yet
    await AfterSale.filter(id=cid).update(return_by=clock.now() - timedelta(seconds=1))
    assert (await aftersales.sweep())["overdue"] >= 1
    closed = await AfterSale.get(id=cid)
    assert (closed.status, closed.closed_reason, closed.refund_id) == ("closed", "return_overdue", None)
    assert "return_overdue" in await AfterSaleStep.filter(case_id=cid).values_list("step", flat=True)
    r = await world.buyer.post(f"/api/v1/aftersales/{cid}/return", json={"company": "顺丰", "tracking_no": "SF7654321"})
    assert r.status_code == 409
    assert not await Refund.filter(order_id=order.id).exists()
