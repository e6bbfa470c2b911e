"""Pre-sale (预售, issue #28) on the real stack: offers proposed and approved, deposit + balance paid
through the WeChat Pay simulator (v2 and v3), the ship-from date holding the hand-off back, refunds of
either part and of both (split across the two payments), the balance deadline (deposit kept or
refunded, stock back), the ledger invariant and the reconciliation seeing both payments."""
import asyncio
from datetime import datetime, timedelta

import pytest

from server.fulfillment import service as fulfillment
from server.kit.errors import Conflict
from server.kit import clock, runtime
from server.ledger import service as ledger
from server.models.catalog import Sku
from server.models.fulfillment import FulfillmentTask
from server.models.ledger import LedgerEntry
from server.models.orders import Order, OrderEvent
from server.models.accounts import User
from server.models.notify import NotifyOutbox
from server.models.payments import Payment, PaymentNotification, ReconcileDifference, Refund
from server.models.promotions import UserCoupon
from server.payments import service as payments
from jobs import presale as presale_jobs
from server.notify import registry
from server.presale import service as presale
from server.reconcile import service as reconcile
from tests.conftest import PG_URL, login, login_as, wait_for
from tests.fulfillment.factories import network
from tests.orders.conftest import checkout, make_sku, pickup_body, sim
from tests.orders.test_payments import post_notification, reply_code, signed_notification
from tests.promotions.conftest import claim, make_coupon

PRICE, DEPOSIT = 2000, 500


