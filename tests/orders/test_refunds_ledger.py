"""Refunds (automatic before fulfilment, decided after), their exactly-once completion, stock back,
and the settlement ledger arithmetic: paid - refunded == sum of entries, partial refunds included."""
import asyncio

import pytest

from server.kit import runtime
from server.ledger import service as ledger
from server.models.catalog import Sku
from server.models.ledger import LedgerEntry
from server.models.orders import Order, OrderLine
from server.models.payments import Refund
from tests.conftest import login, login_as, wait_for
from tests.orders.conftest import checkout, make_sku, pay_and_notify, pickup_body, sim
from tests.orders.test_payments import no_handoff  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("pay_api")  # every test on WeChat Pay v2 and on v3


async def paid_order(buyer, station, *lines_spec):
    """lines_spec: (price, qty, stock) per line; returns (order json, skus)."""
    skus = [await make_sku(price=p, stock=s) for p, _, s in lines_spec]
    r = await checkout(buyer, pickup_body(station.id, *[(k.id, q) for k, (_, q, _) in zip(skus, lines_spec)]))
    assert r.status_code == 201, r.text
    order = r.json()
    assert (await pay_and_notify(buyer, order["id"]))["delivered"]
    return (await buyer.get(f"/api/v1/orders/{order['id']}")).json(), skus


async def refund_done(refund_id):
    async def check():
        return (await Refund.get(id=refund_id)).status in ("succeeded", "failed")
    assert await wait_for(check), (await Refund.get(id=refund_id)).__dict__
    return await Refund.get(id=refund_id)


def test_split_and_cumulative_reversal_arithmetic():
    rates = dict(platform_bp=500, station_bp=200, commission_bp=0)
    assert ledger.split(999, **rates) == {"platform_fee": 50, "station_fee": 20, "live_commission": 0,
                                          "merchant_share": 929}
    assert ledger.split(333, **rates) == {"platform_fee": 17, "station_fee": 7, "live_commission": 0,
                                          "merchant_share": 309}
    # three refunds of one unit each add up to the whole line, fen for fen
    parts = [ledger.split(n * 333, **rates) for n in range(4)]
    for kind in ("platform_fee", "station_fee", "merchant_share"):
        assert sum(parts[i + 1][kind] - parts[i][kind] for i in range(3)) == parts[3][kind]


async def test_partial_refunds_reverse_the_ledger_exactly(client, buyer, station, no_handoff):
    s = runtime.settings()
    assert (s.platform_fee_bp, s.station_fee_bp) == (500, 200)
    order, (sku,) = await paid_order(buyer, station, (333, 3, 5))
    line = order["lines"][0]
    oid = order["id"]
    assert await ledger.check_invariant([oid]) == []
    # one unit, before fulfilment: approved at once, sent to WeChat, completed by the refund notification
    r = await buyer.post(f"/api/v1/orders/{oid}/refunds", json={"lines": [{"line_id": line["id"], "quantity": 1}],
                                                                 "reason": "少了一瓶"})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "approved" and r.json()["amount_fen"] == 333
    first = await refund_done(r.json()["id"])
    assert first.status == "succeeded" and first.restock
    rev = {e.kind: e.amount_fen for e in await LedgerEntry.filter(refund_id=first.id)}
    assert rev == {"platform_fee_reversal": -17, "station_fee_reversal": -7, "merchant_share_reversal": -309}
    o = await Order.get(id=oid)
    assert (o.paid_fen, o.refunded_fen, o.status) == (999, 333, "paid")
    assert await ledger.check_invariant([oid]) == []
    assert (await Sku.get(id=sku.id)).stock == 3  # 5 - 3 + 1: never left the warehouse
    # the other two units
    r = await buyer.post(f"/api/v1/orders/{oid}/refunds", json={"lines": [{"line_id": line["id"], "quantity": 2}]})
    second = await refund_done(r.json()["id"])
    rev = {e.kind: e.amount_fen for e in await LedgerEntry.filter(refund_id=second.id)}
    assert rev == {"platform_fee_reversal": -33, "station_fee_reversal": -13, "merchant_share_reversal": -620}
    o = await Order.get(id=oid)
    assert (o.refunded_fen, o.status) == (999, "closed")
    assert await ledger.check_invariant([oid]) == []
    assert sum(await LedgerEntry.filter(order_id=oid).values_list("amount_fen", flat=True)) == 0
    ol = await OrderLine.get(id=line["id"])
    assert (ol.refunded_qty, ol.refunded_fen) == (3, 999)
    s2 = await Sku.get(id=sku.id)
    assert (s2.stock, s2.reserved) == (5, 0)
    # nothing left
    r = await buyer.post(f"/api/v1/orders/{oid}/refunds", json={})
    assert r.status_code == 409


