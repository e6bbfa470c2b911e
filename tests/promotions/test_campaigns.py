"""Festival campaigns: built from products and coupons, shown by the mini-program API only while they
run (a cached page that turns at the start and the end), overlapping campaigns refused with the
reason, figures (orders, GMV, coupons used) for the console and the big screen."""
import asyncio
from datetime import timedelta

import pytest

from server.kit import clock
from server.kit import redis as kr
from server.kit.errors import Conflict, ValidationFailed
from server.models.accounts import User
from server.models.promotions import Campaign
from server.promotions import campaigns
from server.promotions.schemas import CampaignIn
from server.stats import service as stats
from tests.orders.conftest import checkout, make_sku, pay_and_notify, pickup_body
from tests.promotions.conftest import claim, make_coupon


@pytest.fixture
async def office_id():
    return (await User.create(openid="o-office-" + str(clock.timestamp()))).id


def _in(**kw) -> CampaignIn:
    return CampaignIn.model_validate(kw)


@pytest.fixture(autouse=True)
async def _no_campaigns_left():
    """Each test starts with no published campaign (they would overlap the next test's)."""
    await Campaign.filter(status="published").update(status="withdrawn")
    yield
    clock.reset()
    await Campaign.filter(status="published").update(status="withdrawn")
    await campaigns._invalidate()


async def test_a_campaign_shows_from_its_start_to_its_end_with_figures(client, buyer, station, office_id):
    sku = await make_sku(price=2000, stock=10)
    other = await make_sku(price=700, stock=10)
    coupon = await make_coupon(kind="full_reduction", threshold_fen=1500, amount_fen=300)
    now = clock.now()
    c = await campaigns.create_campaign(_in(title="喀左丰收节", starts_at=now + timedelta(hours=1),
                                            ends_at=now + timedelta(hours=3), product_ids=[sku.product_id],
                                            coupon_ids=[coupon.id]), actor_id=office_id)
    assert c.state == "draft"
    r = await client.get(f"/api/v1/campaigns/{c.id}")
    assert r.status_code == 404  # a draft is not shown
    published = await campaigns.publish(c.id, actor_id=office_id)
    assert published.state == "upcoming"
    r = await client.get("/api/v1/campaigns/running")
    assert r.status_code == 200 and r.json()["campaign"] is None  # not started yet (and cached so)

    clock.shift(timedelta(hours=1, minutes=1))  # the start passes: the cached page does not outlive it
    page = (await client.get("/api/v1/campaigns/running")).json()
    assert page["campaign"]["id"] == c.id and page["campaign"]["state"] == "running"
    assert [p["id"] for p in page["products"]] == [sku.product_id]
    assert [x["id"] for x in page["coupons"]] == [coupon.id] and page["coupons"][0]["description"] == "满15.00元减3.00元"

    # an order with a campaign product and the campaign's coupon; one with neither does not count
    uc = await claim(buyer, coupon.id)
    r = await checkout(buyer, pickup_body(station.id, (sku.id, 1), coupon_ids=[uc]))
    assert r.status_code == 201 and r.json()["total_fen"] == 1700, r.text
    assert (await pay_and_notify(buyer, r.json()["id"]))["delivered"]
    r2 = await checkout(buyer, pickup_body(station.id, (other.id, 1)))
    assert (await pay_and_notify(buyer, r2.json()["id"]))["delivered"]
    f = await campaigns.figures(c.id)
    assert (f.orders, f.gmv_fen, f.coupons_used, f.discount_fen) == (1, 1700, 1, 300)
    await kr.cache_delete(kr.key("stats", "screen", "campaign"))  # cached for seconds: an earlier test may have read it
    screen = await stats.screen_figures()
    assert screen["campaign"]["id"] == c.id and screen["campaign"]["gmv_fen"] == 1700

    clock.shift(timedelta(hours=2))  # the end passes
    assert (await client.get("/api/v1/campaigns/running")).json()["campaign"] is None
    ended = (await client.get(f"/api/v1/campaigns/{c.id}")).json()
    assert ended["campaign"]["state"] == "ended"  # a shared link still opens
    assert (await campaigns.figures(c.id)).orders == 1


