"""Refunds that must not stick: WeChat answering HTTP 500 (or unreachable, or SYSTEMERROR) is retried
with backoff until it takes the refund, with no person involved; only a definitive refusal fails a
refund, and the office then retries it or records that it was paid back another way."""
from datetime import timedelta

import pytest
import requests
from wechatpy.exceptions import WeChatPayException

from server.integrations.wechatpay import _gateway_error
from server.kit import clock, runtime
from server.ledger import service as ledger
from server.models.audit import AuditLog
from server.models.ledger import LedgerEntry
from server.models.orders import Order
from server.models.payments import Refund
from tests.conftest import login_as, wait_for
from tests.orders.conftest import checkout, make_sku, pay_and_notify, pickup_body
from tests.orders.test_payments import no_handoff  # noqa: F401 - fixture


@pytest.fixture
def fast_backoff(monkeypatch):
    s = runtime.settings()
    monkeypatch.setattr(s, "refund_retry_base_seconds", 0.2)
    monkeypatch.setattr(s, "refund_retry_max_seconds", 1.0)


@pytest.fixture
async def wechat_refund_fault(client):
    async def set_fault(**fault):
        r = await client.post("/__sim__/wechatpay/faults", json={"api": "refund", **fault})
        assert r.status_code == 200, r.text

    yield set_fault
    await client.delete("/__sim__/wechatpay/faults")


async def paid_order(buyer, station, price=800, qty=1):
    sku = await make_sku(price=price, stock=10)
    oid = (await checkout(buyer, pickup_body(station.id, (sku.id, qty)))).json()["id"]
    assert (await pay_and_notify(buyer, oid))["delivered"]
    return oid


def test_an_http_5xx_from_wechat_pay_is_transient_a_refusal_is_not():
    resp = requests.Response()
    resp.status_code = 500
    exc = _gateway_error(WeChatPayException(return_code=None, response=resp))
    assert (exc.err_code, exc.transient) == ("HTTP_5XX", True)
    refused = _gateway_error(WeChatPayException("SUCCESS", "FAIL", errcode="NOTENOUGH", errmsg="余额不足"))
    assert (refused.err_code, refused.transient) == ("NOTENOUGH", False)
    assert _gateway_error(WeChatPayException("SUCCESS", "FAIL", errcode="SYSTEMERROR")).transient


async def test_wechat_http_500_then_healthy_the_refund_succeeds_unattended(client, buyer, station, no_handoff, pay_api,
                                                                          fast_backoff, wechat_refund_fault):
    oid = await paid_order(buyer, station, price=650)
    await wechat_refund_fault(http_status=500)
    r = await buyer.post(f"/api/v1/orders/{oid}/refunds", json={})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]

    async def retried():
        ref = await Refund.get(id=rid)
        return ref.attempts >= 2 and ref

    ref = await wait_for(retried, timeout=10)
    assert ref, (await Refund.get(id=rid)).__dict__
    assert ref.status == "approved" and ref.error.startswith("HTTP_5XX") and ref.next_attempt_at is not None
    await client.delete("/__sim__/wechatpay/faults")  # WeChat is healthy again

    async def succeeded():
        return (await Refund.get(id=rid)).status == "succeeded"

    assert await wait_for(succeeded, timeout=15), (await Refund.get(id=rid)).__dict__
    o = await Order.get(id=oid)
    assert (o.refunded_fen, o.status) == (650, "closed")
    assert await ledger.check_invariant([oid]) == []


async def test_the_sweeper_refinds_a_due_refund_whose_job_gave_up(client, buyer, station, no_handoff, monkeypatch,
                                                                   wechat_refund_fault):
    from server.payments import service

    await wechat_refund_fault(http_status=503)
    oid = await paid_order(buyer, station)
    queued = []
    monkeypatch.setattr(service, "enqueue", lambda name, *a, **k: queued.append((name, a)))
    from server.orders import refunds

    monkeypatch.setattr(refunds, "enqueue", lambda name, *a, **k: None)  # the job is lost
    rid = (await buyer.post(f"/api/v1/orders/{oid}/refunds", json={})).json()["id"]
    assert await service.submit_refund(rid) == "retry"
    ref = await Refund.get(id=rid)
    assert (ref.status, ref.attempts) == ("approved", 1)
    await service.sweep()
    assert ("payments.refund", (rid,)) not in queued  # not due yet
    await Refund.filter(id=rid).update(attempts=5, next_attempt_at=clock.now() - timedelta(minutes=2))
    await service.sweep()
    assert ("payments.refund", (rid,)) in queued
    # and the alerts show a refund WeChat has not taken after several tries
    from server.alerts import service as alerts

    retrying = {a.kind: a for a in await alerts.current_alerts()}["refund_retrying"]
    assert rid in retrying.ids