async def test_refund_request_validation(client, buyer, station, no_handoff):
    order, _ = await paid_order(buyer, station, (1000, 2, 5), (500, 1, 5))
    oid, l1 = order["id"], order["lines"][0]["id"]
    url = f"/api/v1/orders/{oid}/refunds"
    r = await buyer.post(url, json={"lines": [{"line_id": l1, "quantity": 3}]})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == f"lines.{l1}"
    r = await buyer.post(url, json={"lines": [{"line_id": 999999999, "quantity": 1}]})
    assert r.status_code == 422
    r = await buyer.post(url, json={"lines": [{"line_id": l1, "quantity": 1}, {"line_id": l1, "quantity": 1}]})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "lines.1.line_id"
    r = await buyer.post(url, json={"lines": []})
    assert r.status_code == 422
    r = await buyer.post(url, json={"lines": [{"line_id": l1, "quantity": -1}]})
    assert r.status_code == 422
    # two concurrent requests for the last units: only one gets them
    rs = await asyncio.gather(*[buyer.post(url, json={"lines": [{"line_id": l1, "quantity": 2}]}) for _ in range(4)])
    assert sorted(x.status_code for x in rs) == [201, 422, 422, 422]
    # an unpaid order cannot be refunded
    sku = await make_sku()
    unpaid = (await checkout(buyer, pickup_body(station.id, (sku.id, 1)))).json()
    r = await buyer.post(f"/api/v1/orders/{unpaid['id']}/refunds", json={})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_refundable"


