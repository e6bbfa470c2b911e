"""The daily reconciliation with WeChat Pay's trade bill: the simulator serves the v2 downloadbill in
WeChat's format, the comparison records each injected difference once, and the office lists and
resolves them."""
import secrets
from datetime import timedelta

import pytest

from server.integrations.wechatpay_gateway import gateway
from server.kit import clock
from server.models.payments import Payment, ReconcileDifference
from server.reconcile import service as reconcile
from server.reconcile.bill import BillFormatError, parse_bill
from tests.conftest import login_as
from tests.orders.conftest import checkout, make_sku, pay_and_notify, pickup_body, sim
from tests.orders.test_payments import no_handoff  # noqa: F401 - fixture
from tests.conftest import wait_for

# WeChat's documented example, shortened to two trades and a refund (the ALL bill).
SAMPLE = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,"
    "应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,"
    "手续费,费率,订单金额,申请退款金额,费率备注\r\n"
    "`2014-11-10 16:33:45,`wx2421b1c4370ec43b,`10000100,`0,`1000,`1001690740201411100005734289,`1415640626,"
    "`085e9858e3ba5186aafcbaed1,`MICROPAY,`SUCCESS,`CFT,`CNY,`0.01,`0.0,`0,`0,`0,`0,`,`,`被扫支付测试,`订单额外描述,"
    "`0,`0.60%,`0.01,`0.00,`\r\n"
    "`2014-11-10 16:46:14,`wx2421b1c4370ec43b,`10000100,`0,`1000,`1002780740201411100005729794,`1415635270,"
    "`085e9858e90ca40c0b5aee463,`MICROPAY,`SUCCESS,`CFT,`CNY,`123.45,`0.0,`0,`0,`0,`0,`,`,`被扫支付测试,`订单额外描述,"
    "`0,`0.60%,`123.45,`0.00,`\r\n"
    "`2014-11-11 09:02:10,`wx2421b1c4370ec43b,`10000100,`0,`1000,`1002780740201411100005729794,`1415635270,"
    "`085e9858e90ca40c0b5aee463,`MICROPAY,`REFUND,`CFT,`CNY,`0.00,`0.0,`2008450740201411110000174436,`RF1415635270,"
    "`20.00,`0.00,`ORIGINAL,`SUCCESS,`被扫支付测试,`订单额外描述,`-0.12,`0.60%,`0.00,`20.00,`\r\n"
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n"
    "`3,`123.46,`20.00,`0.00,`0,`123.46,`20.00\r\n")


def test_the_v2_bill_is_read_as_wechat_documents_it():
    rows = parse_bill(SAMPLE)
    assert [(r.kind, r.ref, r.out_trade_no, r.amount_fen, r.status) for r in rows] == [
        ("payment", "1415640626", "1415640626", 1, "SUCCESS"),
        ("payment", "1415635270", "1415635270", 12345, "SUCCESS"),
        ("refund", "RF1415635270", "1415635270", 2000, "SUCCESS")]
    assert rows[0].at.utcoffset() == timedelta(hours=8)
    assert parse_bill("") == []
    with pytest.raises(BillFormatError):
        parse_bill(SAMPLE.replace("`0.60%,`0.01,", "`0.60%,`0.011,", 1))
    with pytest.raises(BillFormatError):
        parse_bill("a,b,c\r\n`1,`2,`3\r\n")


