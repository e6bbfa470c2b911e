"""WeChat Pay: prepay, notifications (verified, stored, applied once), late payments, query and close."""
import asyncio
import secrets
from datetime import timedelta

import base64

import orjson
import pytest
import xmltodict
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from wechatpy.pay.utils import calculate_signature, dict_to_xml

from server.integrations.simulators import wechatpay_v3 as sim_v3
from server.kit import clock, runtime
from server.ledger import service as ledger
from server.models.ledger import LedgerEntry
from server.models.orders import Order, OrderEvent
from server.models.payments import Payment, PaymentNotification, Refund
from tests.orders.conftest import checkout, make_sku, pay_and_notify, pickup_body, sim
from tests.conftest import wait_for

pytestmark = pytest.mark.usefixtures("pay_api")  # every test on WeChat Pay v2 and on v3


def v3() -> bool:
    return runtime.settings().wechat_pay_api_version == "v3"


def notify_path() -> str:
    return "/api/v1/pay/wechat/v3/notify" if v3() else "/api/v1/pay/wechat/notify"


def signed_notification(out_trade_no: str, total_fee: int, **kw) -> tuple[dict, str]:
    """A payment notification signed as WeChat signs it for the version in use: (headers, body)."""
    if v3():
        return v3_notification(out_trade_no, total_fee, **kw)
    return {}, v2_notification(out_trade_no, total_fee, **kw)


def v3_notification(out_trade_no: str, total: int, *, bad_key: bool = False, appid: str | None = None,
                    mchid: str | None = None, transaction_id: str | None = None, result_code: str = "SUCCESS",
                    **sign) -> tuple[dict, str]:
    s = runtime.settings()
    resource = {"appid": appid or s.wechat_app_id, "mchid": mchid or s.wechat_mch_id, "out_trade_no": out_trade_no,
                "transaction_id": transaction_id or "4200" + secrets.token_hex(10), "trade_type": "JSAPI",
                "trade_state": "SUCCESS" if result_code == "SUCCESS" else "PAYERROR", "bank_type": "OTHERS",
                "success_time": "2026-11-29T12:00:00+08:00", "payer": {"openid": "o-x"},
                "amount": {"total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY"}}
    if bad_key:
        sign["key"] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return sim_v3.make_notification("TRANSACTION.SUCCESS", "支付成功", "transaction", resource, **sign)


def v2_notification(out_trade_no: str, total_fee: int, *, bad_key: bool = False, appid: str | None = None,
                    transaction_id: str | None = None, result_code: str = "SUCCESS") -> str:
    s = runtime.settings()
    key = "0" * 32 if bad_key else None
    data = {"appid": appid or s.wechat_app_id, "mch_id": s.wechat_mch_id, "nonce_str": secrets.token_hex(8),
            "result_code": result_code, "return_code": "SUCCESS", "openid": "o-x", "trade_type": "JSAPI",
            "bank_type": "OTHERS", "total_fee": total_fee, "cash_fee": total_fee, "fee_type": "CNY",
            "transaction_id": transaction_id or "4200" + secrets.token_hex(10), "out_trade_no": out_trade_no,
            "time_end": "20261129120000"}
    return dict_to_xml(data, calculate_signature(data, key or s.secret("wechat_pay_api_key")))


def reply_code(r) -> str:
    """SUCCESS or FAIL, from a v2 XML answer (always HTTP 200) or a v3 JSON one (200, or 4xx/5xx)."""
    if v3():
        code = orjson.loads(r.text)["code"]
        assert (code == "SUCCESS") == (r.status_code == 200), (r.status_code, r.text)
        return code
    assert r.status_code == 200
    return xmltodict.parse(r.text)["xml"]["return_code"]


async def post_notification(client, headers: dict, body: str):
    return await client.post(notify_path(), content=body, headers=headers)


@pytest.fixture
def no_handoff(monkeypatch):
    """Keep paid orders in `paid` (the warehouse hand-off job is not enqueued)."""
    from server.payments import service

    real = service.enqueue

    def enqueue(name, *args, **kw):
        if name != "fulfillment.handoff":
            real(name, *args, **kw)

    monkeypatch.setattr(service, "enqueue", enqueue)


