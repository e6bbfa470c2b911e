"""The demo data's promotions (server/demo.py seed_promotions): a platform coupon, the vinegar shop's
own coupon and a running festival campaign holding both; seeding again creates nothing more."""
from __future__ import annotations

from server import demo
from server.models.catalog import Product
from server.models.merchants import Merchant
from server.models.promotions import Campaign, Coupon
from server.promotions import campaigns
from tests.orders.conftest import make_sku


async def test_demo_coupons_and_running_campaign(client):
    await Campaign.filter(status="published").update(status="withdrawn")
    shop = await Merchant.filter(name=demo.MERCHANTS[0][0]).first()
    if shop is None:  # the test database holds no demo data: the shop and one of its products
        sku = await make_sku(price=2800)
        await Merchant.filter(id=(await Product.get(id=sku.product_id)).merchant_id).update(name=demo.MERCHANTS[0][0])
        shop = await Merchant.get(name=demo.MERCHANTS[0][0])
    try:
        assert await demo.seed_promotions() == {"coupons": 2, "campaigns": 1}
        assert await demo.seed_promotions() == {"coupons": 0, "campaigns": 0}
        platform = await Coupon.get(name=demo.DEMO_PLATFORM_COUPON)
        mine = await Coupon.get(name=demo.DEMO_SHOP_COUPON)
        assert (platform.funder, platform.merchant_id, platform.status) == ("platform", None, "active")
        assert (mine.funder, mine.merchant_id, mine.scope_ids) == ("merchant", shop.id, [shop.id])
        page = (await client.get("/api/v1/campaigns/running")).json()
        assert page["campaign"]["title"] == demo.DEMO_CAMPAIGN and page["campaign"]["state"] == "running"
        assert sorted(c["id"] for c in page["coupons"]) == sorted([platform.id, mine.id])
        assert page["products"] and all(p["merchant_id"] == shop.id for p in page["products"])
    finally:
        # leave no running campaign nor claimable coupons behind for other tests
        await Campaign.filter(title=demo.DEMO_CAMPAIGN).update(status="withdrawn")
        await Coupon.filter(name__in=[demo.DEMO_PLATFORM_COUPON, demo.DEMO_SHOP_COUPON]).update(status="paused")
        await campaigns._invalidate()