async def test_a_definitive_refusal_fails_and_the_office_retries(client, buyer, station, no_handoff,
                                                                 wechat_refund_fault):
    admin = await login_as(client, "admin")
    oid = await paid_order(buyer, station, price=700)
    await wechat_refund_fault(err_code="NOTENOUGH")
    rid = (await buyer.post(f"/api/v1/orders/{oid}/refunds", json={})).json()["id"]

    async def failed():
        return (await Refund.get(id=rid)).status == "failed"

    assert await wait_for(failed), (await Refund.get(id=rid)).__dict__
    assert (await Refund.get(id=rid)).error.startswith("NOTENOUGH")
    r = await admin.get("/api/v1/console/alerts")
    assert r.status_code == 200, r.text
    assert rid in {a["kind"]: a for a in r.json()["items"]}["refund_failed"]["ids"]
    assert (await buyer.post(f"/api/v1/console/refunds/{rid}/retry")).status_code == 403
    await client.delete("/__sim__/wechatpay/faults")
    r = await admin.post(f"/api/v1/console/refunds/{rid}/retry")
    assert r.status_code == 200, r.text
    assert r.json()["status"] in ("approved", "processing", "succeeded")

    async def succeeded():
        return (await Refund.get(id=rid)).status == "succeeded"

    assert await wait_for(succeeded), (await Refund.get(id=rid)).__dict__
    again = await admin.post(f"/api/v1/console/refunds/{rid}/retry")  # a repeated request
    assert again.status_code == 200 and again.json()["status"] == "succeeded"
    assert await AuditLog.filter(action="refund.retry", object_id=str(rid)).count() == 1
    assert await ledger.check_invariant([oid]) == []
    # a refund that never failed cannot be retried or settled another way
    oid2 = await paid_order(buyer, station)
    rid2 = (await buyer.post(f"/api/v1/orders/{oid2}/refunds", json={})).json()["id"]
    assert await wait_for(lambda: _status_is(rid2, "succeeded"))
    r = await admin.post(f"/api/v1/console/refunds/{rid2}/retry")
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_transition"
    r = await admin.post(f"/api/v1/console/refunds/{rid2}/settle", json={"method": "cash", "note": "x"})
    assert r.status_code == 409


async def _status_is(rid, status):
    return (await Refund.get(id=rid)).status == status


async def test_the_office_records_a_refund_paid_back_in_cash(client, buyer, station, no_handoff,
                                                             wechat_refund_fault):
    admin = await login_as(client, "admin")
    oid = await paid_order(buyer, station, price=333, qty=3)
    await wechat_refund_fault(err_code="NOTENOUGH")
    rid = (await buyer.post(f"/api/v1/orders/{oid}/refunds", json={})).json()["id"]
    assert await wait_for(lambda: _status_is(rid, "failed"))
    url = f"/api/v1/console/refunds/{rid}/settle"
    r = await admin.post(url, json={"method": "cheque", "note": "x"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "method"
    r = await admin.post(url, json={"method": "cash", "note": ""})
    assert r.status_code == 422
    r = await admin.post(url, json={"method": "cash", "note": "村服务站现金退还，收据 0042"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["settled_via"], body["settle_note"]) == ("succeeded", "cash", "村服务站现金退还，收据 0042")
    # the ledger as for a WeChat refund: the sale reversed, the order refunded in full and closed
    rev = {e.kind: e.amount_fen for e in await LedgerEntry.filter(refund_id=rid)}
    assert rev == {"platform_fee_reversal": -50, "station_fee_reversal": -20, "merchant_share_reversal": -929}
    o = await Order.get(id=oid)
    assert (o.refunded_fen, o.status) == (999, "closed")
    assert await ledger.check_invariant([oid]) == []
    again = await admin.post(url, json={"method": "cash", "note": "村服务站现金退还，收据 0042"})
    assert again.status_code == 200 and again.json()["status"] == "succeeded"
    assert await LedgerEntry.filter(refund_id=rid).count() == 3  # posted once
    assert (await admin.post(url, json={"method": "bank", "note": "y"})).status_code == 409
    assert (await admin.post(f"/api/v1/console/refunds/{rid}/retry")).status_code == 409
    assert await AuditLog.filter(action="refund.settled_elsewhere", object_id=str(rid)).count() == 1


async def test_a_failed_refund_whose_units_were_refunded_since_cannot_be_revived(client, buyer, station, no_handoff,
                                                                                 wechat_refund_fault):
    admin = await login_as(client, "admin")
    oid = await paid_order(buyer, station, price=500)
    await wechat_refund_fault(err_code="NOTENOUGH")
    first = (await buyer.post(f"/api/v1/orders/{oid}/refunds", json={})).json()["id"]
    assert await wait_for(lambda: _status_is(first, "failed"))
    await client.delete("/__sim__/wechatpay/faults")
    second = (await buyer.post(f"/api/v1/orders/{oid}/refunds", json={})).json()["id"]
    assert await wait_for(lambda: _status_is(second, "succeeded"))
    for path, body in (("retry", None), ("settle", {"method": "bank", "note": "转账"})):
        r = await admin.post(f"/api/v1/console/refunds/{first}/{path}", json=body)
        assert r.status_code == 409 and r.json()["error"]["code"] == "refund_superseded", r.text
    assert (await Refund.get(id=first)).status == "failed"
    assert await ledger.check_invariant([oid]) == []
