"""After-sales (issue #25) rules: bad input changes nothing (not images, more than paid, outside the
window, unknown codes), windows per category set by the office, "not received" only once the delivery
promise is late, freight refunded with a whole order or the merchant's fault, the buyer told of each step,
and a refund racing a pick on PostgreSQL."""
import asyncio
import secrets
from datetime import timedelta

from server.aftersales import service as aftersales
from server.fulfillment import service as fulfillment
from server.kit import clock
from server.kit.db import atomic
from server.ledger import service as ledger
from server.models.accounts import User
from server.models.aftersales import AfterSale
from server.models.catalog import Category, Product, Sku
from server.models.fulfillment import DeliveryPromise, Parcel, TaskLine, UnpickItem
from server.models.ledger import LedgerEntry
from server.models.notify import NotifyOutbox
from server.models.orders import Order, OrderLine
from server.models.payments import Refund
from server.notify import outbox
from tests.aftersales.conftest import completed, photo
from tests.conftest import login, login_as, wait_for
from tests.fulfillment import factories as f
from tests.fulfillment.conftest import receive_batch

WH = "/api/v1/console/warehouse"


async def test_bad_input_is_refused_with_the_field_and_nothing_changes(world, client):
    m, (a, _) = await f.merchant_with_skus(2)
    order = await f.paid_order(world.buyer.id, [(a, 2)], station=world.net.village)
    await completed(world, order.id, m.id)
    la = await OrderLine.get(order_id=order.id)
    r = await world.buyer.post("/api/v1/aftersales/photos", files={"file": ("x.png", b"%PDF-1.4 not an image", "image/png")})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "file"
    prefix = (await photo(world.buyer)).rsplit("/", 3)[0] + "/"
    base = {"order_id": order.id, "kind": "return_refund", "reason": "damaged", "lines": [{"line_id": la.id, "qty": 1}]}
    cases = [
        ({"lines": [{"line_id": la.id, "qty": 3}]}, "lines[0].qty"),
        ({"lines": [{"line_id": 999999, "qty": 1}]}, "lines[0].line_id"),
        ({"kind": "swap"}, "kind"),
        ({"reason": "bored"}, "reason"),
        ({"photos": ["http://evil.example/x.png"]}, "photos[0]"),
        # under the pavilion's after-sales prefix but not a stored photo's key: a path out of it, a PDF
        ({"photos": [prefix + "2026/12/../../../x.png"]}, "photos[0]"),
        ({"photos": [await photo(world.buyer), prefix + "2026/12/" + "a" * 40 + ".pdf"]}, "photos[1]"),
        ({"photos": [await photo(world.buyer)] * 10}, "photos"),
        ({"lines": [{"line_id": la.id, "qty": True}]}, "lines.0.qty"),
    ]
    for change, field in cases:
        r = await world.buyer.post("/api/v1/aftersales", json={**base, **change})
        assert r.status_code == 422, (change, r.text)
        fields = [d.get("field", "") for d in r.json()["error"]["details"]]
        assert any(field in x for x in fields), (change, fields)
    other = await login(client)
    assert (await other.post("/api/v1/aftersales", json=base)).status_code == 404
    assert await AfterSale.filter(order_id=order.id).count() == 0
    # one open case per line
    assert (await world.buyer.post("/api/v1/aftersales", json=base)).status_code == 201
    r = await world.buyer.post("/api/v1/aftersales", json=base)
    assert r.status_code == 409 and r.json()["error"]["code"] == "aftersales_case_open"


