"""The household is told when its collection is received at the county warehouse (#26 gap): a subscribe
message to its account, once; an SMS to the producer's contact phone when none reached it."""
from __future__ import annotations

import re

from server.kit import runtime
from server.models.accounts import User
from server.models.merchants import Merchant
from server.models.notify import NotifyOutbox
from server.notify import outbox, registry
from tests.collection.conftest import bring_up, collect, household_merchant
from tests.conftest import wait_for

TIME = re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}$")


async def _receive(w, c: dict, qty: int, reason: str = "") -> None:
    await bring_up(w, c["label"])
    r = await w.warehouse.post(f"/api/v1/console/warehouse/collections/{c['id']}/receive",
                               json={"received_qty": qty, "reason": reason})
    assert r.status_code == 200, r.text


async def _inbox(client, user_id: int) -> list[dict]:
    openid = (await User.get(id=user_id)).openid
    r = await client.get("/__sim__/wechat/subscribe-messages", params={"touser": openid})
    tid = registry.MOMENTS["collection_received"].template_id()
    return [m for m in r.json()["items"] if m["template_id"] == tid]


async def _sms(client, phone: str, row_id: int) -> list[dict]:
    got = (await client.get("/__sim__/aliyun/sms", params={"phone": phone})).json()["messages"]
    return [m for m in got if m["out_id"] == f"notify-{row_id}"]


async def test_household_gets_one_message_when_received(cworld, client):
    w = cworld
    c = await collect(w)
    assert not await NotifyOutbox.filter(moment="collection_received", ref=f"collection:{c['id']}").exists()
    await _receive(w, c, 19, "一袋破损")
    assert await wait_for(lambda: _inbox(client, w.household.id))
    items = await _inbox(client, w.household.id)
    assert len(items) == 1
    v = {k: x["value"] for k, x in items[0]["data"].items()}
    assert v["character_string1"] == c["label"] and v["number3"] == "19" and TIME.match(v["time4"])
    assert v["thing2"] == c["product_name"][:20]
    assert items[0]["page"] == f"{runtime.settings().wechat_collection_page}?id={c['id']}"
    # delivered again and swept: still one message, no SMS (the household was reached)
    assert await outbox.deliver("collection_received", f"collection:{c['id']}") == {}
    await outbox.sweep()
    assert len(await _inbox(client, w.household.id)) == 1
    row = await NotifyOutbox.get(moment="collection_received", ref=f"collection:{c['id']}")
    assert (row.user_id, row.status, row.wechat, row.sms) == (w.household.id, "done", "sent", "")


async def test_household_without_account_gets_an_sms(cworld, client):
    w = cworld
    m, sku = await household_merchant(w.net.village.id)
    phone = "139" + str(m.id % 10**8).zfill(8)
    await Merchant.filter(id=m.id).update(contact_phone=phone)
    c = await collect(w, merchant_id=m.id, sku_id=sku.id)
    await _receive(w, c, 20)
    row = await NotifyOutbox.get(moment="collection_received", ref=f"collection:{c['id']}")
    assert row.user_id == 0
    assert await wait_for(lambda: _sms(client, phone, row.id))
    sent = await _sms(client, phone, row.id)
    assert len(sent) == 1 and sent[0]["template_code"] == runtime.settings().aliyun_sms_collection_template_code
    row = await NotifyOutbox.get(id=row.id)
    assert (row.status, row.wechat, row.sms) == ("done", "no_account", "sent")


async def test_declined_template_falls_back_to_the_producers_phone(cworld, client):
    w = cworld
    tid = registry.MOMENTS["collection_received"].template_id()
    r = await w.household.post("/api/v1/subscriptions", json={"results": {tid: "reject"}})
    assert r.status_code == 200, r.text
    c = await collect(w)
    await _receive(w, c, 20)
    row = await NotifyOutbox.get(moment="collection_received", ref=f"collection:{c['id']}")
    assert await wait_for(lambda: _sms(client, "13900001234", row.id))
    row = await NotifyOutbox.get(id=row.id)
    assert (row.wechat, row.sms) == ("unsubscribed", "sent")
    assert await _inbox(client, w.household.id) == []


async def test_collection_list_screen_asks_for_the_template(client, settings):
    r = await client.get("/api/v1/subscribe-templates", params={"scene": "collection_list"})
    assert r.status_code == 200
    assert r.json()["template_ids"] == [settings.wechat_collection_received_template_id]
