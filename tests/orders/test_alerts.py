"""Alerts as data (server/alerts/service.py): each kind appears while its cause holds. Failed refunds,
refunds still retrying and reconciliation differences are checked where they are made
(test_refund_retries.py, test_reconcile.py)."""
import time
from datetime import timedelta

from server.alerts import service as alerts
from server.kit import clock, worker_health
from server.kit import redis as kr
from server.models.orders import Order
from tests.conftest import login_as
from tests.orders.conftest import checkout, make_sku, pay_and_notify, pickup_body
from tests.orders.test_payments import no_handoff  # noqa: F401 - fixture


async def _by_kind():
    return {a.kind: a for a in await alerts.current_alerts()}


async def test_a_paid_order_without_a_warehouse_task_after_five_minutes(client, buyer, station, no_handoff):
    sku = await make_sku(stock=5)
    oid = (await checkout(buyer, pickup_body(station.id, (sku.id, 1)))).json()["id"]
    assert (await pay_and_notify(buyer, oid))["delivered"]
    found = (await _by_kind()).get("paid_without_warehouse_task")
    assert found is None or oid not in found.ids  # just paid: its hand-off has time
    clock.shift(timedelta(minutes=6))
    try:
        found = (await _by_kind())["paid_without_warehouse_task"]
    finally:
        clock.reset()
    assert oid in found.ids and found.severity == "critical" and found.count >= 1


async def test_an_order_past_its_expiry_still_pending(client, buyer, station):
    sku = await make_sku(stock=5)
    oid = (await checkout(buyer, pickup_body(station.id, (sku.id, 1)))).json()["id"]
    found = (await _by_kind()).get("expired_still_pending")
    assert found is None or oid not in found.ids
    clock.shift(timedelta(minutes=20))  # past the 15-minute expiry and the 2-minute grace; no cancel ran
    try:
        found = (await _by_kind())["expired_still_pending"]
    finally:
        clock.reset()
    assert oid in found.ids
    # the count and the oldest expiry are summed in one statement: the same as counting and sorting
    expired = Order.filter(status="pending_payment", expires_at__lt=clock.now() + timedelta(minutes=18))
    assert found.count == await expired.count()
    assert found.since == (await expired.order_by("expires_at").first()).expires_at


async def test_a_stale_or_missing_worker_heartbeat(client, monkeypatch):
    ages = {"age": 500.0}

    async def age():
        return ages["age"]

    monkeypatch.setattr(worker_health, "heartbeat_age", age)
    assert (await _by_kind())["worker_heartbeat_stale"].message == "后台任务进程已 500 秒没有心跳"
    ages["age"] = 1.0
    assert "worker_heartbeat_stale" not in await _by_kind()
    ages["age"] = None
    assert (await _by_kind())["worker_heartbeat_stale"].since is None


async def test_the_heartbeat_is_read_from_redis(client):
    key = kr.key("worker", "heartbeat")
    before = await kr.redis().get(key)
    try:
        await kr.redis().set(key, repr(time.time() - 120))
        assert 119 <= await worker_health.heartbeat_age() < 130
    finally:
        if before is None:
            await kr.redis().delete(key)
        else:
            await kr.redis().set(key, before)


async def test_the_console_lists_alerts_for_admins_only(client, buyer):
    admin = await login_as(client, "admin")
    r = await admin.get("/api/v1/console/alerts")
    assert r.status_code == 200, r.text
    kinds = [a["kind"] for a in r.json()["items"]]
    severities = [a["severity"] for a in r.json()["items"]]
    assert severities == sorted(severities)  # critical first
    assert len(kinds) == len(set(kinds))
    assert (await buyer.get("/api/v1/console/alerts")).status_code == 403