async def new_order(buyer, station, price=1000, qty=2, stock=10):
    sku = await make_sku(price=price, stock=stock)
    r = await checkout(buyer, pickup_body(station.id, (sku.id, qty)))
    assert r.status_code == 201, r.text
    return r.json(), sku


async def test_pay_returns_signed_request_payment_params(client, buyer, station):
    order, _ = await new_order(buyer, station)
    r = await buyer.post(f"/api/v1/orders/{order['id']}/pay")
    assert r.status_code == 200, r.text
    p = r.json()
    s = runtime.settings()
    assert p["package"].startswith("prepay_id=wx")
    if v3():  # RSA-SHA256 over appId, timeStamp, nonceStr, package with the merchant key
        assert p["signType"] == "RSA"
        message = f"{s.wechat_app_id}\n{p['timeStamp']}\n{p['nonceStr']}\n{p['package']}\n".encode()
        sim_v3.sim_keys(s.data_dir).merchant_key.public_key().verify(
            base64.b64decode(p["paySign"]), message, padding.PKCS1v15(), hashes.SHA256())
    else:
        assert p["signType"] == "MD5"
        signed = {"appId": s.wechat_app_id, "timeStamp": p["timeStamp"], "nonceStr": p["nonceStr"],
                  "package": p["package"], "signType": "MD5"}
        assert p["paySign"] == calculate_signature(signed, s.secret("wechat_pay_api_key"))
    again = (await buyer.post(f"/api/v1/orders/{order['id']}/pay")).json()
    assert again["package"] == p["package"]  # the open prepay order is reused
    assert await Payment.filter(order_id=order["id"]).count() == 1


async def test_paid_notification_applies_once_and_posts_the_ledger(client, buyer, station):
    order, _ = await new_order(buyer, station, price=1999, qty=3)
    res = await pay_and_notify(buyer, order["id"])
    assert res["delivered"] is True
    o = await Order.get(id=order["id"])
    assert o.status in ("paid", "in_fulfilment") and o.paid_fen == 5997 and o.payment_method == "wechat_jsapi"
    pay = await Payment.get(order_id=o.id)
    assert pay.status == "paid" and pay.transaction_id == res["transaction_id"]
    assert await ledger.check_invariant([o.id]) == []
    kinds = sorted(await LedgerEntry.filter(order_id=o.id).values_list("kind", flat=True))
    assert kinds == ["merchant_share", "platform_fee", "station_fee"]
    # WeChat sends it again: acknowledged, nothing applied twice
    r = await client.post(sim("/renotify"), json={"out_trade_no": pay.out_trade_no})
    assert r.json()["delivered"] is True
    assert await OrderEvent.filter(order_id=o.id, to_status="paid").count() == 1
    assert await LedgerEntry.filter(order_id=o.id).count() == 3
    note = await PaymentNotification.get(out_trade_no=pay.out_trade_no)
    assert note.verified and note.outcome == "applied" and note.received_count == 2
    assert ('"resource"' if v3() else "<xml>") in note.body
    # it is not paid at WeChat twice either
    assert (await buyer.post(f"/api/v1/orders/{o.id}/pay")).status_code == 409


async def test_ten_identical_notifications_at_once_make_one_transition(client, buyer, station, no_handoff):
    order, _ = await new_order(buyer, station, price=500, qty=4)
    r = await buyer.post(f"/api/v1/orders/{order['id']}/pay")
    otn = r.json()["out_trade_no"]
    headers, body = signed_notification(otn, 2000)
    rs = await asyncio.gather(*[post_notification(client, headers, body) for _ in range(10)])
    if v3():  # replays of one signed message: one is applied, the others answered by its fate
        assert {r.status_code for r in rs} <= {200, 429}
        assert sum(r.status_code == 200 for r in rs) >= 1
        again = await post_notification(client, headers, body)
        assert reply_code(again) == "SUCCESS"  # once applied, a replay is acknowledged, not applied
    else:
        assert [reply_code(x) for x in rs] == ["SUCCESS"] * 10
    assert await OrderEvent.filter(order_id=order["id"], to_status="paid").count() == 1
    assert (await Order.get(id=order["id"])).paid_fen == 2000
    assert await LedgerEntry.filter(order_id=order["id"]).count() == 3
    assert (await PaymentNotification.get(out_trade_no=otn)).received_count == (11 if v3() else 10)
    # ten different (fresh nonce) notifications for the same payment at once: still one
    order2, _ = await new_order(buyer, station, price=700, qty=1)
    otn2 = (await buyer.post(f"/api/v1/orders/{order2['id']}/pay")).json()["out_trade_no"]
    tx = "4200" + secrets.token_hex(10)
    rs = await asyncio.gather(*[post_notification(client, *signed_notification(otn2, 700, transaction_id=tx))
                                for _ in range(10)])
    assert [reply_code(x) for x in rs] == ["SUCCESS"] * 10
    assert await OrderEvent.filter(order_id=order2["id"], to_status="paid").count() == 1
    outcomes = await PaymentNotification.filter(out_trade_no=otn2).values_list("outcome", flat=True)
    assert sorted(outcomes) == ["applied"] + ["duplicate"] * 9