async def offer(client, *, mode="deposit", stock=10, approve=True, price=PRICE, **times):
    """A merchant's SKU with a pre-sale open now (balance window open now, ship-from in 3 days)."""
    sku = await make_sku(price=2500, stock=stock)
    merchant = await login_as(client, "merchant", merchant_id=(await sku.product).merchant_id)
    now = clock.now()
    body = {"sku_id": sku.id, "mode": mode, "price_fen": price,
            "starts_at": (now - timedelta(hours=1)).isoformat(), "ends_at": (now + timedelta(days=1)).isoformat(),
            "ship_from": (now + timedelta(days=3)).isoformat()}
    if mode == "deposit":
        body |= {"deposit_fen": DEPOSIT, "balance_starts_at": (now - timedelta(minutes=30)).isoformat(),
                 "balance_ends_at": (now + timedelta(days=2)).isoformat()}
    body |= {k: v.isoformat() for k, v in times.items()}
    r = await merchant.post("/api/v1/merchant/presales", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "pending"
    if approve:
        admin = await login_as(client, "admin")
        r = await admin.post(f"/api/v1/console/presales/{r.json()['id']}/review", json={"approve": True})
        assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    return r.json(), sku, merchant


async def place(buyer, station, o, qty=2, mode="deposit"):
    r = await checkout(buyer, pickup_body(station.id, (o["sku_id"], qty),
                                          source={"kind": "presale", "offer_id": o["id"], "mode": mode}))
    assert r.status_code == 201, r.text
    return r.json()


async def pay(actor, path) -> Payment:
    r = await actor.post(path)
    assert r.status_code == 200, r.text
    out_trade_no = r.json()["out_trade_no"]
    r2 = await actor.client.post(sim("/pay"), json={"out_trade_no": out_trade_no})
    assert r2.status_code == 200 and r2.json()["delivered"], r2.text

    async def applied():
        return (await Payment.get(out_trade_no=out_trade_no)).status == "paid"
    assert await wait_for(applied)
    return await Payment.get(out_trade_no=out_trade_no)


async def deposit_and_balance(client, buyer, station, qty=2):
    o, sku, merchant = await offer(client)
    order = await place(buyer, station, o, qty)
    assert order["total_fen"] == PRICE * qty and order["source"] == "presale"
    dep = await pay(buyer, f"/api/v1/orders/{order['id']}/pay")
    bal = await pay(buyer, f"/api/v1/presale/orders/{order['id']}/balance/pay")
    return o, sku, order, dep, bal


async def refund_done(refund_id):
    async def check():
        return (await Refund.get(id=refund_id)).status in ("succeeded", "failed")
    assert await wait_for(check, timeout=30)  # a refund goes through the worker and the simulator
    return await Refund.get(id=refund_id)


@pytest.fixture(autouse=True)
async def overall_before():
    """The whole database's ledger difference before the test: other tests' factories write paid orders
    without entries, so a pre-sale test checks that it changed nothing, not that the sum is zero."""
    _BEFORE["difference_fen"] = (await ledger.check_overall())["difference_fen"]


_BEFORE: dict = {}


async def assert_ledger(oid):
    assert await ledger.check_invariant([oid]) == []
    assert (await ledger.check_overall())["difference_fen"] == _BEFORE["difference_fen"]


@pytest.mark.usefixtures("pay_api")
async def test_deposit_then_balance_end_to_end(client, buyer):
    station = (await network()).village  # under a town and the county centre: the hand-off can route it
    o, sku, merchant = await offer(client)
    info = (await client.get(f"/api/v1/products/{o['product_id']}/presales")).json()["items"]
    assert [(i["id"], i["deposit_fen"], i["balance_fen"], i["open_now"]) for i in info] == \
        [(o["id"], DEPOSIT, PRICE - DEPOSIT, True)]
    order = await place(buyer, station, o, qty=2)
    oid = order["id"]
    assert order["lines"][0]["unit_price"] == PRICE and order["total_fen"] == 4000
    assert (await Sku.get(id=sku.id)).stock == 8  # reserved at checkout, as any order

    dep = await pay(buyer, f"/api/v1/orders/{oid}/pay")
    assert (dep.part, dep.amount_fen, dep.out_trade_no) == ("deposit", 1000, order["order_no"])
    o1 = await Order.get(id=oid)
    assert (o1.status, o1.paid_fen) == ("deposit_paid", 1000)
    await assert_ledger(oid)
    assert {e.kind: e.amount_fen for e in await LedgerEntry.filter(order_id=oid)} == {"presale_deposit": 1000}
    r = (await buyer.get(f"/api/v1/presale/orders/{oid}")).json()
    assert (r["stage"], r["deposit_fen"], r["balance_fen"], r["paid_fen"]) == ("deposit_paid", 1000, 3000, 1000)
    hours = runtime.settings().fulfillment_county_village_hours
    assert datetime.fromisoformat(r["arrives_by"]) == datetime.fromisoformat(o["ship_from"]) + timedelta(hours=hours)

    bal = await pay(buyer, f"/api/v1/presale/orders/{oid}/balance/pay")
    assert (bal.part, bal.amount_fen, bal.out_trade_no) == ("balance", 3000, order["order_no"] + "B")
    o2 = await Order.get(id=oid)
    assert (o2.status, o2.paid_fen) == ("paid", 4000)
    await assert_ledger(oid)
    assert sum(e.amount_fen for e in await LedgerEntry.filter(order_id=oid, account_type="merchant")) > 0
    assert (await Sku.get(id=sku.id)).sales == 2

    # the balance twice: refused with the reason
    r = await buyer.post(f"/api/v1/presale/orders/{oid}/balance/pay")
    assert r.status_code == 409 and r.json()["error"]["code"] == "presale_balance_already_paid", r.text

    # ship-from in 3 days: the warehouse does not get it before (not by the job, not by the sweeper)
    assert await fulfillment.handoff(oid) is None
    assert oid not in await fulfillment.paid_orders_without_task()
    assert not await FulfillmentTask.filter(order_id=oid).exists()
    clock.shift(timedelta(days=3, minutes=1))
    try:
        assert oid in await fulfillment.paid_orders_without_task()
        assert await fulfillment.handoff(oid) is not None
    finally:
        clock.reset()
    assert (await Order.get(id=oid)).status == "in_fulfilment"


@pytest.mark.usefixtures("pay_api")
async def test_refund_of_both_parts_splits_across_the_payments_and_reconciles(client, buyer, station):
    o, sku, order, dep, bal = await deposit_and_balance(client, buyer, station, qty=2)
    oid = order["id"]
    r = await buyer.post(f"/api/v1/orders/{oid}/refunds", json={})  # everything: 4000 = 3000 + 1000
    assert r.status_code == 201, r.text
    parent = await refund_done(r.json()["id"])
    assert parent.status == "succeeded", parent.error
    parts = await Refund.filter(parent_id=parent.id).order_by("id")
    assert [(p.payment_id, p.amount_fen, p.status) for p in parts] == \
        [(bal.id, 3000, "succeeded"), (dep.id, 1000, "succeeded")]
    o1 = await Order.get(id=oid)
    assert (o1.status, o1.refunded_fen) == ("closed", 4000)
    # the buyer asked for one refund and sees that one (not its parts, one per payment)
    mine = (await buyer.get(f"/api/v1/orders/{oid}/refunds")).json()
    assert [(x["id"], x["amount_fen"], x["status"]) for x in mine] == [(parent.id, 4000, "succeeded")]
    assert (await Sku.get(id=sku.id)).stock == 10  # never left the warehouse: back on the shelf
    await assert_ledger(oid)
    assert sum(await LedgerEntry.filter(order_id=oid).values_list("amount_fen", flat=True)) == 0

    day = clock.local_today()
    ours = await reconcile._ours(day, [])
    assert {("payment", dep.out_trade_no), ("payment", bal.out_trade_no)} <= set(ours)
    assert {("refund", p.refund_no) for p in parts} <= set(ours) and ("refund", parent.refund_no) not in ours
    clock.shift(timedelta(days=1))  # the next morning: the day's bill exists
    try:
        await reconcile.run(day)
    finally:
        clock.reset()
    refs = [dep.out_trade_no, bal.out_trade_no, parent.refund_no] + [p.refund_no for p in parts]
    assert await ReconcileDifference.filter(bill_date=day, ref__in=refs).count() == 0


@pytest.mark.usefixtures("pay_api")
async def test_refund_of_the_balance_part_only(client, buyer, station):
    o, sku, order, dep, bal = await deposit_and_balance(client, buyer, station, qty=2)
    oid, line = order["id"], order["lines"][0]
    r = await buyer.post(f"/api/v1/orders/{oid}/refunds", json={"lines": [{"line_id": line["id"], "quantity": 1}]})
    assert r.status_code == 201, r.text
    refund = await refund_done(r.json()["id"])
    assert (refund.status, refund.payment_id, refund.amount_fen) == ("succeeded", bal.id, 2000)
    assert not await Refund.filter(parent_id=refund.id).exists()
    o1 = await Order.get(id=oid)
    assert (o1.status, o1.refunded_fen) == ("paid", 2000)
    await assert_ledger(oid)
    # the other unit: 1000 left on the balance, 1000 on the deposit -> two parts
    r = await buyer.post(f"/api/v1/orders/{oid}/refunds", json={"lines": [{"line_id": line["id"], "quantity": 1}]})
    second = await refund_done(r.json()["id"])
    assert second.status == "succeeded"
    assert sorted((p.payment_id, p.amount_fen) for p in await Refund.filter(parent_id=second.id)) == \
        sorted([(bal.id, 1000), (dep.id, 1000)])
    assert (await Order.get(id=oid)).status == "closed"
    await assert_ledger(oid)


@pytest.mark.usefixtures("pay_api")
async def test_refund_of_the_deposit_before_the_balance(client, buyer, station):
    o, sku, _ = await offer(client)
    order = await place(buyer, station, o, qty=3)
    oid = order["id"]
    dep = await pay(buyer, f"/api/v1/orders/{oid}/pay")
    other = await login(client)
    r = await other.post(f"/api/v1/presale/orders/{oid}/deposit/refund", json={})
    assert r.status_code == 404  # not theirs
    r = await buyer.post(f"/api/v1/presale/orders/{oid}/deposit/refund", json={"reason": "不要了"})
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "cancelled" and r.json()["outcome"] == "deposit_refunded"
    assert (await Sku.get(id=sku.id)).stock == 10
    refund = await Refund.get(order_id=oid, kind="deposit")
    refund = await refund_done(refund.id)
    assert (refund.status, refund.payment_id, refund.amount_fen) == ("succeeded", dep.id, 1500)
    o1 = await Order.get(id=oid)
    assert (o1.paid_fen, o1.refunded_fen) == (1500, 1500)
    await assert_ledger(oid)
    r = await buyer.post(f"/api/v1/presale/orders/{oid}/balance/pay")
    assert r.status_code == 409, r.text
    r = await buyer.post(f"/api/v1/presale/orders/{oid}/deposit/refund", json={})
    assert r.status_code == 409 and r.json()["error"]["code"] == "presale_not_in_deposit_stage"


@pytest.mark.usefixtures("pay_api")
@pytest.mark.parametrize("refund_deposit", [False, True])
async def test_balance_after_the_deadline_is_refused_and_the_order_ends(client, buyer, station, monkeypatch,
                                                                         refund_deposit):
    monkeypatch.setattr(runtime.settings(), "presale_refund_deposit_on_default", refund_deposit)
    o, sku, _ = await offer(client)
    order = await place(buyer, station, o, qty=2)
    oid = order["id"]
    await pay(buyer, f"/api/v1/orders/{oid}/pay")
    assert (await Sku.get(id=sku.id)).stock == 8
    clock.shift(timedelta(days=2, minutes=1))
    try:
        r = await buyer.post(f"/api/v1/presale/orders/{oid}/balance/pay")
        assert r.status_code == 409 and r.json()["error"]["code"] == "presale_balance_closed", r.text
        assert oid in await presale.due_balances()
        assert await presale.expire_balance(oid) == ("deposit_refunded" if refund_deposit else "deposit_kept")
        assert await presale.expire_balance(oid) == "skip"  # once
        r = await buyer.post(f"/api/v1/presale/orders/{oid}/balance/pay")
        assert r.status_code == 409 and r.json()["error"]["code"] == "presale_balance_closed", r.text
    finally:
        clock.reset()
    o1 = await Order.get(id=oid)
    assert (o1.status, o1.cancel_reason) == ("cancelled", "presale_balance_unpaid")
    assert (await Sku.get(id=sku.id)).stock == 10
    if refund_deposit:
        refund = await refund_done((await Refund.get(order_id=oid, kind="deposit")).id)
        assert refund.status == "succeeded"
        assert (await Order.get(id=oid)).refunded_fen == 1000
    else:
        kept = {e.kind: e.amount_fen for e in await LedgerEntry.filter(order_id=oid, account_type="merchant")}
        assert kept["merchant_share"] > 0 and not await Refund.filter(order_id=oid).exists()
    await assert_ledger(oid)


@pytest.mark.usefixtures("pay_api")
async def test_full_payment_presale(client, buyer, station):
    o, sku, _ = await offer(client, mode="full")
    order = await place(buyer, station, o, qty=1, mode="full")
    p = await pay(buyer, f"/api/v1/orders/{order['id']}/pay")
    assert (p.part, p.amount_fen) == ("", PRICE)
    assert (await Order.get(id=order["id"])).status == "paid"
    assert await fulfillment.handoff(order["id"]) is None  # ship-from not reached
    await assert_ledger(order["id"])
    r = await buyer.post(f"/api/v1/presale/orders/{order['id']}/balance/pay")
    assert r.status_code == 409


async def test_bad_input(client, buyer, station):
    o, sku, merchant = await offer(client)
    now = clock.now()
    base = {"sku_id": sku.id, "mode": "deposit", "price_fen": PRICE, "deposit_fen": 1500,
            "starts_at": (now + timedelta(days=5)).isoformat(), "ends_at": (now + timedelta(days=6)).isoformat(),
            "balance_starts_at": (now + timedelta(days=6)).isoformat(),
            "balance_ends_at": (now + timedelta(days=7)).isoformat(), "ship_from": (now + timedelta(days=8)).isoformat()}
    r = await merchant.post("/api/v1/merchant/presales", json=base)  # a 75% deposit
    assert r.status_code == 422 and "deposit_fen" in r.text, r.text
    r = await merchant.post("/api/v1/merchant/presales", json=base | {"deposit_fen": 500, "balance_ends_at": base["starts_at"]})
    assert r.status_code == 422 and "balance_ends_at" in r.text, r.text
    r = await merchant.post("/api/v1/merchant/presales", json=base | {"deposit_fen": 500, "price_fen": 99999})
    assert r.status_code == 422 and "price_fen" in r.text, r.text
    r = await merchant.post("/api/v1/merchant/presales", json=base | {"deposit_fen": 500, "starts_at": now.isoformat()})
    assert r.status_code == 409 and r.json()["error"]["code"] == "presale_offer_overlaps", r.text
    foreign = await make_sku()
    r = await merchant.post("/api/v1/merchant/presales", json=base | {"deposit_fen": 500, "sku_id": foreign.id})
    assert r.status_code == 422 and "sku_id" in r.text
    # checkout: wrong mode, wrong SKU, a pending offer, a missing offer
    src = {"kind": "presale", "offer_id": o["id"], "mode": "full"}
    r = await checkout(buyer, pickup_body(station.id, (sku.id, 1), source=src))
    assert r.status_code == 422 and "source.mode" in r.text, r.text
    r = await checkout(buyer, pickup_body(station.id, (foreign.id, 1), source=src | {"mode": "deposit"}))
    assert r.status_code == 422 and "lines" in r.text, r.text
    r = await checkout(buyer, pickup_body(station.id, (sku.id, 1), source={"kind": "presale", "mode": "deposit"}))
    assert r.status_code == 422 and "source.offer_id" in r.text, r.text
    pending, psku, _ = await offer(client, approve=False)
    r = await checkout(buyer, pickup_body(station.id, (psku.id, 1),
                                          source={"kind": "presale", "offer_id": pending["id"], "mode": "deposit"}))
    assert r.status_code == 409 and r.json()["error"]["code"] == "presale_offer_not_open", r.text
    assert (await Sku.get(id=psku.id)).stock == 10  # nothing reserved
    # a foreign order, the balance before the deposit, cash refused
    order = await place(buyer, station, o, qty=1)
    other = await login(client)
    assert (await other.get(f"/api/v1/presale/orders/{order['id']}")).status_code == 404
    assert (await other.post(f"/api/v1/presale/orders/{order['id']}/balance/pay")).status_code == 404
    r = await merchant.get("/api/v1/merchant/presales")
    assert [x["id"] for x in r.json()["items"]] == [o["id"]]
    other_merchant = await login_as(client, "merchant", merchant_id=(await foreign.product).merchant_id)
    assert (await other_merchant.post(f"/api/v1/merchant/presales/{o['id']}/end")).status_code == 404
    admin = await login_as(client, "admin")
    r = await admin.post(f"/api/v1/console/presales/{o['id']}/review", json={"approve": False})
    assert r.status_code == 409 and r.json()["error"]["code"] == "presale_offer_not_pending"
    with pytest.raises(Conflict) as exc:
        await payments.record_cash_payment(order["id"], station_id=station.id, actor_id=None)
    assert exc.value.code == "presale_cash_not_accepted"


@pytest.mark.usefixtures("pay_api")
async def test_the_deadline_sweep_applies_a_balance_whose_notification_was_lost(client, buyer, station, monkeypatch):
    o, sku, _ = await offer(client)
    order = await place(buyer, station, o, qty=1)
    oid = order["id"]
    await pay(buyer, f"/api/v1/orders/{oid}/pay")
    real_url = payments.notify_url
    monkeypatch.setattr(payments, "notify_url", lambda: "http://127.0.0.1:9/nowhere")  # WeChat cannot reach us
    r = await buyer.post(f"/api/v1/presale/orders/{oid}/balance/pay")
    assert r.status_code == 200, r.text
    r2 = await client.post(sim("/pay"), json={"out_trade_no": r.json()["out_trade_no"]})
    assert r2.status_code == 200 and not r2.json()["delivered"]
    monkeypatch.setattr(payments, "notify_url", real_url)
    assert (await Order.get(id=oid)).status == "deposit_paid"
    clock.shift(timedelta(days=2, minutes=1))
    try:
        out = await presale_jobs.sweep_balances({})
    finally:
        clock.reset()
    assert out.get("skip", 0) >= 1, out
    o1 = await Order.get(id=oid)
    assert (o1.status, o1.paid_fen) == ("paid", PRICE)
    assert (await Sku.get(id=sku.id)).stock == 9
    await assert_ledger(oid)


async def test_a_split_refund_refused_by_wechat_fails_and_the_office_retry_resends_its_parts(client, buyer, station):
    admin = await login_as(client, "admin")
    o, sku, order, dep, bal = await deposit_and_balance(client, buyer, station, qty=1)
    oid = order["id"]
    r = await client.post("/__sim__/wechatpay/faults", json={"api": "refund", "err_code": "NOTENOUGH"})
    assert r.status_code == 200, r.text
    try:
        rid = (await buyer.post(f"/api/v1/orders/{oid}/refunds", json={})).json()["id"]
        parent = await refund_done(rid)
        assert parent.status == "failed", parent.__dict__
        assert [p.status for p in await Refund.filter(parent_id=rid)].count("failed") >= 1
        assert (await Order.get(id=oid)).refunded_fen == 0
    finally:
        await client.delete("/__sim__/wechatpay/faults")
    r = await admin.post(f"/api/v1/console/refunds/{rid}/retry")
    assert r.status_code == 200, r.text

    async def succeeded():
        return (await Refund.get(id=rid)).status == "succeeded"
    assert await wait_for(succeeded, timeout=10), (await Refund.get(id=rid)).__dict__
    parts = await Refund.filter(parent_id=rid).order_by("id")
    assert [(p.payment_id, p.amount_fen, p.status) for p in parts] == \
        [(bal.id, PRICE - DEPOSIT, "succeeded"), (dep.id, DEPOSIT, "succeeded")]
    o1 = await Order.get(id=oid)
    assert (o1.status, o1.refunded_fen) == ("closed", PRICE)
    await assert_ledger(oid)


@pytest.mark.usefixtures("pay_api")
async def test_the_buyer_is_reminded_once_when_the_balance_window_opens(client, buyer, station):
    """The pre-sale sweep owes each deposit order one subscribe message (尾款支付提醒) once its balance
    window has opened, sent through the notify outbox; a second sweep owes nothing more, and an order
    whose balance is already paid is not reminded."""
    now = clock.now()
    o, sku, merchant = await offer(client, balance_starts_at=now + timedelta(hours=1))
    order = await place(buyer, station, o, qty=2)
    oid = order["id"]
    await pay(buyer, f"/api/v1/orders/{oid}/pay")
    assert (await presale_jobs.sweep_balances(None)).get("reminded") == 0  # the window is not open yet
    assert not await NotifyOutbox.filter(moment="presale_balance_open", order_id=oid).exists()
    clock.shift(timedelta(hours=1, minutes=1))
    try:
        assert (await presale_jobs.sweep_balances(None))["reminded"] >= 1
        assert oid not in await presale.remind_open_balances()  # a second sweep owes it nothing more
    finally:
        clock.reset()
    rows = await NotifyOutbox.filter(moment="presale_balance_open", order_id=oid)
    assert len(rows) == 1 and rows[0].ref == f"order:{oid}"

    async def sent():
        return (await NotifyOutbox.get(id=rows[0].id)).status == "done"
    assert await wait_for(sent)
    row = await NotifyOutbox.get(id=rows[0].id)
    assert (row.wechat, row.attempts) == ("sent", 1)
    openid = (await User.get(id=buyer.id)).openid
    r = await client.get("/__sim__/wechat/subscribe-messages", params={"touser": openid})
    tid = registry.MOMENTS["presale_balance_open"].template_id()
    msgs = [m for m in r.json()["items"] if m["template_id"] == tid]
    assert len(msgs) == 1
    v = {k: x["value"] for k, x in msgs[0]["data"].items()}
    assert (v["character_string1"], v["amount3"]) == (order["order_no"], "¥30.00")  # 2 × (2000 - 500) fen
    assert msgs[0]["page"].endswith(f"?id={oid}&v=balance")
    # the balance paid before the window's sweep: no reminder for that order
    clock.shift(timedelta(hours=1, minutes=1))
    try:
        await pay(buyer, f"/api/v1/presale/orders/{oid}/balance/pay")
    finally:
        clock.reset()
    o2, _, _ = await offer(client, balance_starts_at=now - timedelta(minutes=5))
    paid_first = await place(buyer, station, o2, qty=1)
    await pay(buyer, f"/api/v1/orders/{paid_first['id']}/pay")
    await pay(buyer, f"/api/v1/presale/orders/{paid_first['id']}/balance/pay")
    await presale_jobs.sweep_balances(None)
    assert not await NotifyOutbox.filter(moment="presale_balance_open", order_id=paid_first["id"]).exists()
    assert await NotifyOutbox.filter(moment="presale_balance_open", order_id=oid).count() == 1


async def test_the_presale_screen_asks_for_the_balance_reminder(client, settings):
    r = await client.get("/api/v1/subscribe-templates", params={"scene": "presale_deposit"})
    assert r.status_code == 200
    assert r.json()["template_ids"] == [settings.wechat_presale_balance_template_id]


@pytest.mark.usefixtures("pay_api")
async def test_the_balance_paid_twice_at_once_is_taken_once_and_the_other_refunded(client, buyer, station,
                                                                                 monkeypatch):
    """Two balance attempts at once (the buyer taps twice: one prepay order …B), then the balance paid
    twice at WeChat — the buyer's JSAPI …B and a station's NATIVE …BN code — with both notifications (and
    a retry of one) arriving at once: the order takes one balance, the other payment is stray and
    refunded in full; sales, ledger and the order's paid amount count one balance. On PostgreSQL the two
    notifications are made to meet inside their transactions, so the order's guarded transition decides."""
    o, sku, _ = await offer(client)
    order = await place(buyer, station, o, qty=2)
    oid, balance = order["id"], 2 * (PRICE - DEPOSIT)
    await pay(buyer, f"/api/v1/orders/{oid}/pay")

    rs = await asyncio.gather(*[buyer.post(f"/api/v1/presale/orders/{oid}/balance/pay") for _ in range(2)])
    assert [r.status_code for r in rs] == [200, 200], [r.text for r in rs]
    jsapi = {r.json()["out_trade_no"] for r in rs}
    assert jsapi == {order["order_no"] + "B"}
    native = (await payments.create_native_payment(oid, actor_id=None)).out_trade_no
    assert native == order["order_no"] + "BN"
    assert await Payment.filter(order_id=oid, part="balance").count() == 2

    met, real = asyncio.Barrier(2), presale.apply_payment
    overlapped = []

    async def meet_then_apply(order_, payment, amount, actor_id, conn):
        if payment.part == "balance":  # both hold their own payment row and now reach the order together
            await asyncio.wait_for(met.wait(), 10)
            overlapped.append(payment.out_trade_no)
        return await real(order_, payment, amount, actor_id, conn)
    if PG_URL:  # the embedded SQLite runs one write transaction at a time: there they come one by one
        monkeypatch.setattr(presale, "apply_payment", meet_then_apply)

    otn_jsapi = jsapi.pop()
    # both paid at WeChat (each notification sent at once), and one of them delivered a second time
    paid = [client.post(sim("/pay"), json={"out_trade_no": otn}) for otn in (otn_jsapi, native)]
    rs = await asyncio.gather(*paid, post_notification(client, *signed_notification(otn_jsapi, balance)))
    assert [r.status_code for r in rs[:2]] == [200, 200] and all(r.json()["delivered"] for r in rs[:2])
    assert reply_code(rs[2]) == "SUCCESS"
    if PG_URL:
        assert sorted(overlapped) == sorted([otn_jsapi, native])  # they really met

    parts = await Payment.filter(order_id=oid, part="balance").order_by("id")
    assert sorted(p.status for p in parts) == ["paid", "stray"]
    stray = next(p for p in parts if p.status == "stray")
    outcomes = await PaymentNotification.filter(out_trade_no__in=[otn_jsapi, native]).values_list("outcome", flat=True)
    assert sorted(outcomes) == ["applied", "duplicate", "stray"]
    o1 = await Order.get(id=oid)
    assert (o1.status, o1.paid_fen, o1.refunded_fen) == ("paid", PRICE * 2, 0)
    assert await OrderEvent.filter(order_id=oid, to_status="paid").count() == 1
    s = await Sku.get(id=sku.id)
    assert (s.stock, s.sales) == (8, 2)
    refund = await Refund.get(order_id=oid, kind="stray")
    assert (refund.payment_id, refund.amount_fen) == (stray.id, balance)
    assert (await refund_done(refund.id)).status == "succeeded"
    assert (await Order.get(id=oid)).refunded_fen == 0  # the stray money never reached the order
    await assert_ledger(oid)
    assert await LedgerEntry.filter(order_id=oid, kind="presale_deposit_release").count() == 1
    r = await buyer.post(f"/api/v1/presale/orders/{oid}/balance/pay")
    assert r.status_code == 409 and r.json()["error"]["code"] == "presale_balance_already_paid", r.text


@pytest.mark.usefixtures("pay_api")
async def test_a_deposit_presale_takes_no_coupon_a_full_payment_one_does(client, buyer, station):
    """A coupon on a deposit order would leave the offer's fixed deposit above what the order costs (a
    negative balance, the buyer overcharged): refused naming coupon_ids, nothing reserved or spent. A
    full-payment pre-sale is one payment: the coupon comes off it as off any order."""
    o, sku, _ = await offer(client)
    uc = await claim(buyer, (await make_coupon(amount_fen=1900)).id)
    r = await checkout(buyer, pickup_body(station.id, (o["sku_id"], 1), coupon_ids=[uc],
                                          source={"kind": "presale", "offer_id": o["id"], "mode": "deposit"}))
    assert r.status_code == 409 and r.json()["error"]["code"] == "presale_deposit_no_coupon", r.text
    assert r.json()["error"]["details"][0]["field"] == "coupon_ids"
    assert not await Order.filter(buyer_id=buyer.id).exists()
    assert (await Sku.get(id=sku.id)).reserved == 0
    assert (await UserCoupon.get(id=uc)).status == "available"

    full, fsku, _ = await offer(client, mode="full")
    r = await checkout(buyer, pickup_body(station.id, (full["sku_id"], 1), coupon_ids=[uc],
                                          source={"kind": "presale", "offer_id": full["id"], "mode": "full"}))
    assert r.status_code == 201, r.text
    order = r.json()
    assert (order["goods_fen"], order["discount_fen"], order["total_fen"]) == (PRICE, 1900, PRICE - 1900)
    p = await pay(buyer, f"/api/v1/orders/{order['id']}/pay")
    assert (p.part, p.amount_fen) == ("", PRICE - 1900)
    assert (await Order.get(id=order["id"])).status == "paid"
    await assert_ledger(order["id"])


@pytest.mark.skipif(not PG_URL, reason="row locks: PostgreSQL")
@pytest.mark.usefixtures("pay_api")
async def test_the_deposit_given_back_while_the_balance_notification_arrives(client, buyer, station, monkeypatch):
    """The buyer gives the deposit back while WeChat tells us the balance was paid: the notification
    reaches the order only while the refund holds it (whichever came first); the refund wins, the balance
    is stray and refunded in full, the order ends cancelled with both payments back, the stock on the shelf."""
    o, sku, _ = await offer(client)
    order = await place(buyer, station, o, qty=1)
    oid = order["id"]
    dep = await pay(buyer, f"/api/v1/orders/{oid}/pay")
    otn = (await buyer.post(f"/api/v1/presale/orders/{oid}/balance/pay")).json()["out_trade_no"]

    arrived, locked = asyncio.Event(), asyncio.Event()
    real_end, real_apply = presale._end_deposit_order, presale.apply_payment

    async def end_then_wait(order_id, **kw):
        out = await real_end(order_id, **kw)
        locked.set()  # the order row stays locked by this transaction until the notification is at it
        await asyncio.wait_for(arrived.wait(), 10)
        return out

    async def apply_after_arrival(order_, payment, amount, actor_id, conn):
        arrived.set()  # the balance payment row is ours; the order only once the refund holds it
        await asyncio.wait_for(locked.wait(), 10)
        return await real_apply(order_, payment, amount, actor_id, conn)
    monkeypatch.setattr(presale, "_end_deposit_order", end_then_wait)
    monkeypatch.setattr(presale, "apply_payment", apply_after_arrival)

    give_back = buyer.post(f"/api/v1/presale/orders/{oid}/deposit/refund", json={})
    r, paid = await asyncio.gather(give_back, client.post(sim("/pay"), json={"out_trade_no": otn}))
    assert r.status_code == 200 and r.json()["outcome"] == "deposit_refunded", r.text
    assert paid.status_code == 200 and paid.json()["delivered"], paid.text
    assert arrived.is_set() and locked.is_set()
    bal = await Payment.get(out_trade_no=otn)
    assert bal.status == "stray"
    for kind, payment_id, amount in (("deposit", dep.id, DEPOSIT), ("stray", bal.id, PRICE - DEPOSIT)):
        refund = await Refund.get(order_id=oid, kind=kind)
        assert (refund.payment_id, refund.amount_fen) == (payment_id, amount)
        assert (await refund_done(refund.id)).status == "succeeded"
    o1 = await Order.get(id=oid)
    assert (o1.status, o1.paid_fen, o1.refunded_fen) == ("cancelled", DEPOSIT, DEPOSIT)
    assert (await Sku.get(id=sku.id)).stock == 10
    await assert_ledger(oid)
