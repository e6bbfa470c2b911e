"""WeChat Pay APIv3 specifics against the simulator: notification checks (signature, timestamp window,
replay, decryption, merchant and amount), both key modes with certificate rotation, our request
signatures, the trade bill, transfers to a balance; and v2's merchant certificate for /secapi/."""
import asyncio
import secrets
from datetime import timedelta

import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from server.integrations import wechatpay_gateway
from server.integrations.simulators import wechatpay_v3 as sim_v3
from server.integrations.wechatpay import PayGatewayError
from server.integrations.wechatpay_v3 import WeChatPayV3Gateway
from server.reconcile.bill import parse_bill
from server.kit import clock, runtime
from server.models.ledger import LedgerEntry
from server.models.orders import Order, OrderEvent
from server.models.payments import Payment, PaymentNotification
from server.payments import service as payments
from server.payouts import service as payouts
from tests.conftest import wait_for
from tests.orders.conftest import sim
from tests.orders.test_payments import new_order, no_handoff, v3_notification  # noqa: F401 - fixture

NOTIFY = "/api/v1/pay/wechat/v3/notify"
pytestmark = [pytest.mark.parametrize("pay_api", ["v3"], indirect=True), pytest.mark.usefixtures("pay_api")]


def gw() -> WeChatPayV3Gateway:
    return runtime.get().extras["wechatpay"]


async def prepaid(buyer, station, price=1000, qty=1):
    order, _ = await new_order(buyer, station, price=price, qty=qty)
    r = await buyer.post(f"/api/v1/orders/{order['id']}/pay")
    assert r.status_code == 200, r.text
    return order, r.json()["out_trade_no"]


async def unchanged(order_id: int, otn: str) -> None:
    o = await Order.get(id=order_id)
    assert o.status == "pending_payment" and o.paid_fen == 0
    assert (await Payment.get(out_trade_no=otn)).status == "created"
    assert await LedgerEntry.filter(order_id=order_id).count() == 0


@pytest.mark.parametrize("case", ["tampered_body", "wrong_signer", "amount_changed", "other_mchid", "other_appid",
                                  "stale_timestamp", "future_timestamp", "undecryptable", "no_headers",
                                  "unknown_serial"])
async def test_bad_v3_notifications_are_refused_and_change_nothing(client, buyer, station, case):
    order, otn = await prepaid(buyer, station, price=1200)
    now = int(clock.now().timestamp())
    headers, body = {
        "tampered_body": lambda: v3_notification(otn, 1200),
        "wrong_signer": lambda: v3_notification(otn, 1200, bad_key=True),
        "amount_changed": lambda: v3_notification(otn, 1),
        "other_mchid": lambda: v3_notification(otn, 1200, mchid="1234567890"),
        "other_appid": lambda: v3_notification(otn, 1200, appid="wx_someone_else"),
        "stale_timestamp": lambda: v3_notification(otn, 1200, timestamp=now - 301),
        "future_timestamp": lambda: v3_notification(otn, 1200, timestamp=now + 301),
        "undecryptable": lambda: v3_notification(otn, 1200, apiv3_key=b"x" * 32),
        "no_headers": lambda: ({}, v3_notification(otn, 1200)[1]),
        "unknown_serial": lambda: v3_notification(otn, 1200, serial="PUB_KEY_ID_NOT_OURS"),
    }[case]()
    if case == "tampered_body":  # re-encrypted with a changed amount, the signature kept
        _, other = v3_notification(otn, 1)
        envelope = orjson.loads(body)
        envelope["resource"] = orjson.loads(other)["resource"]
        body = orjson.dumps(envelope).decode()
    r = await client.post(NOTIFY, content=body, headers=headers)
    expected = {"amount_changed": 400, "other_mchid": 400, "other_appid": 400, "undecryptable": 400}.get(case, 401)
    assert r.status_code == expected, r.text
    assert r.json()["code"] == "FAIL" and r.json()["message"]
    note = await PaymentNotification.all().order_by("-id").first()
    assert note.outcome == "rejected" and note.error
    await unchanged(order["id"], otn)