async def test_after_fulfilment_the_merchant_or_an_admin_decides(client, buyer, station, no_handoff):
    from server.kit.db import atomic
    from server.orders import service as orders

    order, (sku_a, sku_b) = await paid_order(buyer, station, (1000, 1, 5), (2000, 1, 5))
    oid = order["id"]
    async with atomic() as conn:
        await orders.transition(oid, ["paid"], "in_fulfilment", conn=conn)
    merchant_a = (await sku_a.product).merchant_id
    merchant_b = (await sku_b.product).merchant_id
    line_a = next(x for x in order["lines"] if x["sku_id"] == sku_a.id)["id"]
    r = await buyer.post(f"/api/v1/orders/{oid}/refunds", json={"lines": [{"line_id": line_a, "quantity": 1}]})
    assert r.status_code == 201 and r.json()["status"] == "requested"
    rid = r.json()["id"]
    other = await login_as(client, "merchant", merchant_id=merchant_b)
    assert (await other.post(f"/api/v1/merchant/refunds/{rid}/approve", json={})).status_code == 404
    assert (await buyer.post(f"/api/v1/merchant/refunds/{rid}/approve", json={})).status_code == 403
    owner = await login_as(client, "merchant", merchant_id=merchant_a)
    r = await owner.post(f"/api/v1/merchant/refunds/{rid}/approve", json={"note": "同意"})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert (await owner.post(f"/api/v1/merchant/refunds/{rid}/reject", json={})).status_code == 409
    done = await refund_done(rid)
    assert done.status == "succeeded" and not done.restock  # the goods were already with the warehouse team
    assert (await Sku.get(id=sku_a.id)).stock == 4
    # the whole remaining order: spans two merchants, so only an admin decides
    r = await buyer.post(f"/api/v1/orders/{oid}/refunds", json={"reason": "不要了"})
    rid2 = r.json()["id"]
    assert r.json()["amount_fen"] == 2000
    assert (await owner.post(f"/api/v1/merchant/refunds/{rid2}/approve", json={})).status_code == 404
    admin = await login_as(client, "admin")
    r = await admin.post(f"/api/v1/console/refunds/{rid2}/reject", json={"note": "已发货"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert await ledger.check_invariant([oid]) == []
    o = await Order.get(id=oid)
    assert (o.refunded_fen, o.status) == (1000, "in_fulfilment")
    # merchant balances: each merchant's share, minus the refunded part
    bal = {(b["account_type"], b["account_id"]): b["balance_fen"] for b in await ledger.balances()}
    assert bal[("merchant", merchant_a)] == 0
    assert bal[("merchant", merchant_b)] == 2000 - 100 - 40
    r = await owner.get("/api/v1/merchant/balance")
    assert r.json()["items"] == [{"merchant_id": merchant_a, "balance_fen": 0}]


async def test_refund_notification_applies_once_and_bad_ones_are_rejected(client, buyer, station, no_handoff,
                                                                         pay_api):
    from server.payments import service as payments

    order, _ = await paid_order(buyer, station, (700, 1, 5))
    r = await buyer.post(f"/api/v1/orders/{order['id']}/refunds", json={})
    refund = await refund_done(r.json()["id"])
    assert refund.status == "succeeded"
    from server.models.payments import PaymentNotification

    async def noted():  # the outcome is written just after the refund is applied
        n = await PaymentNotification.filter(kind="refund", out_refund_no=refund.refund_no).first()
        return n if n is not None and n.outcome == "applied" else None

    note = await wait_for(noted)
    assert note is not None and note.verified
    if runtime.settings().wechat_pay_api_version == "v2":
        sent, headers = note.body, {}
    else:  # v3: the signed notification as the simulator sent it (its headers are part of it)
        sent_note = (await client.get(sim(f"/notification/{refund.refund_no}"))).json()
        sent, headers = sent_note["body"], sent_note["headers"]
    # the same notification again (WeChat retry) changes nothing
    reply = await payments.handle_refund_notification(sent.encode(), headers, pay_api)
    assert "SUCCESS" in reply.body and reply.status == 200
    assert await LedgerEntry.filter(refund_id=refund.id).count() == 3
    assert (await Order.get(id=order["id"])).refunded_fen == 700
    # tampered ciphertext / another merchant
    bad = sent.replace(runtime.settings().wechat_mch_id, "1234567890")
    if pay_api == "v3":
        bad = sent.replace('"ciphertext":"', '"ciphertext":"AAAA')
    assert "FAIL" in (await payments.handle_refund_notification(bad.encode(), headers, pay_api)).body
    assert "FAIL" in (await payments.handle_refund_notification(b"<xml><req_info>AAAA</req_info></xml>", headers,
                                                                pay_api)).body


async def test_merchant_sees_only_their_lines_and_admin_searches(client, buyer, station):
    a, b = await make_sku(price=100), await make_sku(price=200)
    oid = (await checkout(buyer, pickup_body(station.id, (a.id, 1), (b.id, 2)))).json()["id"]
    ma = (await a.product).merchant_id
    m = await login_as(client, "merchant", merchant_id=ma)
    r0 = await m.get("/api/v1/merchant/orders")
    assert r0.status_code == 200, r0.text
    page = r0.json()
    mine = next(o for o in page["items"] if o["id"] == oid)
    assert [x["sku_id"] for x in mine["lines"]] == [a.id] and mine["total_fen"] == 100
    assert mine["address"] is None and mine["buyer_id"] == 0
    assert (await m.get(f"/api/v1/merchant/orders/{oid}")).json()["lines"][0]["sku_id"] == a.id
    stranger = await login_as(client, "merchant", merchant_id=(await (await make_sku()).product).merchant_id)
    assert (await stranger.get(f"/api/v1/merchant/orders/{oid}")).status_code == 404
    assert (await buyer.get("/api/v1/merchant/orders")).status_code == 403
    admin = await login_as(client, "admin")
    found = (await admin.get("/api/v1/console/orders", params={"merchant_id": ma})).json()["items"]
    assert [o["id"] for o in found] == [oid]
    assert (await admin.get("/api/v1/console/orders", params={"buyer_id": buyer.id})).json()["items"][0]["id"] == oid
    detail = (await admin.get(f"/api/v1/console/orders/{oid}")).json()
    assert detail["order"]["id"] == oid and detail["events"][0]["to_status"] == "pending_payment"
    assert (await buyer.get("/api/v1/console/orders")).status_code == 403
    r = await admin.post("/api/v1/console/reconcile", json={"order_id": oid})
    assert r.status_code == 200 and r.json()["ledger_broken"] == []
    assert (await admin.get("/api/v1/console/ledger/balances", params={"account_type": "merchant"})).status_code == 200


async def test_live_source_hook_prices_commission_and_release(client, buyer, station, no_handoff):
    from server.kit.errors import Conflict
    from server.orders import hooks

    sku = await make_sku(price=5000, stock=10)
    quota = {"left": 2, "released": []}

    async def resolve(ctx: hooks.SourceContext) -> hooks.SourceResult:
        if ctx.source.get("session_id") != 77:
            from server.kit.errors import ValidationFailed
            raise ValidationFailed.field("source.session_id", "no such live session")
        qty = sum(x.quantity for x in ctx.lines)
        if quota["left"] < qty:
            raise Conflict("live quota gone", code="live_quota_exhausted")
        quota["left"] -= qty
        return hooks.SourceResult(live_session_id=77, livestreamer_id=buyer.id, commission_bp=1000,
                                  unit_prices={x.sku_id: 3900 for x in ctx.lines})

    async def release(order: hooks.ReleasedOrder, conn) -> None:
        quota["released"].append(order.order_id)
        quota["left"] += sum(q for _, q in order.lines)

    hooks.register_source("testlive", resolve, on_release=release)
    body = pickup_body(station.id, (sku.id, 1)) | {"source": {"kind": "testlive", "session_id": 77}}
    r = await checkout(buyer, body)
    assert r.status_code == 201, r.text
    o = r.json()
    assert o["source"] == "testlive" and o["live_session_id"] == 77 and o["total_fen"] == 3900
    r = await checkout(buyer, body | {"source": {"kind": "testlive", "session_id": 1}})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "source.session_id"
    second = (await checkout(buyer, body)).json()
    assert (await checkout(buyer, body)).status_code == 409  # quota of 2 taken
    assert (await buyer.post(f"/api/v1/orders/{second['id']}/cancel", json={})).status_code == 200
    assert quota["released"] == [second["id"]] and quota["left"] == 1
    assert (await pay_and_notify(buyer, o["id"]))["delivered"]
    entries = {e.kind: e.amount_fen for e in await LedgerEntry.filter(order_id=o["id"])}
    assert entries == {"platform_fee": 195, "station_fee": 78, "live_commission": 390, "merchant_share": 3237}
    assert await ledger.check_invariant([o["id"]]) == []


async def test_uncollected_parcel_refund_through_the_contract(client, buyer, station, no_handoff):
    """The stations capability calls create_refund(..., auto_approve=True) for parcels not picked up."""
    from server.kit.db import atomic
    from server.orders import refunds
    from server.orders import service as orders

    order, _ = await paid_order(buyer, station, (1500, 2, 5))
    async with atomic() as conn:
        await orders.transition(order["id"], "paid", "in_fulfilment", conn=conn)
        await orders.transition(order["id"], ["in_fulfilment"], "ready_for_pickup", conn=conn)
    out = await refunds.create_refund(order["id"], lines=None, reason="逾期未取", requested_by=None,
                                      auto_approve=True)
    assert out.status == "approved" and out.amount_fen == 3000
    done = await refund_done(out.id)
    assert done.status == "succeeded"
    assert (await Order.get(id=order["id"])).status == "closed"
    assert await ledger.check_invariant([order["id"]]) == []


async def test_transition_contract(client, buyer, station):
    from server.kit.db import atomic
    from server.kit.errors import Conflict
    from server.orders import service as orders

    sku = await make_sku()
    oid = (await checkout(buyer, pickup_body(station.id, (sku.id, 1)))).json()["id"]
    with pytest.raises(Conflict) as e:
        async with atomic() as conn:
            await orders.transition(oid, ["paid"], "in_fulfilment", conn=conn)
    assert e.value.code == "invalid_transition" and e.value.details["status"] == "pending_payment"
    with pytest.raises(ValueError):
        async with atomic() as conn:
            await orders.transition(oid, ["pending_payment"], "teleported", conn=conn)
