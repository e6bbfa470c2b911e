"""After-sales step messages go through the notify outbox (#29: each moment sends exactly one message,
a message owed is not lost): one row per (case, step) written in the step's transaction; a re-delivered
or duplicated delivery and a later step never send an earlier step again; a step whose job was lost is
re-found by the outbox's sweeper; a step the buyer must act on is texted when WeChat is still failing at
the last attempt; the office sees the steps among what the buyer of the order was told."""
from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from datetime import timedelta

import pytest

from server.aftersales import service as aftersales
from server.aftersales.steps import STEP_TEXT
from server.kit import clock, jobs
from server.kit.errors import UpstreamError
from server.models.accounts import User
from server.models.notify import NotifyOutbox
from server.models.orders import OrderLine
from server.notify import outbox, registry
from tests.aftersales.conftest import completed
from tests.conftest import login_as, wait_for
from tests.fulfillment import factories as f
from tests.notify.test_moments import inbox, values

MOMENT = "aftersales_update"


@pytest.fixture
def lost_jobs(monkeypatch):
    """While on, the outbox's delivery jobs are lost (Redis lost them): the rows stay pending."""
    real = jobs.enqueue
    state = {"on": False}

    def enqueue(name, *args, **kw):
        if state["on"] and name == "notify.deliver":
            return None
        return real(name, *args, **kw)

    monkeypatch.setattr(jobs, "enqueue", enqueue)
    return state


async def steps_told(client, buyer_id: int) -> Counter:
    """How many times the buyer's WeChat received each step's text."""
    return Counter(values(m)["thing2"] for m in await inbox(client, buyer_id, MOMENT))


async def done(case_id: int, step: str) -> NotifyOutbox:
    ref = outbox.aftersales_ref(case_id, step)
    assert await wait_for(lambda: NotifyOutbox.filter(moment=MOMENT, ref=ref, status="done").exists(),
                          timeout=10), step
    return await NotifyOutbox.get(moment=MOMENT, ref=ref)


async def refused_case(world, client):
    m, (a, _) = await f.merchant_with_skus(2)
    order = await f.paid_order(world.buyer.id, [(a, 1)], station=world.net.village)
    await completed(world, order.id, m.id)
    line = await OrderLine.get(order_id=order.id)
    r = await world.buyer.post("/api/v1/aftersales", json={
        "order_id": order.id, "kind": "refund_only", "reason": "short", "lines": [{"line_id": line.id, "qty": 1}]})
    assert r.status_code == 201, r.text
    return order, r.json()["id"], await login_as(client, "merchant", merchant_id=m.id)