async def test_a_replayed_notification_is_applied_once_even_ten_at_once(client, buyer, station, no_handoff):
    order, otn = await prepaid(buyer, station, price=500, qty=4)
    headers, body = v3_notification(otn, 2000)
    rs = await asyncio.gather(*[client.post(NOTIFY, content=body, headers=headers) for _ in range(10)])
    assert {r.status_code for r in rs} <= {200, 429} and any(r.status_code == 200 for r in rs)
    assert await OrderEvent.filter(order_id=order["id"], to_status="paid").count() == 1
    assert await LedgerEntry.filter(order_id=order["id"]).count() == 3
    # later copies of the same signed message are acknowledged and not applied
    for _ in range(2):
        r = await client.post(NOTIFY, content=body, headers=headers)
        assert r.status_code == 200 and r.json()["code"] == "SUCCESS"
    note = await PaymentNotification.get(out_trade_no=otn)
    assert note.outcome == "applied" and note.received_count == 12  # kept once, by the notification id
    assert (await Order.get(id=order["id"])).paid_fen == 2000


async def test_a_failed_application_is_processed_again_on_wechats_retry(client, buyer, station, monkeypatch):
    order, otn = await prepaid(buyer, station)
    headers, body = v3_notification(otn, 1000)
    real = payments.apply_wechat_payment

    async def down(*a, **kw):
        raise ConnectionError("database away")

    monkeypatch.setattr(payments, "apply_wechat_payment", down)
    r = await client.post(NOTIFY, content=body, headers=headers)
    assert r.status_code == 500 and r.json()["code"] == "FAIL"
    monkeypatch.setattr(payments, "apply_wechat_payment", real)
    r = await client.post(NOTIFY, content=body, headers=headers)  # the same message, not taken for a replay
    assert r.status_code == 200 and (await Order.get(id=order["id"])).paid_fen == 1000


async def test_our_requests_are_signed_and_wechats_answers_checked(settings):
    keys = sim_v3.sim_keys(settings.data_dir)
    base = dict(app_id=settings.wechat_app_id, mch_id=settings.wechat_mch_id, cert_serial=keys.merchant_serial,
                apiv3_key=settings.secret("wechat_pay_apiv3_key"), api_base=settings.base_url + sim_v3.PREFIX,
                public_key_pem=keys.public_key_pem(), public_key_id=keys.public_key_id)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_pem = other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption()).decode()  # PKCS#1 is accepted too
    with pytest.raises(PayGatewayError) as e:
        await WeChatPayV3Gateway(private_key_pem=other_pem, **base).query("KZNOSUCHORDER")
    assert e.value.err_code == "SIGN_ERROR" and not e.value.transient
    pub = other.public_key().public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    forged = WeChatPayV3Gateway(private_key_pem=keys.merchant_private_pem(), **{**base, "public_key_pem": pub})
    yesterday = (clock.now() - timedelta(days=1)).astimezone(clock.SHANGHAI).date()
    with pytest.raises(PayGatewayError) as e:  # a 2xx answer not signed by the WeChat Pay key we hold
        await forged.download_bill(yesterday)
    assert e.value.err_code == "SIGN_MISMATCH" and e.value.transient
    good = WeChatPayV3Gateway(private_key_pem=keys.merchant_private_pem(), **base)
    with pytest.raises(PayGatewayError) as e:
        await good.query("KZNOSUCHORDER")
    assert e.value.order_not_found and not e.value.transient


async def test_platform_certificate_mode_with_rotation(client, buyer, station, settings, monkeypatch, no_handoff):
    monkeypatch.setattr(settings, "wechat_pay_sim_key_mode", "platform_cert")
    gateway = wechatpay_gateway.build(settings, "v3")
    monkeypatch.setitem(runtime.get().extras, "wechatpay", gateway)
    assert gateway.key_mode == "platform_cert" and gateway.core._certificates == []
    order, otn = await prepaid(buyer, station)  # the answer's serial is unknown: certificates downloaded
    first = {c.serial_number for c in gateway.core._certificates}
    assert len(first) >= 1
    old_headers, old_body = v3_notification(otn, 1000)  # signed by the current certificate
    new_serial = (await client.post(sim("/rotate-cert"))).json()["serial_no"]
    assert (await gateway.query(otn)).state == "NOTPAY"  # signed by the new one: fetched, verified
    serials = {format(c.serial_number, "X") for c in gateway.core._certificates}
    assert new_serial in serials and {format(s, "X") for s in first} <= serials  # several kept
    r = await client.post(NOTIFY, content=old_body, headers=old_headers)  # the old certificate still verifies
    assert r.status_code == 200, r.text
    assert (await Order.get(id=order["id"])).paid_fen == 1000


