"""The rest of #29's moments, as a buyer meets them: a refund that went through, each step of an
after-sales case (the merchant's reply among them) and a parcel ready for pickup. Each sends exactly one
message per subject in the documented formats; a template the buyer declined is not sent, and only a
moment where the buyer must act falls back to SMS."""
from __future__ import annotations

import secrets

from server.aftersales import service as aftersales
from server.aftersales.steps import STEP_TEXT
from server.kit import runtime
from server.kit.db import atomic
from server.models.accounts import User
from server.models.aftersales import AfterSale
from server.models.notify import NotifyOutbox
from server.models.orders import OrderLine
from server.models.payments import Refund
from server.notify import outbox, registry
from server.orders import refunds
from server.orders import service as orders
from server.stations import service as stations, uncollected
from tests.aftersales.conftest import completed
from tests.conftest import login, login_as, wait_for
from tests.fulfillment import factories as f
from tests.notify.test_moments import AMOUNT, TIME, inbox, one_message, paid_order, values
from tests.stations.conftest import make_network, make_paid_order


async def texts(client, phone: str, prefix: str) -> list[dict]:
    got = (await client.get("/__sim__/aliyun/sms", params={"phone": phone})).json()["messages"]
    return [m for m in got if m["out_id"].startswith(prefix)]


async def new_phone(user_id: int) -> str:
    phone = "139" + f"{secrets.randbelow(10**8):08d}"
    await User.filter(id=user_id).update(phone=phone)
    return phone


async def test_a_refund_that_went_through_is_told_once_without_sms(client, no_handoff):
    buyer = await login(client)
    phone = await new_phone(buyer.id)
    order = await paid_order(buyer, qty=1, price=1890)
    async with atomic() as conn:
        await orders.transition(order.id, ["paid"], "in_fulfilment", conn=conn)
    r = await buyer.post(f"/api/v1/orders/{order.id}/refunds", json={"reason": "质量问题"})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    await Refund.filter(id=rid).update(status="approved")
    refund = await Refund.get(id=rid)
    assert await refunds.complete(refund.refund_no, success=True, refund_fee=refund.amount_fen, error="") == "applied"
    assert await refunds.complete(refund.refund_no, success=True, refund_fee=refund.amount_fen, error="") == "duplicate"
    msg = await one_message(client, buyer.id, "refund_result")
    v = values(msg)
    assert v == {"character_string1": refund.refund_no, "amount2": "¥18.90", "phrase3": "退款成功",
                 "thing4": "款项将原路退回，请留意到账"}
    assert AMOUNT.match(v["amount2"])
    assert msg["page"] == f"{runtime.settings().wechat_refund_page}?id={order.id}&refund={rid}"
    row = await NotifyOutbox.get(moment="refund_result", ref=f"refund:{rid}:succeeded")
    assert (row.status, row.wechat, row.sms) == ("done", "sent", "")   # nothing for the buyer to do
    assert await outbox.deliver("refund_result", row.ref) == {}
    assert await texts(client, phone, "notify-") == []
    assert len(await inbox(client, buyer.id, "refund_result")) == 1


async def test_each_after_sales_step_once_and_a_declined_template_is_respected(client, world):
    m, (a, _) = await f.merchant_with_skus(2)
    order = await f.paid_order(world.buyer.id, [(a, 1)], station=world.net.village)
    await completed(world, order.id, m.id)
    phone = await new_phone(world.buyer.id)
    line = await OrderLine.get(order_id=order.id)
    r = await world.buyer.post("/api/v1/aftersales", json={
        "order_id": order.id, "kind": "refund_only", "reason": "short", "lines": [{"line_id": line.id, "qty": 1}]})
    assert r.status_code == 201, r.text
    case = await AfterSale.get(id=r.json()["id"])
    msg = await one_message(client, world.buyer.id, "aftersales_update")
    v = values(msg)
    assert v["character_string1"] == case.case_no and v["thing2"] == STEP_TEXT["requested"]
    assert v["amount3"] == outbox.money(case.amount_fen) and AMOUNT.match(v["amount3"])
    assert TIME.match(v["time4"])
    assert msg["page"] == f"{runtime.settings().wechat_aftersales_page}?id={case.id}"
    requested = outbox.aftersales_ref(case.id, "requested")
    assert await outbox.deliver("aftersales_update", requested) == {}   # the job delivered again
    assert await aftersales.notify(case.id, "requested") == {}   # a job of the old path queued at an upgrade
    assert len(await inbox(client, world.buyer.id, "aftersales_update")) == 1

    # the buyer declined the template on the after-sales screen: the merchant's refusal (a step the buyer
    # must act on) is not sent to WeChat but by SMS, once
    tid = registry.MOMENTS["aftersales_update"].template_id()
    assert (await world.buyer.post("/api/v1/subscriptions", json={"results": {tid: "reject"}})).status_code == 200
    merchant = await login_as(client, "merchant", merchant_id=m.id)
    r = await merchant.post(f"/api/v1/merchant/aftersales/{case.id}/answer", json={"approve": False, "reason": ""})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "reason"
    r = await merchant.post(f"/api/v1/merchant/aftersales/{case.id}/answer",
                            json={"approve": False, "reason": "缺货已补发"})
    assert r.status_code == 200, r.text
    rejected = outbox.aftersales_ref(case.id, "rejected")
    assert await wait_for(lambda: NotifyOutbox.filter(moment="aftersales_update", ref=rejected, status="done")
                          .exists(), timeout=10)
    row = await NotifyOutbox.get(moment="aftersales_update", ref=rejected)
    assert (row.wechat, row.sms) == ("unsubscribed", "sent")
    assert [m["template_code"] for m in await texts(client, phone, "notify-")] == [
        runtime.settings().aliyun_sms_aftersales_template_code]
    assert await texts(client, phone, f"notify-{row.id}")
    assert len(await inbox(client, world.buyer.id, "aftersales_update")) == 1   # only the first step's
    assert await outbox.deliver("aftersales_update", rejected) == {}
    assert await aftersales.notify(case.id, "rejected") == {}
    assert len(await texts(client, phone, "notify-")) == 1


async def test_pickup_ready_respects_a_declined_template(client):
    net = await make_network()
    buyer = await login(client)
    phone = await new_phone(buyer.id)
    tid = registry.MOMENTS["pickup_ready"].template_id()
    assert (await buyer.post("/api/v1/subscriptions", json={"results": {tid: "reject"}})).status_code == 200
    order = await make_paid_order(buyer.id, net["a"].id)
    p = await stations.receive_at_station(order.id, net["a"].id, actor_id=None)
    assert await wait_for(lambda: texts(client, phone, f"pickup-ready-{p.id}"))
    assert await inbox(client, buyer.id, "pickup_ready") == []   # declined: not sent to WeChat
    assert len(await texts(client, phone, "pickup-")) == 1
    assert await uncollected.notify_ready(p.id) == {}   # once
