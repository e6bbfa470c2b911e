"""WeChat shipping upload (发货信息录入, issue #20): only JSAPI orders of the mini-program are uploaded;
WeChat's final refusals go to the office as needs_person; only what can succeed is retried; new work
is never starved by old failures; the simulator answers as WeChat documents, the one re-upload included."""
from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from jobs.fulfillment import sweep_uploads
from server.fulfillment import service, shipping
from server.integrations.simulators.wechat_shipping import upload_count, uploaded
from server.kit import clock, runtime
from server.kit.errors import UpstreamError
from server.models.fulfillment import FulfillmentTask, Parcel
from server.models.orders import Order
from server.models.payments import Payment
from tests.conftest import login_as
from tests.fulfillment import factories as f

WH = "/api/v1/console/warehouse"


async def shipped_task(world, *, method: str = "wechat_jsapi", paid_ago: timedelta = timedelta(hours=3),
                       payment_no: str | None = None) -> tuple[Order, int]:
    """A paid pickup order whose task has left the warehouse (paid `paid_ago` ago, by `method`)."""
    _, (sku, _) = await f.merchant_with_skus()
    order = await f.paid_order(world.buyer.id, [(sku, 1)], station=world.net.county)
    await Order.filter(id=order.id).update(payment_method=method, paid_at=clock.now() - paid_ago)
    if payment_no:
        await Payment.create(order_id=order.id, method=method, out_trade_no=payment_no, amount_fen=order.total_fen,
                             status="paid", paid_at=clock.now() - paid_ago)
    task_id = await service.handoff(order.id)
    await FulfillmentTask.filter(id=task_id).update(status="shipped", shipped_at=clock.now() - timedelta(minutes=5))
    return await Order.get(id=order.id), task_id


async def sim_state(client, out_trade_no: str, state: str) -> None:
    r = await client.post("/__sim__/wechat/shipping/order-state", json={"out_trade_no": out_trade_no, "state": state})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("method", ["cash", "wechat_native"])
async def test_only_jsapi_orders_of_the_miniprogram_are_uploaded(world, method):
    order, task_id = await shipped_task(world, method=method)
    assert await shipping.upload(task_id) == "not_required"
    assert await uploaded(order.order_no) is None
    t = await FulfillmentTask.get(id=task_id)
    assert t.shipping_state == "not_required" and method in t.shipping_error
    assert task_id not in dict(await shipping.due_uploads())  # never tried again


async def test_the_paid_payment_decides_method_and_out_trade_no(world):
    # Paid by scanning a NATIVE code (its own out_trade_no) although the order says JSAPI: not uploaded.
    order, task_id = await shipped_task(world, payment_no="P" + secrets.token_hex(6) + "N", method="wechat_native")
    await Order.filter(id=order.id).update(payment_method="wechat_jsapi")
    assert await shipping.upload(task_id) == "not_required"
    # Paid by JSAPI: uploaded under the payment's out_trade_no.
    otn = "P" + secrets.token_hex(6)
    order, task_id = await shipped_task(world, payment_no=otn)
    assert await shipping.upload(task_id) == "uploaded"
    assert (await uploaded(otn))["order_key"]["out_trade_no"] == otn


@pytest.mark.parametrize("state,errcode", [("missing", 10060001), ("refunded", 10060004)])
async def test_final_refusals_need_a_person_and_the_office_sees_them(world, client, state, errcode):
    order, task_id = await shipped_task(world)
    await sim_state(client, order.order_no, state)
    assert await shipping.upload(task_id) == "needs_person"
    t = await FulfillmentTask.get(id=task_id)
    assert t.shipping_errcode == errcode and t.shipping_uploaded_at is None and t.shipping_next_at is None
    assert t.shipping_error == shipping.FINAL_MESSAGES[errcode]
    assert task_id not in dict(await shipping.due_uploads())  # not retried
    r = await world.warehouse.get(f"{WH}/shipping-uploads", params={"limit": 100})
    assert r.status_code == 200, r.text
    mine = [i for i in r.json()["items"] if i["task_id"] == task_id]
    assert mine and mine[0]["errcode"] == errcode and mine[0]["order_no"] == order.order_no
    assert mine[0]["state"] == "needs_person" and mine[0]["error"] == shipping.FINAL_MESSAGES[errcode]


