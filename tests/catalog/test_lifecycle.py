"""Product states, review, re-review keeping the approved version on sale, takedown, cache honesty."""
from server.models.catalog_reviews import ProductReview
from tests.catalog.conftest import approve_latest, create_product, on_sale


async def test_draft_submit_approve_then_visible(client, admin, shop, cat):
    p = await create_product(shop, cat)
    assert p["status"] == "draft" and p["min_price"] == 2800
    assert (await client.get(f"/api/v1/products/{p['id']}")).status_code == 404
    r = await shop.member.post(f"/api/v1/merchant/products/{p['id']}/submit")
    assert r.json()["status"] == "pending"
    assert (await client.get(f"/api/v1/products/{p['id']}")).status_code == 404
    q = await admin.get("/api/v1/console/product-reviews")
    assert any(x["product_id"] == p["id"] and x["kind"] == "listing" for x in q.json()["items"])
    await approve_latest(admin, p["id"])
    r = await client.get(f"/api/v1/products/{p['id']}")
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["name"] == "喀左老陈醋" and d["stock_state"] == "in_stock" and "stock" not in d["skus"][0]
    assert d["brand_label"] == "喀左陈醋" and d["certifications"][0]["kind"] == "geo_indication"
    assert "_expires_at" not in d


async def test_reject_shows_reason_and_resubmit(client, admin, shop, cat):
    p = await create_product(shop, cat)
    await shop.member.post(f"/api/v1/merchant/products/{p['id']}/submit")
    rev = await ProductReview.filter(product_id=p["id"]).first()
    r = await admin.post(f"/api/v1/console/product-reviews/{rev.id}/reject", json={"reason": "图片不清晰"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    r = await shop.member.get(f"/api/v1/merchant/products/{p['id']}")
    assert r.json()["status"] == "rejected" and r.json()["reject_reason"] == "图片不清晰"
    hist = (await shop.member.get(f"/api/v1/merchant/products/{p['id']}/reviews")).json()
    assert hist[0]["reason"] == "图片不清晰"
    # reviewing twice is a conflict, not a silent overwrite
    r = await admin.post(f"/api/v1/console/product-reviews/{rev.id}/approve")
    assert r.status_code == 409
    r = await shop.member.post(f"/api/v1/merchant/products/{p['id']}/submit")
    assert r.json()["status"] == "pending"


async def test_sensitive_change_waits_while_approved_version_stays(client, admin, shop, cat):
    p = await on_sale(shop, admin, cat)
    before = (await client.get(f"/api/v1/products/{p['id']}")).json()
    r = await shop.member.patch(f"/api/v1/merchant/products/{p['id']}",
                                json={"name": "新名字陈醋", "description": "新的描述"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "on_sale" and out["pending_revision"] is True
    assert out["name"] == "喀左老陈醋" and out["pending_changes"]["product"]["name"] == "新名字陈醋"
    d = (await client.get(f"/api/v1/products/{p['id']}")).json()
    assert d["name"] == before["name"]           # approved name still on sale
    assert d["description"] == "新的描述"         # non-sensitive change applies at once
    await approve_latest(admin, p["id"])
    d = (await client.get(f"/api/v1/products/{p['id']}")).json()
    assert d["name"] == "新名字陈醋"
    r = await client.get("/api/v1/products", params={"q": "新名字"})
    assert [x["id"] for x in r.json()["items"]] == [p["id"]]


async def test_big_price_cut_goes_to_review_small_cut_applies(client, admin, shop, cat):
    p = await on_sale(shop, admin, cat)
    sku = p["skus"][0]["id"]
    r = await shop.member.patch(f"/api/v1/merchant/skus/{sku}", json={"price": 2000})
    assert r.status_code == 200 and r.json()["skus"][0]["price"] == 2000
    assert (await client.get(f"/api/v1/products/{p['id']}")).json()["price"] == 2000
    r = await shop.member.patch(f"/api/v1/merchant/skus/{sku}", json={"price": 900})
    assert r.json()["skus"][0]["price"] == 2000 and r.json()["pending_revision"]
    assert (await client.get(f"/api/v1/products/{p['id']}")).json()["price"] == 2000
    rev = await ProductReview.filter(product_id=p["id"], status="pending").first()
    r = await admin.post(f"/api/v1/console/product-reviews/{rev.id}/reject", json={"reason": "价格异常"})
    assert r.status_code == 200
    out = (await shop.member.get(f"/api/v1/merchant/products/{p['id']}")).json()
    assert out["pending_revision"] is False and out["reject_reason"] == "价格异常"
    assert out["status"] == "on_sale" and out["skus"][0]["price"] == 2000
    await shop.member.patch(f"/api/v1/merchant/skus/{sku}", json={"price": 900})
    await approve_latest(admin, p["id"])
    assert (await client.get(f"/api/v1/products/{p['id']}")).json()["price"] == 900


async def test_takedown_is_immediate_and_merchant_sees_reason(client, admin, shop, cat):
    p = await on_sale(shop, admin, cat, name="监管测试醋")
    # warm the caches
    assert (await client.get(f"/api/v1/products/{p['id']}")).status_code == 200
    assert any(x["id"] == p["id"] for x in (await client.get("/api/v1/products", params={"q": "监管测试"})).json()["items"])
    r = await admin.post(f"/api/v1/console/products/{p['id']}/takedown", json={"reason": "抽检不合格"})
    assert r.status_code == 200 and r.json()["status"] == "off_shelf"
    assert (await client.get(f"/api/v1/products/{p['id']}")).status_code == 404
    assert (await client.get("/api/v1/products", params={"q": "监管测试"})).json()["items"] == []
    out = (await shop.member.get(f"/api/v1/merchant/products/{p['id']}")).json()
    assert out["takedown_reason"] == "抽检不合格"
    trail = (await admin.get("/api/v1/console/catalog-audit",
                             params={"object_type": "product", "object_id": p["id"]})).json()["items"]
    actions = [a["action"] for a in trail]
    assert actions[0] == "product.takedown" and "product.approve" in actions and "product.create" in actions
    assert trail[0]["actor_id"] == admin.id and trail[0]["data"]["reason"] == "抽检不合格"


async def test_merchant_off_shelf_and_stock_state_is_honest_through_cache(client, admin, shop, cat):
    p = await on_sale(shop, admin, cat, name="库存测试醋",
                      skus=[{"spec": "500ml", "price": 1000, "stock": 12}])
    sku = p["skus"][0]["id"]
    assert (await client.get(f"/api/v1/products/{p['id']}")).json()["stock_state"] == "in_stock"
    r = await shop.member.post(f"/api/v1/merchant/skus/{sku}/stock", json={"delta": -5})
    assert r.status_code == 200 and r.json()["stock"] == 7
    assert (await client.get(f"/api/v1/products/{p['id']}")).json()["stock_state"] == "low"
    r = await shop.member.post(f"/api/v1/merchant/skus/{sku}/stock", json={"delta": -8})
    assert r.status_code == 409
    await shop.member.post(f"/api/v1/merchant/skus/{sku}/stock", json={"delta": -7})
    d = (await client.get(f"/api/v1/products/{p['id']}")).json()
    assert d["stock_state"] == "sold_out" and d["skus"][0]["stock_state"] == "sold_out"
    items = (await client.get("/api/v1/products", params={"q": "库存测试"})).json()["items"]
    assert items[0]["stock_state"] == "sold_out"
    r = await shop.member.post(f"/api/v1/merchant/products/{p['id']}/off-shelf")
    assert r.status_code == 200 and r.json()["status"] == "off_shelf"
    assert (await client.get(f"/api/v1/products/{p['id']}")).status_code == 404


async def test_invalidate_product_hook_for_orders(client, admin, shop, cat):
    """The orders capability changes stock in SQL and calls invalidate_product: the cache follows."""
    from tortoise.expressions import F

    from server.catalog.cache import invalidate_product
    from server.models.catalog import Sku

    p = await on_sale(shop, admin, cat, skus=[{"spec": "1kg", "price": 1500, "stock": 3}])
    assert (await client.get(f"/api/v1/products/{p['id']}")).json()["stock_state"] == "low"
    await Sku.filter(id=p["skus"][0]["id"], stock__gte=3).update(stock=F("stock") - 3)
    await invalidate_product(p["id"])
    assert (await client.get(f"/api/v1/products/{p['id']}")).json()["stock_state"] == "sold_out"


async def test_suspended_merchant_disappears(client, admin, shop, cat):
    p = await on_sale(shop, admin, cat, name="暂停商户醋")
    assert (await client.get(f"/api/v1/shops/{shop.id}")).status_code == 200
    r = await admin.post(f"/api/v1/console/merchants/{shop.id}/suspend", json={"reason": "资质过期"})
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    assert (await client.get(f"/api/v1/products/{p['id']}")).status_code == 404
    assert (await client.get(f"/api/v1/shops/{shop.id}")).status_code == 404
    r = await shop.member.post(f"/api/v1/merchant/merchants/{shop.id}/products",
                               json={"category_id": cat, "name": "x"})
    assert r.status_code == 409
    await admin.post(f"/api/v1/console/merchants/{shop.id}/reinstate")
    assert (await client.get(f"/api/v1/products/{p['id']}")).status_code == 200
