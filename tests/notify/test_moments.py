"""Subscribe messages at every moment a buyer waits for (issue #29): paid, dispatched, out for
delivery, refund outcome, a booked live session starting. Each moment sends exactly one message per
subject (however often its job runs), in WeChat's documented keyword formats; a declined template is
respected, and only a refund that needs the buyer falls back to SMS."""
from __future__ import annotations

import re
import secrets
from datetime import timedelta

from server.integrations import wechat_keywords as kw
from server.kit import clock, runtime
from server.kit.db import atomic
from server.kit.errors import UpstreamError
from server.models.accounts import User
from server.models.live import LiveRoom, LiveSession
from server.models.notify import LiveBooking, NotifyOutbox, SubscribeChoice
from server.models.orders import Order
from server.models.payments import Refund
from server.notify import live_booking, outbox, registry
from server.orders import refunds
from server.orders import service as orders
from tests.conftest import login, login_as, wait_for
from tests.orders.conftest import checkout, make_sku, make_station, pay_and_notify, pickup_body

TIME = re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}$")  # WeChat: 2019年10月1日 15:01
AMOUNT = re.compile(r"^¥\d+\.\d{2}$")                          # ¥ and yuan with two decimals
ADDRESS = {"name": "王秀兰", "phone": "13904210001", "town": "南公营子镇", "village": "八家子村",
           "detail": "村委会东100米"}


async def inbox(client, user_id: int, moment: str) -> list[dict]:
    openid = (await User.get(id=user_id)).openid
    r = await client.get("/__sim__/wechat/subscribe-messages", params={"touser": openid})
    tid = registry.MOMENTS[moment].template_id()
    return [m for m in r.json()["items"] if m["template_id"] == tid]


async def one_message(client, user_id: int, moment: str) -> dict:
    assert await wait_for(lambda: inbox(client, user_id, moment)), f"no {moment} message"
    items = await inbox(client, user_id, moment)
    assert len(items) == 1, items
    return items[0]


def values(msg: dict) -> dict:
    return {k: v["value"] for k, v in msg["data"].items()}


async def paid_order(buyer, *, qty: int = 2, price: int = 1250, delivery: bool = False) -> Order:
    sku = await make_sku(price=price, stock=20)
    if delivery:
        body = {"fulfilment": "delivery", "address": ADDRESS, "lines": [{"sku_id": sku.id, "quantity": qty}]}
    else:
        body = pickup_body((await make_station()).id, (sku.id, qty))
    r = await checkout(buyer, body)
    assert r.status_code == 201, r.text
    assert (await pay_and_notify(buyer, r.json()["id"]))["delivered"]
    return await Order.get(id=r.json()["id"])


async def test_paid_sends_one_message_in_wechat_formats(client, no_handoff):
    buyer = await login(client)
    order = await paid_order(buyer, qty=2, price=1250)
    msg = await one_message(client, buyer.id, "order_paid")
    v = values(msg)
    assert v["character_string1"] == order.order_no
    assert v["amount3"] == "¥25.00" and AMOUNT.match(v["amount3"])
    assert TIME.match(v["time4"]) and v["time4"] == kw.time_value(order.paid_at)
    name = (await order.lines.all())[0].product_name
    assert v["thing2"] == name + "等2件" and len(v["thing2"]) <= 20
    assert msg["page"] == f"{runtime.settings().wechat_order_page}?id={order.id}"
    # the job delivered again (arq delivers at least once) and the sweeper: still one message
    assert await outbox.deliver("order_paid", f"order:{order.id}") == {}
    await outbox.sweep()
    assert len(await inbox(client, buyer.id, "order_paid")) == 1
    row = await NotifyOutbox.get(moment="order_paid", ref=f"order:{order.id}")
    assert (row.status, row.wechat, row.sms, row.attempts) == ("done", "sent", "", 1)
    # the office sees what the buyer was told; nobody else does
    admin = await login_as_admin(client)
    r = await admin.get(f"/api/v1/console/orders/{order.id}/messages")
    assert r.status_code == 200, r.text
    assert [(i["moment"], i["status"], i["wechat"]) for i in r.json()["items"]] == [("order_paid", "done", "sent")]
    assert (await admin.get("/api/v1/console/orders/999999999/messages")).status_code == 404
    assert (await buyer.get(f"/api/v1/console/orders/{order.id}/messages")).status_code == 403