async def test_order_not_found_right_after_payment_is_retried(world, client):
    # WeChat's staff: a payment reaches the shipping service about a minute after it is paid.
    order, task_id = await shipped_task(world, paid_ago=timedelta(seconds=30))
    await sim_state(client, order.order_no, "missing")
    assert await shipping.upload(task_id) == "pending"
    t = await FulfillmentTask.get(id=task_id)
    assert t.shipping_attempts == 1 and t.shipping_errcode == 10060001 and t.shipping_next_at > clock.now()
    await sim_state(client, order.order_no, "paid")
    await FulfillmentTask.filter(id=task_id).update(shipping_next_at=clock.now() - timedelta(seconds=1))
    assert (task_id, 1) in await shipping.due_uploads()
    assert await shipping.upload(task_id) == "uploaded"


async def test_transient_failures_back_off_then_need_a_person(world, settings, monkeypatch):
    order, task_id = await shipped_task(world)
    wechat = runtime.get().extras["wechat"]
    monkeypatch.setattr(wechat, "api_base", settings.base_url + "/__sim__/nowhere/")
    waits = []
    for n in range(1, shipping.MAX_ATTEMPTS):
        before = clock.now()
        assert await shipping.upload(task_id) == "pending"
        t = await FulfillmentTask.get(id=task_id)
        assert t.shipping_attempts == n and t.shipping_errcode is None  # no answer: worth retrying
        waits.append(round((t.shipping_next_at - before).total_seconds() / 60))
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 360, 360]  # minutes: doubling, at most 6 hours
    assert await shipping.upload(task_id) == "needs_person"
    t = await FulfillmentTask.get(id=task_id)
    assert t.shipping_attempts == shipping.MAX_ATTEMPTS and "次上传均失败" in t.shipping_error


async def test_new_work_is_never_starved_by_old_failures(world, monkeypatch):
    """Two lanes: first attempts newest first, retries by their own due time, each with its own batch."""
    monkeypatch.setattr(shipping, "FRESH_BATCH", 2)
    monkeypatch.setattr(shipping, "RETRY_BATCH", 3)
    now = clock.now() + timedelta(days=1)  # later than every other test's tasks
    old = []
    for i in range(5):  # old failures, long overdue
        _, tid = await shipped_task(world)
        await FulfillmentTask.filter(id=tid).update(shipping_attempts=3, shipping_next_at=now - timedelta(days=300 - i))
        old.append(tid)
    fresh = []
    for minutes in (30, 10, 20):
        _, tid = await shipped_task(world)
        await FulfillmentTask.filter(id=tid).update(shipped_at=now - timedelta(minutes=minutes))
        fresh.append(tid)
    due = await shipping.due_uploads(now)
    assert [tid for tid, _ in due[:2]] == [fresh[1], fresh[2]]  # the newest shipments first
    assert [tid for tid, _ in due[2:]] == old[:3]  # the earliest-due retries, in their own batch
    # the sweeper enqueues one job per attempt: the retries carry their attempt count
    assert dict(due)[old[0]] == 3


async def test_the_sweeper_uploads_due_work(world):
    order, task_id = await shipped_task(world)
    assert await sweep_uploads({}) >= 1
    from tests.conftest import wait_for

    assert await wait_for(lambda: FulfillmentTask.filter(id=task_id, shipping_state="uploaded").exists())
    assert (await uploaded(order.order_no))["logistics_type"] == 4


async def test_the_one_allowed_re_upload(world, client):
    """WeChat: a second upload with different information is the one re-upload (重新发货); a third is
    refused with 10060003; the same information again is 10060023 (nothing changed)."""
    order, task_id = await shipped_task(world)
    body = await shipping.payload(task_id)
    wechat = runtime.get().extras["wechat"]
    await wechat.post(shipping.PATH, body)

    async def errcode(b):
        with pytest.raises(UpstreamError) as err:
            await wechat.post(shipping.PATH, b)
        return err.value.details["errcode"]

    again = {**body, "upload_time": (clock.now() + timedelta(seconds=1)).isoformat(timespec="milliseconds")}
    assert await errcode(again) == 10060023
    changed = {**again, "shipping_list": [{"item_desc": "改：" + body["shipping_list"][0]["item_desc"][:100]}]}
    stale = {**changed, "upload_time": "2020-01-01T00:00:00.000+08:00"}
    assert await errcode(stale) == 10060014  # a re-upload must be newer than the first
    await wechat.post(shipping.PATH, changed)  # the re-upload
    assert await upload_count(order.order_no) == 2
    third = {**changed, "shipping_list": [{"item_desc": "再改"}],
             "upload_time": (clock.now() + timedelta(seconds=2)).isoformat(timespec="milliseconds")}
    assert await errcode(third) == 10060003
    # our own upload of that order now: WeChat refuses for good -> a person
    assert await shipping.upload(task_id) == "needs_person"
    assert (await FulfillmentTask.get(id=task_id)).shipping_errcode == 10060003
    # after the buyer confirmed receipt, changed information is 10060002
    order2, task2 = await shipped_task(world)
    await wechat.post(shipping.PATH, await shipping.payload(task2))
    await sim_state(client, order2.order_no, "received")
    assert await errcode({**(await shipping.payload(task2)), "shipping_list": [{"item_desc": "换"}]}) == 10060002