async def test_daily_reconciliation_records_each_injected_difference(client, buyer, station, no_handoff, pay_api):
    admin = await login_as(client, "admin")

    async def paid():
        sku = await make_sku(price=1234, stock=5)
        oid = (await checkout(buyer, pickup_body(station.id, (sku.id, 1)))).json()["id"]
        assert (await pay_and_notify(buyer, oid))["delivered"]
        return oid, await Payment.get(order_id=oid, status="paid")

    (_, clean), (_, amount), (_, status) = [await paid() for _ in range(3)]
    refunded_oid, _ = await paid()
    rid = (await buyer.post(f"/api/v1/orders/{refunded_oid}/refunds", json={})).json()["id"]
    from server.models.payments import Refund

    async def refunded():
        return (await Refund.get(id=rid)).status == "succeeded"

    assert await wait_for(refunded)
    refund_no = (await Refund.get(id=rid)).refund_no
    # Injected: an amount we hold wrongly, a payment we think unpaid, one WeChat never saw, one we never saw.
    await Payment.filter(id=amount.id).update(amount_fen=1235)
    await Payment.filter(id=status.id).update(status="closed")
    sku = await make_sku(stock=5)
    ghost_order = (await checkout(buyer, pickup_body(station.id, (sku.id, 1)))).json()["id"]
    ghost = await Payment.create(order_id=ghost_order, method="wechat_jsapi", out_trade_no="GHOST" + secrets.token_hex(6),
                                 amount_fen=1000, status="paid", paid_at=clock.now())
    stranger = "STRANGER" + secrets.token_hex(6)
    await gateway().prepay(trade_type="NATIVE", description="x", out_trade_no=stranger, amount_fen=4321,
                                  notify_url="http://127.0.0.1:9/nowhere", client_ip="127.0.0.1",
                                  time_expire=clock.now() + timedelta(hours=1), product_id="1")
    assert (await client.post(sim("/pay"), json={"out_trade_no": stranger})).status_code == 200

    r = await admin.post("/api/v1/console/reconciliation/run", json={})  # yesterday's bill: none yet
    assert r.status_code == 200, r.text
    r = await admin.post("/api/v1/console/reconciliation/run", json={"bill_date": str(clock.local_today())})
    assert r.status_code == 409 and r.json()["error"]["code"] == "bill_not_ready"
    day = clock.local_today()
    clock.shift(timedelta(days=1))  # the next morning: today's bill exists
    try:
        run = await reconcile.run()
        again = await reconcile.run(day)
    finally:
        clock.reset()
    assert run.bill_date == day and run.bill_rows >= 6 and run.new >= 4
    assert again.new == 0  # a run again records nothing twice
    found = {(d.kind, d.ref): (d.issue, d.ours_fen, d.wechat_fen, d.ours_status, d.wechat_status)
             for d in await ReconcileDifference.filter(bill_date=day)}
    assert found[("payment", amount.out_trade_no)] == ("amount", 1235, 1234, "SUCCESS", "SUCCESS")
    assert found[("payment", status.out_trade_no)] == ("status", 1234, 1234, "closed", "SUCCESS")
    assert found[("payment", ghost.out_trade_no)] == ("missing_wechat", 1000, None, "SUCCESS", "")
    assert found[("payment", stranger)] == ("missing_ours", None, 4321, "", "SUCCESS")
    assert ("payment", clean.out_trade_no) not in found and ("refund", refund_no) not in found
    assert await ReconcileDifference.filter(bill_date=day, ref__in=[amount.out_trade_no, status.out_trade_no,
                                                                    ghost.out_trade_no, stranger]).count() == 4

    # the office lists the open ones, resolves one (audited, again the same answer)
    r = await admin.get("/api/v1/console/reconciliation/differences", params={"resolved": "false",
                                                                             "bill_date": str(day), "limit": 100})
    assert r.status_code == 200, r.text
    listed = {d["ref"]: d for d in r.json()["items"]}
    assert {amount.out_trade_no, stranger} <= set(listed)
    diff_id = listed[stranger]["id"]
    assert (await buyer.get("/api/v1/console/reconciliation/differences")).status_code == 403
    async def open_differences() -> int:
        alerts = {a["kind"]: a for a in (await admin.get("/api/v1/console/alerts")).json()["items"]}
        return alerts["reconcile_difference"]["count"] if "reconcile_difference" in alerts else 0

    before = await open_differences()
    assert before >= 4  # the alert counts every open difference (other days' too)
    url = f"/api/v1/console/reconciliation/differences/{diff_id}/resolve"
    assert (await admin.post(url, json={"note": ""})).status_code == 422
    r = await admin.post(url, json={"note": "测试商户号的订单，与本平台无关"})
    assert r.status_code == 200 and r.json()["resolved_at"] and r.json()["resolved_by"] == admin.id
    again_r = await admin.post(url, json={"note": "再次"})
    assert again_r.status_code == 200 and again_r.json()["resolution_note"] == "测试商户号的订单，与本平台无关"
    assert await open_differences() == before - 1
    r = await admin.get("/api/v1/console/reconciliation/differences", params={"resolved": "false",
                                                                             "bill_date": str(day), "limit": 100})
    assert stranger not in {d["ref"] for d in r.json()["items"]}
    assert (await admin.post("/api/v1/console/reconciliation/differences/999999999/resolve",
                             json={"note": "x"})).status_code == 404


async def test_the_daily_job_runs_once_the_hour_has_come(client, monkeypatch):
    from jobs import reconcile as job
    from server.kit import runtime

    calls = []

    async def run(day=None):
        calls.append(day)
        return reconcile.RunOut(bill_date=day, source="v2", bill_rows=0, differences=0, new=0)

    monkeypatch.setattr(reconcile, "run", run)
    s = runtime.settings()
    monkeypatch.setattr(s, "reconcile_hour_local", 23)
    local = clock.now().astimezone(clock.SHANGHAI)
    clock.shift(timedelta(days=3, hours=22 - local.hour))  # 22:xx local, three days on: not yet
    try:
        assert await job.reconcile_daily(None) is None and calls == []
        clock.shift(timedelta(hours=1))
        first = await job.reconcile_daily(None)
        second = await job.reconcile_daily(None)  # done already: the hourly cron does not run it twice
    finally:
        clock.reset()
    assert first["bill_date"] == str(calls[0]) and second is None and len(calls) == 1
    assert calls[0] == (local + timedelta(days=3, hours=23 - local.hour)).date() - timedelta(days=1)