@pytest.mark.parametrize("case", ["bad_signature", "wrong_amount", "unknown_order", "other_appid",
                                  "not_success", "garbage"])
async def test_bad_notifications_are_rejected_recorded_and_change_nothing(client, buyer, station, case):
    order, _ = await new_order(buyer, station, price=1200, qty=1)
    otn = (await buyer.post(f"/api/v1/orders/{order['id']}/pay")).json()["out_trade_no"]
    headers, body = {
        "bad_signature": lambda: signed_notification(otn, 1200, bad_key=True),
        "wrong_amount": lambda: signed_notification(otn, 1),
        "unknown_order": lambda: signed_notification("KZ000000000000NOPE", 1200),
        "other_appid": lambda: signed_notification(otn, 1200, appid="wx_someone_else"),
        "not_success": lambda: signed_notification(otn, 1200, result_code="FAIL"),
        "garbage": lambda: ({}, "<xml><a>" + secrets.token_hex(4)),
    }[case]()
    before = await PaymentNotification.all().count()
    r = await post_notification(client, headers, body)
    assert reply_code(r) == "FAIL"
    assert await PaymentNotification.all().count() == before + 1
    note = await PaymentNotification.all().order_by("-id").first()
    assert note.outcome == "rejected" and note.error
    o = await Order.get(id=order["id"])
    assert o.status == "pending_payment" and o.paid_fen == 0
    assert (await Payment.get(out_trade_no=otn)).status == "created"
    assert await LedgerEntry.filter(order_id=o.id).count() == 0


async def test_payment_after_the_timeout_cancel_is_refunded_automatically(client, buyer, station):
    from server.orders import service as orders

    order, sku = await new_order(buyer, station, price=880, qty=2, stock=2)
    otn = (await buyer.post(f"/api/v1/orders/{order['id']}/pay")).json()["out_trade_no"]
    assert await orders.cancel_unpaid(order["id"], reason="timeout")  # the timeout won the race
    res = await client.post(sim("/pay"), json={"out_trade_no": otn})
    assert res.json()["delivered"] is True  # acknowledged: the money is recorded, not lost
    o = await Order.get(id=order["id"])
    assert o.status == "cancelled" and o.paid_fen == 0
    pay = await Payment.get(out_trade_no=otn)
    assert pay.status == "stray" and pay.transaction_id == res.json()["transaction_id"]
    refund = await Refund.get(payment_id=pay.id)
    assert refund.kind == "stray" and refund.amount_fen == 1760

    async def done():
        r = await Refund.get(id=refund.id)
        return r.status == "succeeded"

    assert await wait_for(done), (await Refund.get(id=refund.id)).status
    assert await LedgerEntry.filter(order_id=o.id).count() == 0
    assert (await sku.refresh_from_db()) is None and sku.stock == 2  # stock came back once, with the cancel


async def test_sim_retries_until_we_answer_success(client, buyer, station, monkeypatch):
    from server.payments import service

    s = runtime.settings()
    monkeypatch.setattr(s, "wechat_pay_sim_retry_seconds", [0.1, 0.1, 0.1])
    real = service.handle_pay_notification
    calls = {"n": 0}

    async def flaky(body, headers=None, version="v2"):
        calls["n"] += 1
        if calls["n"] == 1:
            return runtime.get().extras["wechatpay"].reply(False, "busy", 500)
        return await real(body, headers, version)

    monkeypatch.setattr(service, "handle_pay_notification", flaky)
    order, _ = await new_order(buyer, station)
    res = await pay_and_notify(buyer, order["id"])
    assert res["delivered"] is False

    async def paid():
        return (await Order.get(id=order["id"])).paid_fen == 2000

    assert await wait_for(paid)
    otn = (await Payment.get(order_id=order["id"])).out_trade_no
    assert (await client.get(sim(f"/attempts/{otn}"))).json()["attempts"] == 2


