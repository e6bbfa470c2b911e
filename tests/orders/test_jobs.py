"""The jobs' safety nets: the sweeper re-finds lost work, refundquery completes a refund whose
notification never came, the ledger check."""
from datetime import timedelta

from server.kit import clock
from server.models.orders import Order
from server.models.payments import Refund
from tests.orders.conftest import checkout, make_sku, pay_and_notify, pickup_body
from tests.conftest import wait_for
from server.ledger import service as ledger
from tests.orders.test_payments import no_handoff  # noqa: F401 - fixture


async def test_sweeper_finds_due_orders_and_the_ledger_check_passes(client, buyer, station, monkeypatch):
    from jobs import orders as jobs
    from server.payments import service

    sku = await make_sku(stock=5)
    oid = (await checkout(buyer, pickup_body(station.id, (sku.id, 2)))).json()["id"]
    queued = []
    monkeypatch.setattr(service, "enqueue", lambda name, *a, **k: queued.append((name, a)))
    assert (await jobs.sweep(None))["cancel"] == 0 or ("orders.cancel_unpaid", (oid,)) not in queued
    clock.shift(timedelta(minutes=20))
    try:
        counts = await jobs.sweep(None)
    finally:
        clock.reset()
    assert counts["cancel"] >= 1 and ("orders.cancel_unpaid", (oid,)) in queued
    # The hourly check counts what the ledger finds in the last two days; this test's order is not
    # among them (other tests' factories write paid orders without entries into the shared database).
    assert await jobs.check_ledger(None) == len(bad := await ledger.check_invariant(since=clock.now() - timedelta(days=2)))
    assert oid not in {b["order_id"] for b in bad}
    assert (await Order.get(id=oid)).status == "pending_payment"  # the sweeper only enqueues


async def test_refund_without_notification_is_completed_by_refundquery(client, buyer, station, monkeypatch,
                                                                       no_handoff):
    from jobs import orders as jobs
    from server.payments import service

    monkeypatch.setattr(service, "refund_notify_url", lambda: "")  # the notification never comes
    sku = await make_sku(price=650, stock=5)
    oid = (await checkout(buyer, pickup_body(station.id, (sku.id, 1)))).json()["id"]
    assert (await pay_and_notify(buyer, oid))["delivered"]
    r = await buyer.post(f"/api/v1/orders/{oid}/refunds", json={})
    rid = r.json()["id"]

    async def processing():
        return (await Refund.get(id=rid)).status == "processing"

    assert await wait_for(processing)
    results = []

    async def query():  # WeChat says PROCESSING until its refund is through
        results.append(await jobs.query_refund(None, rid))
        return results[-1] != "processing"

    assert await wait_for(query)
    assert results[-1] == "applied"
    assert await jobs.query_refund(None, rid) == "skip"
    assert (await Refund.get(id=rid)).status == "succeeded"
    o = await Order.get(id=oid)
    assert (o.refunded_fen, o.status) == (650, "closed")
    # submitting again (a duplicate job) is harmless
    assert await jobs.submit_refund(None, rid) == "skip"


async def test_checkout_defers_one_cancel_job_as_arq_would(client, buyer, station):
    """The unpaid-timeout job is written in one Lua call in arq's own format: arq reads it back,
    due when the order expires, and enqueueing the same id again adds nothing."""
    from arq.jobs import Job, JobStatus

    from server.kit import jobs, runtime
    from server.kit import redis as kr

    sku = await make_sku(stock=5)
    o = (await checkout(buyer, pickup_body(station.id, (sku.id, 1)))).json()
    job_id = kr.key("job", f"orders.cancel:{o['id']}")
    rds = runtime.get().redis
    job = Job(job_id, rds, _queue_name=jobs.queue_name())
    info = await job.info()
    assert info is not None and info.function == "orders.cancel_unpaid" and info.args == (o["id"],)
    assert await job.status() == JobStatus.deferred
    score = await rds.zscore(jobs.queue_name(), job_id)
    expires_ms = runtime.settings().order_unpaid_timeout_seconds * 1000
    assert abs(score - (info.enqueue_time.timestamp() * 1000 + expires_ms)) < 2
    await jobs._enqueue_now("orders.cancel_unpaid", [((o["id"],), job_id)], timedelta(seconds=5))
    assert await rds.zscore(jobs.queue_name(), job_id) == score  # the id was taken: unchanged