async def test_trade_bill_of_a_day(client, buyer, station, no_handoff):
    order, otn = await prepaid(buyer, station, price=1234)
    assert (await client.post(sim("/pay"), json={"out_trade_no": otn})).json()["delivered"]
    today = clock.now().astimezone(clock.SHANGHAI).date()
    with pytest.raises(PayGatewayError):
        await gw().download_bill(today)  # bills exist from the next day
    clock.shift(timedelta(days=1))
    try:
        rows = parse_bill(await gw().download_bill(today))
    finally:
        clock.reset()
    row = next(r for r in rows if r.ref == otn)
    assert row.amount_fen == 1234 and row.status == "SUCCESS" and row.kind == "payment"


# ---- transfers to a WeChat balance ---------------------------------------------------------------------
async def transfer(amount: int, no: str = "", **kw):
    no = no or "KZT" + secrets.token_hex(8)
    out = await gw().transfer(out_bill_no=no, openid=kw.pop("openid", "o-payee-" + secrets.token_hex(4)),
                              amount_fen=amount, remark="服务站佣金", notify_url=payouts.transfer_notify_url(),
                              scene_id=runtime.settings().wechat_pay_transfer_scene_id, **kw)
    return no, out


async def transfer_note(no: str):
    async def noted():
        n = await PaymentNotification.filter(kind="transfer", out_trade_no=no).first()
        # verified, then refused: no payout line made these transfers (tests/payouts make real ones)
        return n if n is not None and n.outcome == "rejected" and n.verified else None
    return await wait_for(noted)


async def test_a_transfer_waits_for_the_user_and_is_confirmed(client):
    no, out = await transfer(1500, openid="o-payee-1")
    assert out.state == "WAIT_USER_CONFIRM" and out.package_info and out.transfer_bill_no
    assert (await gw().transfer_query(no)).state == "WAIT_USER_CONFIRM"
    again = (await transfer(1500, no, openid="o-payee-1"))[1]  # the same out_bill_no: the same transfer
    assert (again.transfer_bill_no, again.package_info) == (out.transfer_bill_no, out.package_info)
    with pytest.raises(PayGatewayError):
        await transfer(1600, no, openid="o-payee-1")  # ...and not another amount under it
    r = await client.post(sim("/transfer-confirm"), json={"out_bill_no": no})
    assert r.json()["state"] == "SUCCESS"
    assert (await gw().transfer_query(no)).state == "SUCCESS"
    note = await transfer_note(no)
    assert note is not None and note.verified and "SUCCESS" in note.error
    with pytest.raises(PayGatewayError) as e:
        await gw().transfer_cancel(no)  # final
    assert not e.value.transient


async def test_an_unconfirmed_transfer_expires_after_24_hours_and_one_can_be_cancelled(client):
    no, _ = await transfer(800)
    clock.shift(timedelta(hours=24, minutes=1))
    try:
        assert no in (await client.post(sim("/tick"))).json()["expired"]
        t = await gw().transfer_query(no)
        assert (t.state, t.fail_reason) == ("FAIL", "USER_NOT_CONFIRM")
        note = await transfer_note(no)
        assert note is not None and "USER_NOT_CONFIRM" in note.error
    finally:
        clock.reset()
    no2, _ = await transfer(900)
    assert (await gw().transfer_cancel(no2)).state == "CANCELING"
    assert (await gw().transfer_query(no2)).state == "CANCELLED"
    assert (await client.post(sim("/transfer-confirm"), json={"out_bill_no": no2})).status_code == 409


async def test_from_2000_yuan_the_name_is_required_encrypted_and_checked(client):
    with pytest.raises(PayGatewayError) as e:
        await transfer(200_000)
    assert e.value.err_code == "USER_NAME_REQUIRED"
    openid = "o-payee-" + secrets.token_hex(4)
    await client.post(sim("/real-name"), json={"openid": openid, "name": "张三"})
    ok, _ = await transfer(200_000, openid=openid, user_name="张三")  # decrypted by WeChat: the same name
    assert (await client.post(sim("/transfer-confirm"), json={"out_bill_no": ok})).json()["state"] == "SUCCESS"
    bad, _ = await transfer(250_000, openid=openid, user_name="李四")
    r = await client.post(sim("/transfer-confirm"), json={"out_bill_no": bad})
    assert r.json() == {"state": "FAIL", "fail_reason": "REAL_NAME_CHECK_FAIL"}
    t = await gw().transfer_query(bad)
    assert (t.state, t.fail_reason) == ("FAIL", "REAL_NAME_CHECK_FAIL")