async def test_no_step_is_sent_twice_and_a_lost_job_is_found_again(world, client, lost_jobs):
    order, cid, merchant = await refused_case(world, client)
    await done(cid, "requested")
    assert await steps_told(client, world.buyer.id) == {STEP_TEXT["requested"]: 1}

    # the merchant refuses and the step's job is lost: the row is the promise
    lost_jobs["on"] = True
    r = await merchant.post(f"/api/v1/merchant/aftersales/{cid}/answer", json={"approve": False, "reason": "缺货"})
    assert r.status_code == 200, r.text
    rejected = await NotifyOutbox.get(moment=MOMENT, ref=outbox.aftersales_ref(cid, "rejected"))
    assert rejected.status == "pending" and rejected.order_id == order.id
    # the earlier step's job delivered again (arq delivers at least once), by either path: quiet, even
    # though a later step is owed meanwhile (the old single `notified_step` claim would have sent it)
    assert await outbox.deliver(MOMENT, outbox.aftersales_ref(cid, "requested")) == {}
    assert await aftersales.notify(cid, "requested") == {}
    assert await steps_told(client, world.buyer.id) == {STEP_TEXT["requested"]: 1}

    # the sweeper re-finds the refusal once its job is overdue
    lost_jobs["on"] = False
    await NotifyOutbox.filter(id=rejected.id).update(created_at=clock.now() - timedelta(minutes=1))
    assert (await outbox.sweep())["requeued"] >= 1
    row = await done(cid, "rejected")
    assert (row.wechat, row.sms, row.attempts) == ("sent", "", 1)
    assert await steps_told(client, world.buyer.id) == {STEP_TEXT["requested"]: 1, STEP_TEXT["rejected"]: 1}

    # the buyer escalates, its job lost again; three deliveries at once (the job twice and an old-path
    # job) send it once
    lost_jobs["on"] = True
    r = await world.buyer.post(f"/api/v1/aftersales/{cid}/escalate", json={"reason": "确实少发了一件"})
    assert r.status_code == 200, r.text
    ref = outbox.aftersales_ref(cid, "escalated")
    outs = await asyncio.gather(outbox.deliver(MOMENT, ref), outbox.deliver(MOMENT, ref),
                                aftersales.notify(cid, "escalated"))
    assert sorted(bool(o) for o in outs) == [False, False, True], outs
    assert await steps_told(client, world.buyer.id) == {
        STEP_TEXT["requested"]: 1, STEP_TEXT["rejected"]: 1, STEP_TEXT["escalated"]: 1}
    assert await NotifyOutbox.filter(moment=MOMENT, ref__startswith=f"aftersales:{cid}:").count() == 3
    # an old-path job for a step the case never had owes nothing
    assert await aftersales.notify(cid, "refunded") == {"skip": "no such step"}

    # the office's "what the buyer was told" lists the steps with the order's other messages
    admin = await login_as(client, "admin")
    r = await admin.get(f"/api/v1/console/orders/{order.id}/messages")
    assert r.status_code == 200, r.text
    steps = [(i["ref"], i["title"], i["status"], i["wechat"]) for i in r.json()["items"] if i["moment"] == MOMENT]
    assert steps == [(outbox.aftersales_ref(cid, s), "售后进度通知", "done", "sent")
                     for s in ("requested", "rejected", "escalated")]


async def test_a_step_the_buyer_must_act_on_is_texted_when_wechat_keeps_failing(
        world, client, lost_jobs, monkeypatch, settings):
    order, cid, merchant = await refused_case(world, client)
    await done(cid, "requested")
    phone = "137" + f"{secrets.randbelow(10**8):08d}"
    await User.filter(id=world.buyer.id).update(phone=phone)

    async def unreachable(*args, **kw):
        raise UpstreamError("WeChat is unreachable")

    lost_jobs["on"] = True
    monkeypatch.setattr(registry, "send", unreachable)
    monkeypatch.setattr(settings, "notify_max_attempts", 2)
    r = await merchant.post(f"/api/v1/merchant/aftersales/{cid}/answer", json={"approve": False, "reason": "缺货"})
    assert r.status_code == 200, r.text
    ref = outbox.aftersales_ref(cid, "rejected")
    with pytest.raises(UpstreamError):   # not the last attempt: tried again later, no SMS yet
        await outbox.deliver(MOMENT, ref)
    row = await NotifyOutbox.get(moment=MOMENT, ref=ref)
    assert (row.status, row.attempts, row.sms) == ("pending", 1, "")
    texts = (await client.get("/__sim__/aliyun/sms", params={"phone": phone})).json()["messages"]
    assert not [x for x in texts if x["out_id"] == f"notify-{row.id}"]
    # the last attempt: WeChat still fails, so the buyer (who must act on a refusal) gets the SMS, once
    assert await outbox.deliver(MOMENT, ref) == {"wechat": "failed", "sms": "sent"}
    row = await NotifyOutbox.get(id=row.id)
    assert (row.status, row.wechat, row.sms) == ("done", "failed", "sent") and "unreachable" in row.error
    texts = (await client.get("/__sim__/aliyun/sms", params={"phone": phone})).json()["messages"]
    sent = [x for x in texts if x["out_id"] == f"notify-{row.id}"]
    assert [x["template_code"] for x in sent] == [settings.aliyun_sms_aftersales_template_code]
    assert await outbox.deliver(MOMENT, ref) == {}
