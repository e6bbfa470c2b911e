"""The buyer is told when the merchant replies to their review (gap of #30): one subscribe message
through the notify outbox, written in the reply's transaction, sent once however often the job runs;
the review screen asks for the template."""
from __future__ import annotations

from server.models.accounts import User
from server.models.notify import NotifyOutbox
from server.notify import outbox, registry
from tests.conftest import login_as, wait_for
from tests.reviews.conftest import make_order, make_product

GOOD = {"product_stars": 5, "delivery_stars": 4, "station_stars": 5, "text": "小米很香"}


async def replies(client, user_id: int) -> list[dict]:
    openid = (await User.get(id=user_id)).openid
    r = await client.get("/__sim__/wechat/subscribe-messages", params={"touser": openid})
    tid = registry.MOMENTS["review_reply"].template_id()
    return [m for m in r.json()["items"] if m["template_id"] == tid]


async def test_a_reply_tells_the_buyer_once(client, consumer, settings):
    merchant, product, sku = await make_product(name="喀左陈醋回复测试")
    _, line = await make_order(consumer.id, sku)
    review = (await consumer.post(f"/api/v1/order-lines/{line.id}/review", json=GOOD)).json()
    member = await login_as(client, "merchant", merchant_id=merchant.id)
    reply = f"/api/v1/console/merchant-reviews/{review['id']}/reply"
    assert (await member.post(reply, json={"text": "谢谢您的支持，欢迎再来"})).status_code == 200
    assert await wait_for(lambda: replies(client, consumer.id)), "no review_reply message"
    items = await replies(client, consumer.id)
    assert len(items) == 1
    data = {k: v["value"] for k, v in items[0]["data"].items()}
    assert data["thing1"] == "喀左陈醋回复测试" and data["thing2"] == "谢谢您的支持，欢迎再来"
    assert "年" in data["time3"]
    assert items[0]["page"] == f"{settings.wechat_review_page}?id={review['id']}&line={line.id}"
    # a second delivery of the job (arq delivers at least once) sends nothing more
    assert await outbox.deliver("review_reply", f"review:{review['id']}") == {}
    row = await NotifyOutbox.get(moment="review_reply", ref=f"review:{review['id']}")
    assert row.user_id == consumer.id and row.wechat == "sent"
    assert len(await replies(client, consumer.id)) == 1


async def test_a_refused_reply_owes_nothing_and_the_review_screen_asks(client, consumer, settings):
    merchant, _, sku = await make_product()
    _, line = await make_order(consumer.id, sku)
    review = (await consumer.post(f"/api/v1/order-lines/{line.id}/review", json=GOOD)).json()
    member = await login_as(client, "merchant", merchant_id=merchant.id)
    r = await member.post(f"/api/v1/console/merchant-reviews/{review['id']}/reply", json={"text": "加微信领红包"})
    assert r.status_code == 422
    assert not await NotifyOutbox.filter(moment="review_reply", ref=f"review:{review['id']}").exists()
    r = await client.get("/api/v1/subscribe-templates", params={"scene": "review_submit"})
    assert r.status_code == 200 and r.json()["template_ids"] == [settings.wechat_review_reply_template_id]