async def test_windows_fresh_48h_others_7_days_and_the_office_sets_them(world, client):
    m, (fresh, jar) = await f.merchant_with_skus(2, cold=(True, False))
    own = await Category.create(slug="as-" + secrets.token_hex(3), name="冷鲜")  # windows of its own
    await Product.filter(id=fresh.product_id).update(category_id=own.id)

    async def order_of(sku, ago_hours):
        order = await f.paid_order(world.buyer.id, [(sku, 1)], station=world.net.village)
        await completed(world, order.id, m.id, ago_hours=ago_hours)
        line = await OrderLine.get(order_id=order.id)
        return {"order_id": order.id, "kind": "refund_only", "reason": "short",
                "lines": [{"line_id": line.id, "qty": 1}]}

    fresh_body = await order_of(fresh, 50)
    r = await world.buyer.post("/api/v1/aftersales", json=fresh_body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "aftersales_outside_window"
    assert (await world.buyer.post("/api/v1/aftersales", json=await order_of(fresh, 47))).status_code == 201
    # the office gives the category 72 hours
    admin = await login_as(client, "admin")
    r = await admin.put("/api/v1/console/aftersales-windows", json={"category_id": own.id, "hours": 72})
    assert r.status_code == 200, r.text
    assert any(w["category_id"] == own.id and w["hours"] == 72 for w in r.json()["items"])
    r = await admin.put("/api/v1/console/aftersales-windows", json={"category_id": own.id, "hours": 0})
    assert r.status_code == 422
    assert (await world.buyer.put("/api/v1/console/aftersales-windows",
                                  json={"category_id": own.id, "hours": 5})).status_code == 403
    r = await world.buyer.post("/api/v1/aftersales", json=fresh_body)
    assert r.status_code == 201, r.text
    # not fresh: 7 days
    await Product.filter(id=jar.product_id).update(category_id=(await Category.create(
        slug="as-" + secrets.token_hex(3), name="陈醋")).id)
    assert (await world.buyer.post("/api/v1/aftersales", json=await order_of(jar, 50))).status_code == 201
    r = await world.buyer.post("/api/v1/aftersales", json=await order_of(jar, 7 * 24 + 1))
    assert r.status_code == 422 and r.json()["error"]["code"] == "aftersales_outside_window"


async def test_not_received_only_once_the_promise_is_late(world):
    m, (a, _) = await f.merchant_with_skus(2)
    order = await f.paid_order(world.buyer.id, [(a, 1)], station=world.net.village)
    parcel = await completed(world, order.id, m.id)
    await Order.filter(id=order.id).update(status="in_fulfilment", completed_at=None)
    la = await OrderLine.get(order_id=order.id)
    body = {"order_id": order.id, "kind": "refund_only", "reason": "not_received", "lines": [{"line_id": la.id, "qty": 1}]}
    await Parcel.filter(id=parcel["id"]).update(status="in_transit")
    await Order.filter(id=order.id).update(status="out_for_delivery")
    await DeliveryPromise.filter(parcel_id=parcel["id"]).update(due_at=clock.now() - timedelta(hours=1))
    r = await world.buyer.post("/api/v1/aftersales", json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "aftersales_not_yet_overdue"
    await DeliveryPromise.filter(parcel_id=parcel["id"]).update(due_at=clock.now() - timedelta(hours=25))
    r = await world.buyer.post("/api/v1/aftersales", json=body)
    assert r.status_code == 201 and r.json()["status"] == "requested", r.text


async def test_freight_with_a_whole_order_or_the_merchants_fault_only(world, client):
    m, (a, b) = await f.merchant_with_skus(2)
    merchant = await login_as(client, "merchant", merchant_id=m.id)
    await merchant.put(f"/api/v1/merchants/{m.id}/aftersales-policy", json={"accepts_changed_mind": True})

    async def with_freight(items):
        order = await f.paid_order(world.buyer.id, items, station=world.net.village)
        # what the freight checkout and ledger.post_sale write: 600 fen charged, the merchant's income
        # on its first line (an entry without a line would break every later settlement run)
        await Order.filter(id=order.id).update(shipping_fen=600, total_fen=order.total_fen + 600,
                                               paid_fen=order.paid_fen + 600)
        line = await OrderLine.filter(order_id=order.id).first()
        await LedgerEntry.create(order_id=order.id, order_line_id=line.id, account_type="merchant", account_id=m.id,
                                 kind="shipping", amount_fen=600, dedup_key=f"ship:{order.id}:{m.id}")
        await completed(world, order.id, m.id)
        return order, line

    # partial, changed mind: no freight, the buyer pays the way back
    order, line = await with_freight([(a, 2)])
    r = await world.buyer.post("/api/v1/aftersales", json={
        "order_id": order.id, "kind": "return_refund", "reason": "changed_mind", "lines": [{"line_id": line.id, "qty": 1}]})
    assert r.status_code == 201, r.text
    assert (r.json()["shipping_refund_fen"], r.json()["return_cost_by"]) == (0, "buyer")
    # partial, merchant's fault: freight back
    order, line = await with_freight([(a, 2)])
    r = await world.buyer.post("/api/v1/aftersales", json={
        "order_id": order.id, "kind": "refund_only", "reason": "short", "lines": [{"line_id": line.id, "qty": 1}]})
    assert r.json()["shipping_refund_fen"] == 600
    # whole order, changed mind (before delivery the freight goes back with everything)
    order, line = await with_freight([(b, 1)])
    r = await world.buyer.post("/api/v1/aftersales", json={
        "order_id": order.id, "kind": "return_refund", "reason": "changed_mind", "lines": [{"line_id": line.id, "qty": 1}]})
    case = r.json()
    assert case["shipping_refund_fen"] == 600
    await merchant.post(f"/api/v1/merchant/aftersales/{case['id']}/answer", json={"approve": True})
    await world.buyer.post(f"/api/v1/aftersales/{case['id']}/return", json={"company": "中通", "tracking_no": "ZT998877"})
    r = await merchant.post(f"/api/v1/merchant/aftersales/{case['id']}/received")
    assert r.status_code == 200, r.text
    refund = await Refund.get(id=r.json()["refund_id"])
    assert (refund.amount_fen, refund.shipping_fen) == (b.price + 600, 600)

    async def closed():
        return (await Order.get(id=order.id)).status == "closed"
    assert await wait_for(closed, timeout=10)
    assert await ledger.check_invariant([order.id]) == []


async def test_each_step_is_told_to_the_buyer(world, client):
    m, (a, _) = await f.merchant_with_skus(2)
    order = await f.paid_order(world.buyer.id, [(a, 1)], station=world.net.village)
    await completed(world, order.id, m.id)
    la = await OrderLine.get(order_id=order.id)
    r = await world.buyer.post("/api/v1/aftersales", json={
        "order_id": order.id, "kind": "refund_only", "reason": "short", "lines": [{"line_id": la.id, "qty": 1}]})
    cid = r.json()["id"]
    openid = (await client.get("/api/v1/me", headers=world.buyer.headers)).json().get("openid") or \
        world.buyer.user.get("openid")

    ref = outbox.aftersales_ref(cid, "requested")   # owed in the step's transaction, delivered once
    assert await wait_for(lambda: NotifyOutbox.filter(moment="aftersales_update", ref=ref, status="done").exists(),
                          timeout=10)
    assert await outbox.deliver("aftersales_update", ref) == {}   # a re-delivered job is quiet
    assert await aftersales.notify(cid, "requested") == {}         # and so is a job of the old path
    if openid:
        sent = (await client.get("/__sim__/wechat/subscribe-messages", params={"touser": openid})).json()["items"]
        assert any(x["data"]["character_string1"]["value"] == r.json()["case_no"] for x in sent)
    # the moment is asked for on the after-sales screen
    r = await world.buyer.get("/api/v1/subscribe-templates", params={"scene": "aftersales_apply"})
    assert r.status_code == 200 and "kazuo-aftersales-template" in r.json()["template_ids"]


async def test_a_refund_and_a_pick_at_once_on_postgresql(world):
    """The buyer's refund of 2 of 3 units and the picker's scan of all 3 race: whichever takes the task
    row first, nothing is packed that was refunded and no unit is released twice."""
    m, (a, _) = await f.merchant_with_skus(2)
    order = await f.paid_order(world.buyer.id, [(a, 3)], station=world.net.village)
    task_id = await fulfillment.handoff(order.id)
    batch = await receive_batch(world.warehouse, m.id, a.id, 5)
    la = await OrderLine.get(order_id=order.id)
    before = await Sku.get(id=a.id)
    picked, applied = await asyncio.gather(
        world.warehouse.post(f"{WH}/tasks/{task_id}/pick", json={"sku_id": a.id, "batch": batch, "quantity": 3}),
        world.buyer.post("/api/v1/aftersales", json={"order_id": order.id, "kind": "refund_only",
                                                     "reason": "changed_mind", "lines": [{"line_id": la.id, "qty": 2}]}))
    assert applied.status_code == 201, applied.text
    line = await TaskLine.get(task_id=task_id)
    held = sum(await UnpickItem.filter(task_id=task_id, status="pending").values_list("quantity", flat=True))
    assert line.picked_qty <= line.quantity
    if picked.status_code == 200:  # the pick first: two units wait to go back, the refund waits for them
        assert (line.quantity, line.picked_qty, held) == (3, 3, 2)
        assert (await Refund.get(id=applied.json()["refund_id"])).status == "unpicking"
    else:  # the refund first: one left to pick
        assert picked.json()["error"]["code"] == "over_pick"
        assert (line.quantity, line.picked_qty, held) == (1, 0, 0)
    after = await Sku.get(id=a.id)
    assert after.stock + after.reserved == before.stock + before.reserved
    async with atomic() as conn:
        assert await fulfillment.unpick_held(task_id, conn) == ({line.id: 2} if held else {})


async def test_an_sms_only_when_the_step_needs_the_buyer_and_no_message_reached_them(world, client):
    m, (a, _) = await f.merchant_with_skus(2)
    order = await f.paid_order(world.buyer.id, [(a, 1)], address=f.address(world.net))
    await completed(world, order.id, m.id)
    la = await OrderLine.get(order_id=order.id)
    r = await world.buyer.post("/api/v1/aftersales", json={
        "order_id": order.id, "kind": "return_refund", "reason": "damaged", "lines": [{"line_id": la.id, "qty": 1}]})
    cid = r.json()["id"]

    async def told(step):
        ref = outbox.aftersales_ref(cid, step)
        assert await wait_for(lambda: NotifyOutbox.filter(moment="aftersales_update", ref=ref, status="done")
                              .exists(), timeout=10), step
        return await NotifyOutbox.get(moment="aftersales_update", ref=ref)
    await told("requested")
    openid = (await User.get(id=world.buyer.id)).openid
    await client.post("/__sim__/wechat/subscribe-refuse", json={"touser": openid})
    merchant = await login_as(client, "merchant", merchant_id=m.id)
    r = await merchant.post(f"/api/v1/merchant/aftersales/{cid}/answer", json={"approve": True})
    assert r.status_code == 200, r.text
    row = await told("approved_return")   # the buyer must send the goods back: an SMS (no phone: the address's)
    assert (row.wechat, row.sms) == ("refused", "sent")
    r = await world.buyer.post(f"/api/v1/aftersales/{cid}/return", json={"company": "中通", "tracking_no": "ZT20261206"})
    assert r.status_code == 200, r.text
    shipped = await told("return_shipped")   # no action needed: no SMS
    assert (shipped.wechat, shipped.sms) == ("refused", "")
    sms = (await client.get("/__sim__/aliyun/sms", params={"phone": order.address["phone"]})).json()["messages"]
    assert [x["template_code"] for x in sms if x["out_id"] == f"notify-{row.id}"] == ["SMS_000000025"]
    assert not [x for x in sms if x["out_id"] == f"notify-{shipped.id}"]


async def test_an_open_case_holds_its_units_from_a_plain_refund(world):
    m, (a, _) = await f.merchant_with_skus(2)
    order = await f.paid_order(world.buyer.id, [(a, 2)], station=world.net.village)
    await completed(world, order.id, m.id)
    la = await OrderLine.get(order_id=order.id)
    r = await world.buyer.post("/api/v1/aftersales", json={
        "order_id": order.id, "kind": "return_refund", "reason": "damaged", "lines": [{"line_id": la.id, "qty": 2}]})
    assert r.status_code == 201
    r = await world.buyer.post(f"/api/v1/orders/{order.id}/refunds",
                               json={"lines": [{"line_id": la.id, "quantity": 1}], "reason": "又申请一次"})
    assert r.status_code == 422, r.text
    assert await Refund.filter(order_id=order.id).count() == 0



async def test_a_merchants_fault_returns_its_own_freight_once_not_the_other_merchants(world, client):
    """An order of two merchants (freight A 600, B 800): a partial case for A's fault gives back A's
    freight, not B's, and reverses A's freight entry only; a second case on A's other line, opened while
    the first was still open, gets what is left of A's freight (none) instead of failing at approval."""
    ma, (a1, a2) = await f.merchant_with_skus(2)
    mb, (b, _) = await f.merchant_with_skus(2)
    order = await f.paid_order(world.buyer.id, [(a1, 1), (a2, 1), (b, 1)], station=world.net.village)
    split = [{"merchant_id": ma.id, "fen": 600, "carrier": "merchant", "template_id": None},
             {"merchant_id": mb.id, "fen": 800, "carrier": "merchant", "template_id": None}]
    await Order.filter(id=order.id).update(shipping_fen=1400, shipping_split=split, total_fen=order.total_fen + 1400,
                                           paid_fen=order.paid_fen + 1400, status="completed",
                                           completed_at=clock.now() - timedelta(hours=1))
    l1, l2, lb = [await OrderLine.get(order_id=order.id, sku_id=s.id) for s in (a1, a2, b)]
    for line, m, fen in ((l1, ma, 600), (lb, mb, 800)):   # what ledger.post_sale writes for the split
        await LedgerEntry.create(order_id=order.id, order_line_id=line.id, account_type="merchant", account_id=m.id,
                                 kind="shipping", amount_fen=fen, dedup_key=f"ship:{order.id}:{m.id}")
    body = {"order_id": order.id, "kind": "refund_only", "reason": "damaged"}
    cases = []
    for line in (l1, l2):
        r = await world.buyer.post("/api/v1/aftersales", json={**body, "lines": [{"line_id": line.id, "qty": 1}]})
        assert r.status_code == 201 and r.json()["shipping_refund_fen"] == 600, r.text   # A's, not 1400
        cases.append(r.json()["id"])
    merchant = await login_as(client, "merchant", merchant_id=ma.id)
    for cid in cases:
        r = await merchant.post(f"/api/v1/merchant/aftersales/{cid}/answer", json={"approve": True})
        assert r.status_code == 200, r.text
    c1, c2 = await AfterSale.get(id=cases[0]), await AfterSale.get(id=cases[1])
    r1, r2 = await Refund.get(id=c1.refund_id), await Refund.get(id=c2.refund_id)
    assert (r1.shipping_fen, r2.shipping_fen) == (600, 0)
    assert (c1.shipping_refund_fen, c2.shipping_refund_fen) == (600, 0)   # each case says what it got

    async def both_done():
        return {x.status for x in await Refund.filter(id__in=(r1.id, r2.id))} == {"succeeded"}
    assert await wait_for(both_done, timeout=10)
    rev = {(e.account_type, e.account_id): e.amount_fen for e in
           await LedgerEntry.filter(order_id=order.id, kind="shipping_reversal")}
    assert rev == {("merchant", ma.id): -600}   # B keeps its freight
    assert await ledger.check_invariant([order.id]) == []