async def test_lost_notification_is_found_by_the_query_job(client, buyer, station, monkeypatch):
    from jobs.orders import cancel_unpaid, query_payment
    from server.payments import service

    s = runtime.settings()
    monkeypatch.setattr(s, "wechat_pay_sim_retry_seconds", [])

    async def lost(body, headers=None, version="v2"):
        return runtime.get().extras["wechatpay"].reply(False, "lost", 500)

    monkeypatch.setattr(service, "handle_pay_notification", lost)
    order, _ = await new_order(buyer, station)
    order2, _ = await new_order(buyer, station)
    for o in (order, order2):
        assert (await pay_and_notify(buyer, o["id"]))["delivered"] is False
    assert (await Order.get(id=order["id"])).status == "pending_payment"
    assert await query_payment(None, order["id"]) == "applied"
    assert (await Order.get(id=order["id"])).paid_fen == 2000
    # the timeout job asks WeChat first: a paid order is never cancelled
    assert await cancel_unpaid(None, order2["id"]) == "paid"
    assert (await Order.get(id=order2["id"])).status != "cancelled"


async def test_unpaid_prepay_is_closed_at_wechat_not_before_5_minutes(client, buyer, station):
    from server.payments import service

    order, _ = await new_order(buyer, station)
    otn = (await buyer.post(f"/api/v1/orders/{order['id']}/pay")).json()["out_trade_no"]
    assert (await buyer.post(f"/api/v1/orders/{order['id']}/cancel", json={})).status_code == 200
    assert await service.close_open_payments(order["id"]) == "later"
    clock.shift(timedelta(minutes=6))
    try:
        assert await service.close_open_payments(order["id"]) == "closed"
    finally:
        clock.reset()
    assert (await Payment.get(out_trade_no=otn)).status == "closed"
    r = await client.post(sim("/pay"), json={"out_trade_no": otn})
    assert r.status_code == 409  # the buyer can no longer pay it


async def test_native_payment_for_assisted_purchase(client, buyer, station, no_handoff):
    from server.payments import service

    order, _ = await new_order(buyer, station, price=4580, qty=1)
    out = await service.create_native_payment(order["id"], actor_id=None)
    assert out.code_url.startswith("weixin://wxpay/bizpayurl") and out.total_fen == 4580
    assert (await client.post(sim("/pay"), json={"out_trade_no": out.out_trade_no})).json()["delivered"]
    o = await Order.get(id=order["id"])
    assert o.status == "paid" and o.payment_method == "wechat_native"


async def test_cash_at_the_counter_once(client, buyer, station, no_handoff):
    from server.kit.errors import Conflict
    from server.payments import service

    order, _ = await new_order(buyer, station, price=1000, qty=3)
    paid = await service.record_cash_payment(order["id"], station_id=station.id, actor_id=None)
    assert paid.status == "paid" and paid.method == "cash"
    with pytest.raises(Conflict) as e:
        await service.record_cash_payment(order["id"], station_id=station.id, actor_id=None)
    assert e.value.status == 409
    o = await Order.get(id=order["id"])
    assert o.status == "paid" and o.payment_method == "cash"
    assert await ledger.check_invariant([o.id]) == []
    custody = {(e.account_type, e.amount_fen) for e in await LedgerEntry.filter(order_id=o.id, kind="cash_custody")}
    assert custody == {("station", -3000), ("platform", 3000)}
    results = await asyncio.gather(*[service.record_cash_payment(order["id"], station_id=station.id, actor_id=None)
                                     for _ in range(3)], return_exceptions=True)
    assert all(isinstance(x, Conflict) for x in results)