async def test_the_checkout_screen_asks_for_the_order_moments(client, settings):
    r = await client.get("/api/v1/subscribe-templates", params={"scene": "checkout"})
    assert r.status_code == 200
    assert r.json()["template_ids"] == [settings.wechat_order_paid_template_id,
                                        settings.wechat_order_dispatched_template_id,
                                        settings.wechat_out_for_delivery_template_id]
    for scene, key in (("refund_request", "refund_result"), ("live_preview", "live_starting")):
        r = await client.get("/api/v1/subscribe-templates", params={"scene": scene})
        assert [m["key"] for m in r.json()["moments"]] == [key]


async def test_dispatched_and_out_for_delivery_once_per_order(client, no_handoff):
    buyer = await login(client)
    pickup = await paid_order(buyer, qty=1)
    # two parcels of one order leave the warehouse (two dispatch transactions): one message
    for _ in range(2):
        async with atomic() as conn:
            await outbox.order_dispatched(pickup.id, conn)
    v = values(await one_message(client, buyer.id, "order_dispatched"))
    station = await pickup.station
    assert v["character_string1"] == pickup.order_no and TIME.match(v["time4"])
    assert v["thing3"] == kw.thing_value(f"发往{station.name}")
    assert all(len(x) <= 20 for k, x in v.items() if k.startswith("thing"))

    delivery = await paid_order(buyer, qty=1, delivery=True)
    async with atomic() as conn:
        await outbox.order_dispatched(delivery.id, conn)  # a delivery order: told when it is out for delivery
        await orders.transition(delivery.id, ["paid"], "in_fulfilment", conn=conn)
        await orders.transition(delivery.id, ["in_fulfilment"], "out_for_delivery", conn=conn)
    v = values(await one_message(client, buyer.id, "out_for_delivery"))
    assert v["character_string1"] == delivery.order_no and v["phrase3"] == "配送中"
    assert len(await inbox(client, buyer.id, "order_dispatched")) == 1
    assert not await NotifyOutbox.filter(moment="order_dispatched", order_id=delivery.id).exists()


async def test_a_rolled_back_change_owes_nothing(client, no_handoff):
    buyer = await login(client)
    order = await paid_order(buyer, qty=1, delivery=True)
    try:
        async with atomic() as conn:
            await orders.transition(order.id, ["paid"], "in_fulfilment", conn=conn)
            await orders.transition(order.id, ["in_fulfilment"], "out_for_delivery", conn=conn)
            raise RuntimeError("the scan failed later")
    except RuntimeError:
        pass
    assert not await NotifyOutbox.filter(moment="out_for_delivery", order_id=order.id).exists()