async def test_overlapping_campaigns_are_refused_with_the_reason(office_id):
    sku = await make_sku()
    now = clock.now()
    a = await campaigns.create_campaign(_in(title="中秋", starts_at=now + timedelta(days=1),
                                            ends_at=now + timedelta(days=3), product_ids=[sku.product_id]),
                                        actor_id=office_id)
    await campaigns.publish(a.id, actor_id=office_id)
    b = await campaigns.create_campaign(_in(title="国庆", starts_at=now + timedelta(days=2),
                                            ends_at=now + timedelta(days=5), product_ids=[sku.product_id]),
                                        actor_id=office_id)
    with pytest.raises(Conflict) as exc:
        await campaigns.publish(b.id, actor_id=office_id)
    assert exc.value.code == "campaign_overlap" and "中秋" in exc.value.message
    assert exc.value.details[0]["campaign_id"] == a.id
    assert (await campaigns.get_campaign(b.id)).status == "draft"
    # back to back is not an overlap; after the first is withdrawn the second publishes
    c = await campaigns.create_campaign(_in(title="重阳", starts_at=now + timedelta(days=3),
                                            ends_at=now + timedelta(days=4), product_ids=[sku.product_id]),
                                        actor_id=office_id)
    assert (await campaigns.publish(c.id, actor_id=office_id)).status == "published"
    await campaigns.withdraw(c.id, actor_id=office_id)
    await campaigns.withdraw(a.id, actor_id=office_id)
    assert (await campaigns.publish(b.id, actor_id=office_id)).state == "upcoming"


async def test_two_overlapping_campaigns_published_at_once_one_wins(app, office_id):
    """The overlap check and the publish are one decision (an advisory lock on PostgreSQL): two
    overlapping drafts published at the same moment never both go live."""
    sku = await make_sku()
    now = clock.now()
    drafts = [await campaigns.create_campaign(_in(title=t, starts_at=now + timedelta(days=d),
                                                  ends_at=now + timedelta(days=d + 2), product_ids=[sku.product_id]),
                                              actor_id=office_id) for t, d in (("春耕", 1), ("开犁", 2))]
    got = await asyncio.gather(*[campaigns.publish(c.id, actor_id=office_id) for c in drafts], return_exceptions=True)
    assert sorted(type(x).__name__ for x in got) == ["CampaignOut", "Conflict"], got
    assert [x.code for x in got if isinstance(x, Conflict)] == ["campaign_overlap"]
    statuses = [(await campaigns.get_campaign(c.id)).status for c in drafts]
    assert sorted(statuses) == ["draft", "published"]


async def test_campaign_bad_input(office_id):
    now = clock.now()
    with pytest.raises(ValidationFailed) as exc:
        _in(title="x", starts_at=now, ends_at=now - timedelta(hours=1), product_ids=[1])
    assert exc.value.details[0]["field"] == "ends_at"
    with pytest.raises(ValidationFailed) as exc:
        await campaigns.create_campaign(_in(title="x", starts_at=now, ends_at=now + timedelta(hours=1),
                                            product_ids=[2**62]), actor_id=office_id)
    assert exc.value.details[0]["field"] == "product_ids"