@pytest.mark.parametrize("change,code", [
    ({"upload_time": "2026-12-06 10:00:00"}, 268485216),
    ({"logistics_type": 5}, 10060005),
    ({"delivery_mode": 3}, 268485224),
    ({"shipping_list": [{"item_desc": "a"}, {"item_desc": "b"}]}, 268485228),
    ({"delivery_mode": 2, "is_all_delivered": True, "shipping_list": [{"item_desc": "a"}, {"item_desc": "b"}]}, 10060006),
    ({"shipping_list": [{"item_desc": ""}]}, 10060008),
    ({"shipping_list": [{"item_desc": "长" * 121}]}, 10060009),
    ({"logistics_type": 1, "shipping_list": [{"item_desc": "a", "express_company": "SF"}]}, 268485226),
    ({"logistics_type": 1, "shipping_list": [{"item_desc": "a", "tracking_no": "SF1", "express_company": "SF"}]}, 10060014),
    ({"order_key": {"order_number_type": 1, "out_trade_no": "x"}}, 268485196),
    ({"order_key": {"order_number_type": 2}}, 268485195),
    ({"payer": {}}, 47001),
])
async def test_simulator_checks_the_body_as_documented(world, change, code):
    _, task_id = await shipped_task(world)
    body = {**(await shipping.payload(task_id)), **change}
    with pytest.raises(UpstreamError) as err:
        await runtime.get().extras["wechat"].post(shipping.PATH, body)
    assert err.value.details["errcode"] == code


async def test_office_settles_an_upload(world, client):
    order, task_id = await shipped_task(world)
    await sim_state(client, order.order_no, "refunded")
    assert await shipping.upload(task_id) == "needs_person"
    buyer = world.buyer
    assert (await buyer.get(f"{WH}/shipping-uploads")).status_code == 403
    assert (await buyer.post(f"{WH}/shipping-uploads/{task_id}/resolve", json={"action": "done"})).status_code == 403
    admin = await login_as(client, "admin")
    r = await admin.post(f"{WH}/shipping-uploads/{task_id}/resolve", json={"action": "later"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "action"
    assert (await admin.post(f"{WH}/shipping-uploads/99999999/resolve", json={"action": "done"})).status_code == 404
    # WeChat's state was fixed (e.g. the refund was a mistake): one more try, in the retry lane
    await sim_state(client, order.order_no, "paid")
    r = await admin.post(f"{WH}/shipping-uploads/{task_id}/resolve", json={"action": "retry", "note": "退款已撤销"})
    assert r.status_code == 200 and r.json() == {"task_id": task_id, "state": "pending"}
    assert (task_id, 1) in await shipping.due_uploads()
    again = await admin.post(f"{WH}/shipping-uploads/{task_id}/resolve", json={"action": "done"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "shipping_not_waiting"
    assert await shipping.upload(task_id) == "uploaded"
    # settled by hand in the WeChat admin
    order2, task2 = await shipped_task(world)
    await sim_state(client, order2.order_no, "missing")
    assert await shipping.upload(task2) == "needs_person"
    r = await world.warehouse.post(f"{WH}/shipping-uploads/{task2}/resolve", json={"action": "done"})
    assert r.status_code == 200 and r.json()["state"] == "resolved"
    r = await world.warehouse.get(f"{WH}/shipping-uploads", params={"state": "resolved", "limit": 100})
    assert task2 in [i["task_id"] for i in r.json()["items"]]
    r = await world.warehouse.get(f"{WH}/shipping-uploads", params={"state": "nonsense"})
    assert r.status_code == 422


async def test_courier_with_several_parcels_is_split_delivery(world):
    _, task_id = await shipped_task(world)
    order_id = (await FulfillmentTask.get(id=task_id)).order_id
    await FulfillmentTask.filter(id=task_id).update(mode="courier")
    for n in range(2):
        await Parcel.create(label=f"L{secrets.token_hex(5).upper()}", task_id=task_id, order_id=order_id, weight_g=100,
                            packed_at=clock.now(), courier_company="ZTO", tracking_no=f"ZT{n}{secrets.token_hex(4)}")
    body = await shipping.payload(task_id)
    assert body["logistics_type"] == 1 and body["delivery_mode"] == 2 and body["is_all_delivered"] is True
    assert await shipping.upload(task_id) == "uploaded"