async def test_refund_outcomes_and_sms_only_when_the_buyer_must_act(client, no_handoff):
    buyer = await login(client)
    phone = "139" + f"{secrets.randbelow(10**8):08d}"
    await User.filter(id=buyer.id).update(phone=phone)
    order = await paid_order(buyer, qty=1, price=990)
    async with atomic() as conn:
        await orders.transition(order.id, ["paid"], "in_fulfilment", conn=conn)
    # rejected: the buyer is told once, no SMS (nothing for them to do)
    r = await buyer.post(f"/api/v1/orders/{order.id}/refunds", json={"reason": "不想要了"})
    assert r.status_code == 201, r.text
    admin = await login_as_admin(client)
    assert (await admin.post(f"/api/v1/console/refunds/{r.json()['id']}/reject", json={"note": "已发货"})).status_code == 200
    v = values(await one_message(client, buyer.id, "refund_result"))
    assert v["phrase3"] == "已驳回" and v["amount2"] == "¥9.90" and AMOUNT.match(v["amount2"])
    assert v["character_string1"] == (await Refund.get(id=r.json()["id"])).refund_no

    # failed at WeChat, and the buyer declined the refund template: no subscribe message, one SMS
    tid = registry.MOMENTS["refund_result"].template_id()
    r2 = await buyer.post("/api/v1/subscriptions", json={"results": {tid: "reject"}})
    assert r2.status_code == 200 and r2.json()["items"] == [{"template_id": tid, "accepted": 0, "declined": True}]
    r = await buyer.post(f"/api/v1/orders/{order.id}/refunds", json={"reason": "质量问题"})
    rid = r.json()["id"]
    async with atomic() as conn:
        await Refund.filter(id=rid).using_db(conn).update(status="approved")
    refund = await Refund.get(id=rid)
    assert await refunds.complete(refund.refund_no, success=False, refund_fee=None, error="账户异常") == "failed"
    assert await refunds.complete(refund.refund_no, success=False, refund_fee=None, error="again") == "duplicate"

    async def sms_sent():
        got = (await client.get("/__sim__/aliyun/sms", params={"phone": phone})).json()["messages"]
        return [m for m in got if m["out_id"].startswith("notify-")]
    assert await wait_for(sms_sent)
    sent = await sms_sent()
    assert len(sent) == 1 and sent[0]["template_code"] == runtime.settings().aliyun_sms_refund_template_code
    row = await NotifyOutbox.get(moment="refund_result", ref=f"refund:{rid}:failed")
    assert (row.wechat, row.sms) == ("unsubscribed", "sent")
    assert len(await inbox(client, buyer.id, "refund_result")) == 1  # only the rejection's


async def login_as_admin(client):
    return await login_as(client, "admin")


async def test_an_accepted_subscription_allows_one_message(client, no_handoff):
    buyer = await login(client)
    tid = registry.MOMENTS["order_paid"].template_id()
    r = await buyer.post("/api/v1/subscriptions", json={"results": {tid: "reject"}})
    r = await buyer.post("/api/v1/subscriptions", json={"results": {tid: "accept"}})
    assert r.json()["items"] == [{"template_id": tid, "accepted": 1, "declined": False}]
    await paid_order(buyer, qty=1)
    await one_message(client, buyer.id, "order_paid")
    assert await wait_for(lambda: _accepted(buyer.id, tid, 0))
    bad = await buyer.post("/api/v1/subscriptions", json={"results": {"not-ours": "accept"}})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "results.not-ours"
    bad = await buyer.post("/api/v1/subscriptions", json={"results": {tid: "maybe"}})
    assert bad.status_code == 422


async def _accepted(user_id: int, tid: str, n: int) -> bool:
    c = await SubscribeChoice.get(user_id=user_id, template_id=tid)
    return c.accepted == n


async def test_refused_by_wechat_is_recorded_not_retried(client, no_handoff):
    buyer = await login(client)
    openid = (await User.get(id=buyer.id)).openid
    await client.post("/__sim__/wechat/subscribe-refuse", json={"touser": openid})
    order = await paid_order(buyer, qty=1)
    ref = f"order:{order.id}"

    async def done():
        return await NotifyOutbox.filter(moment="order_paid", ref=ref, status="done").exists()
    assert await wait_for(done)
    row = await NotifyOutbox.get(moment="order_paid", ref=ref)
    assert (row.wechat, row.sms) == ("refused", "")  # paid: nothing for the buyer to do, no SMS