async def test_editing_a_published_campaign_keeps_clear_of_the_others(office_id):
    sku = await make_sku()
    now = clock.now()
    a = await campaigns.create_campaign(_in(title="端午", starts_at=now + timedelta(days=1),
                                            ends_at=now + timedelta(days=2), product_ids=[sku.product_id]),
                                        actor_id=office_id)
    b = await campaigns.create_campaign(_in(title="七夕", starts_at=now + timedelta(days=5),
                                            ends_at=now + timedelta(days=6), product_ids=[sku.product_id]),
                                        actor_id=office_id)
    await campaigns.publish(a.id, actor_id=office_id)
    await campaigns.publish(b.id, actor_id=office_id)
    with pytest.raises(Conflict) as exc:
        await campaigns.update_campaign(b.id, _in(title="七夕", starts_at=now + timedelta(days=1, hours=12),
                                                  ends_at=now + timedelta(days=6), product_ids=[sku.product_id]),
                                        actor_id=office_id)
    assert exc.value.code == "campaign_overlap"
    assert (await campaigns.get_campaign(b.id)).starts_at == b.starts_at
    moved = await campaigns.update_campaign(b.id, _in(title="七夕节", starts_at=now + timedelta(days=2),
                                                      ends_at=now + timedelta(days=6), product_ids=[sku.product_id]),
                                            actor_id=office_id)
    assert moved.title == "七夕节" and moved.state == "upcoming"


async def test_figures_count_each_campaigns_orders_once_within_its_own_time(client, buyer, station, office_id):
    """An order counts when paid within the campaign's time and it holds one of its products or spent
    one of its coupons (once when both); the office's list sums every running or ended campaign at once."""
    sku = await make_sku(price=1000, stock=10)
    other = await make_sku(price=2000, stock=10)
    coupon = await make_coupon(kind="full_reduction", threshold_fen=1500, amount_fen=300, per_person_limit=5)
    now = clock.now()
    a = await campaigns.create_campaign(_in(title="冬至", starts_at=now + timedelta(hours=1),
                                            ends_at=now + timedelta(hours=3), product_ids=[sku.product_id],
                                            coupon_ids=[coupon.id]), actor_id=office_id)
    b = await campaigns.create_campaign(_in(title="小寒", starts_at=now + timedelta(hours=4),
                                            ends_at=now + timedelta(hours=5), product_ids=[sku.product_id]),
                                        actor_id=office_id)
    draft = await campaigns.create_campaign(_in(title="大寒", starts_at=now + timedelta(hours=6),
                                                ends_at=now + timedelta(hours=7), product_ids=[sku.product_id]),
                                            actor_id=office_id)
    await campaigns.publish(a.id, actor_id=office_id)
    await campaigns.publish(b.id, actor_id=office_id)

    async def paid(*lines, coupon_ids=()):
        r = await checkout(buyer, pickup_body(station.id, *lines, coupon_ids=list(coupon_ids)))
        assert r.status_code == 201, r.text
        assert (await pay_and_notify(buyer, r.json()["id"]))["delivered"]
        return r.json()["total_fen"]

    await paid((sku.id, 1))   # before the start: not counted
    clock.shift(timedelta(hours=1, minutes=1))
    assert await paid((sku.id, 1)) == 1000                                             # a product only
    assert await paid((other.id, 1), coupon_ids=[await claim(buyer, coupon.id)]) == 1700   # the coupon only
    assert await paid((sku.id, 1), (other.id, 1), coupon_ids=[await claim(buyer, coupon.id)]) == 2700  # both
    await paid((other.id, 1))   # neither
    listed = [await campaigns.get_campaign(i) for i in (a.id, b.id, draft.id)]
    assert await campaigns.figures_of(listed) == {a.id: await campaigns.figures(a.id)}   # b upcoming, a draft
    f = await campaigns.figures(a.id)
    assert (f.orders, f.gmv_fen, f.coupons_used, f.discount_fen) == (3, 5400, 2, 600)

    clock.shift(timedelta(hours=3))   # a has ended, b runs
    await paid((sku.id, 2))
    clock.shift(timedelta(hours=1))   # both ended
    listed = [await campaigns.get_campaign(i) for i in (a.id, b.id, draft.id)]
    got = await campaigns.figures_of(listed)
    assert set(got) == {a.id, b.id}
    assert (got[a.id].orders, got[a.id].gmv_fen, got[a.id].coupons_used, got[a.id].discount_fen) == (3, 5400, 2, 600)
    assert (got[b.id].orders, got[b.id].gmv_fen, got[b.id].coupons_used, got[b.id].discount_fen) == (1, 2000, 0, 0)