async def test_an_order_about_to_expire_cannot_start_a_payment(client, buyer, station):
    order, _ = await new_order(buyer, station)
    clock.shift(timedelta(minutes=14, seconds=30))
    try:
        r = await buyer.post(f"/api/v1/orders/{order['id']}/pay")
    finally:
        clock.reset()
    assert r.status_code == 409 and r.json()["error"]["code"] == "order_expired"


def test_the_unpaid_timeout_leaves_time_to_pay():
    """An unpaid timeout /pay would refuse at once is not a setting (the margin has one owner)."""
    from pydantic import ValidationError

    from config.settings import ORDER_PAY_MARGIN_SECONDS, Settings

    with pytest.raises(ValidationError, match="order_unpaid_timeout_seconds"):
        Settings(_env_file=None, order_unpaid_timeout_seconds=60)
    with pytest.raises(ValidationError, match="order_unpaid_timeout_seconds"):
        Settings(_env_file=None, order_unpaid_timeout_seconds=179)
    assert Settings(_env_file=None, order_unpaid_timeout_seconds=180).order_unpaid_timeout_seconds == 180
    assert 180 - ORDER_PAY_MARGIN_SECONDS >= 60


async def test_an_order_on_the_shortest_timeout_can_be_paid(client, buyer, station, monkeypatch):
    monkeypatch.setattr(runtime.settings(), "order_unpaid_timeout_seconds", 180)
    order, _ = await new_order(buyer, station)
    assert (await Order.get(id=order["id"])).expires_at - clock.now() <= timedelta(seconds=180)
    clock.shift(timedelta(seconds=100))  # 80 s left: still payable
    try:
        r = await buyer.post(f"/api/v1/orders/{order['id']}/pay")
    finally:
        clock.reset()
    assert r.status_code == 200, r.text


async def test_reconcile_calls_a_paid_completed_order_paid(client, buyer, station, admin, no_handoff):
    from server.kit.db import atomic
    from server.orders import service as orders_service

    order, _ = await new_order(buyer, station)
    await pay_and_notify(buyer, order["id"])
    assert await wait_for(lambda: Order.filter(id=order["id"], status="paid").exists())
    async with atomic() as conn:
        # through the state table: received at the station, then picked up
        await orders_service.transition(order["id"], ["paid"], "ready_for_pickup", conn=conn)
        await orders_service.transition(order["id"], ["ready_for_pickup"], "completed", conn=conn,
                                        completed_at=clock.now())
    r = await admin.post("/api/v1/console/reconcile", json={"order_id": order["id"]})
    assert r.status_code == 200, r.text
    assert r.json()["queried"] == {str(order["id"]): "paid"} and r.json()["ledger_broken"] == []
    unpaid, _ = await new_order(buyer, station)
    r = await admin.post("/api/v1/console/reconcile", json={"order_id": unpaid["id"]})
    assert r.json()["queried"] == {str(unpaid["id"]): "unpaid"}


@pytest.mark.parametrize("path", ["/api/v1/pay/wechat/notify", "/api/v1/pay/wechat/refund-notify",
                                  "/api/v1/pay/wechat/v3/notify", "/api/v1/pay/wechat/v3/refund-notify",
                                  "/api/v1/pay/wechat/v3/transfer-notify"])
async def test_oversized_notify_bodies_are_refused_before_they_are_stored(client, path, settings):
    """A body over 64 KiB at either notify URL is 413, declared or chunked, and nothing is stored; a
    normal-sized one is still taken (and, unsigned, recorded as rejected)."""
    from server.payments.service import NOTIFY_MAX_BYTES

    before = await PaymentNotification.all().count()
    big = b"<xml>" + b"A" * NOTIFY_MAX_BYTES + b"</xml>"
    r = await client.post(path, content=big, headers={"Content-Type": "text/xml"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large", r.text

    async def chunks():
        for _ in range(20):
            yield b"B" * 8192

    r = await client.post(path, content=chunks(), headers={"Content-Type": "text/xml"})
    assert r.status_code == 413, r.text
    assert await PaymentNotification.all().count() == before
    r = await client.post(path, content=f"<xml><nonce_str>{secrets.token_hex(8)}</nonce_str></xml>".encode(),
                          headers={"Content-Type": "text/xml"})
    assert r.status_code in (200, 400, 401, 404) and "FAIL" in r.text  # v2 answers FAIL XML with 200
    assert await PaymentNotification.all().count() == before + 1