async def test_a_booked_live_preview_is_reminded_once(client):
    buyer, other, host = await login(client), await login(client), await login(client)
    room = await LiveRoom.create(owner_id=host.id, title="喀左陈醋直播间")
    start = clock.now() + timedelta(hours=2)
    s = await LiveSession.create(room=room, livestreamer_id=host.id, title="喀左陈醋老师傅讲酿造·限时特价",
                                 scheduled_at=start, stream_name="s-" + secrets.token_hex(6))
    url = f"/api/v1/live/sessions/{s.id}/booking"
    r = await buyer.put(url)
    assert r.status_code == 200 and r.json()["booked"] is True and r.json()["reminded"] is False
    assert (await buyer.put(url)).status_code == 200  # booking twice is one booking
    assert (await other.put(url)).status_code == 200
    assert (await other.delete(url)).json()["booked"] is False  # cancelled: no reminder
    assert (await login(client)).id and (await (await login(client)).delete(url)).status_code == 404
    assert (await buyer.put("/api/v1/live/sessions/999999999/booking")).status_code == 404
    assert await LiveBooking.filter(session_id=s.id).count() == 2

    assert await live_booking.remind_due() == 0  # two hours ahead: not yet
    await LiveSession.filter(id=s.id).update(scheduled_at=clock.now() + timedelta(minutes=5))
    # (the worker's minutely sweep may be the one that finds it first: either way, one reminder)
    await live_booking.remind_due()
    assert await live_booking.remind_due() == 0
    msg = await one_message(client, buyer.id, "live_starting")
    v = values(msg)
    assert v["thing1"] == kw.thing_value(s.title) and len(v["thing1"]) <= 20
    assert TIME.match(v["time2"]) and v["thing3"] == "您预约的直播即将开始"
    assert msg["page"].startswith(f"{runtime.settings().wechat_live_page}?sid={s.id}")
    assert await inbox(client, other.id, "live_starting") == []
    assert (await buyer.get(url)).json()["reminded"] is True
    # a session already live cannot be booked
    await LiveSession.filter(id=s.id).update(status="live")
    r = await buyer.put(url)
    assert r.status_code == 409 and r.json()["error"]["code"] == "session_not_bookable"


async def test_a_failed_send_waits_for_the_sweeper_then_is_given_up(client, no_handoff, monkeypatch, settings):
    buyer = await login(client)
    order = await paid_order(buyer, qty=1)
    await one_message(client, buyer.id, "order_paid")
    row = await NotifyOutbox.create(moment="order_paid", ref=f"test:{order.id}", user_id=buyer.id, order_id=order.id)
    real = registry.send

    async def unreachable(*args, **kw):
        raise UpstreamError("WeChat is unreachable")

    monkeypatch.setattr(registry, "send", unreachable)
    monkeypatch.setattr(settings, "notify_max_attempts", 2)
    try:
        await outbox.deliver("order_paid", row.ref)
    except UpstreamError:
        pass
    else:
        raise AssertionError("the job must fail so that it is tried again")
    again = await NotifyOutbox.get(id=row.id)
    assert (again.status, again.attempts) == ("pending", 1) and "unreachable" in again.error
    # the sweeper finds it (its job was lost or failed) and WeChat answers again
    monkeypatch.setattr(registry, "send", real)
    await NotifyOutbox.filter(id=row.id).update(created_at=clock.now() - timedelta(minutes=1))
    await outbox.sweep()  # (or the worker's own minutely sweep, whichever runs first)
    assert await wait_for(lambda: NotifyOutbox.filter(id=row.id, status="done").exists())
    assert len(await inbox(client, buyer.id, "order_paid")) == 2  # the test's extra row, once
    # a row whose every attempt fails is given up (kept as failed for the office), not retried forever
    gone = await NotifyOutbox.create(moment="order_paid", ref=f"test2:{order.id}", user_id=buyer.id,
                                     order_id=order.id, attempts=1)
    monkeypatch.setattr(registry, "send", unreachable)
    assert await outbox.deliver("order_paid", gone.ref) == {"failed": True}
    assert (await NotifyOutbox.get(id=gone.id)).status == "failed"
    assert await outbox.deliver("order_paid", gone.ref) == {}
