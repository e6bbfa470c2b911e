"""Merchant input: bad values are 4xx naming the field; nothing half-written; HTML stays inert text."""
import pytest

from server.models.catalog import Product
from tests.catalog.conftest import create_product, on_sale, product_body


@pytest.mark.parametrize("over, field", [
    ({"skus": [{"spec": "1kg", "price": 0}]}, "price"),
    ({"skus": [{"spec": "1kg", "price": -5}]}, "price"),
    ({"skus": [{"spec": "1kg", "price": 10**15}]}, "price"),
    ({"skus": [{"spec": "1kg", "price": 3 * 10**9}]}, "price"),
    ({"skus": [{"spec": "1kg", "price": "100"}]}, "price"),
    ({"skus": [{"spec": "1kg", "price": 100, "cold_chain": "yes"}]}, "cold_chain"),
    ({"skus": [{"spec": "1kg", "price": 100, "stock": 10**9}]}, "stock"),
    ({"skus": [{"spec": "1kg", "price": 100, "list_price": 50}]}, "list_price"),
    ({"skus": [{"spec": "", "price": 100}]}, "spec"),
    ({"name": ""}, "name"), ({"name": "名" * 65}, "name"), ({"description": "x" * 5001}, "description"),
    ({"category_id": 987654321}, "category_id"), ({"category_id": "陈醋"}, "category_id"),
    ({"brand": "some_brand"}, "brand"), ({"images": ["javascript:alert(1)"]}, "images"),
    ({"images": ["/media/a.png"] * 10}, "images"), ({"images": ["https://evil.example/t.png"]}, "images"), ({"status": "on_sale"}, "status"),
    ({"merchant_id": 1}, "merchant_id"), ({"min_price": 1}, "min_price"), ({"sales": 99}, "sales"),
    ({"certifications": [{"kind": "famous", "number": "1"}]}, "kind"),
    ({"certifications": [{"kind": "green", "number": "1", "expires_on": "tomorrow"}]}, "expires_on"),
    ({"name": "醋\x00"}, "name"),
])
async def test_create_rejects_bad_fields_and_writes_nothing(client, shop, cat, over, field):
    before = await Product.filter(merchant_id=shop.id).count()
    r = await shop.member.post(f"/api/v1/merchant/merchants/{shop.id}/products", json=product_body(cat, **over))
    assert r.status_code == 422, r.text
    named = [d["field"] + " " + d["message"] for d in r.json()["error"]["details"]]
    assert any(field in f for f in named), named
    assert await Product.filter(merchant_id=shop.id).count() == before


async def test_non_json_and_wrong_types(client, shop, cat):
    url = f"/api/v1/merchant/merchants/{shop.id}/products"
    r = await shop.member.post(url, content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400
    r = await shop.member.post(url, json=[1, 2])
    assert r.status_code == 422
    r = await shop.member.post(url, json=product_body(cat, skus="many"))
    assert r.status_code == 422


async def test_html_is_stored_as_text_and_returned_as_json(client, admin, shop, cat):
    p = await on_sale(shop, admin, cat, name="<script>alert(1)</script>",
                      description='<img src=x onerror="alert(1)">')
    r = await client.get(f"/api/v1/products/{p['id']}")
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["name"] == "<script>alert(1)</script>"


async def test_stock_and_sku_edits_validate(client, admin, shop, cat):
    p = await create_product(shop, cat)
    sku = p["skus"][0]["id"]
    for body, field in (({"delta": 0}, "delta"), ({"delta": 10**7}, "delta"), ({"delta": "1"}, "delta"),
                        ({"stock": 5}, "stock")):
        r = await shop.member.post(f"/api/v1/merchant/skus/{sku}/stock", json=body)
        assert r.status_code == 422, (body, r.text)
    r = await shop.member.post(f"/api/v1/merchant/skus/{sku}/stock", json={"delta": 999_950})
    assert r.status_code == 422  # past the cap (100 + 999,950 > 1,000,000)
    for body in ({"price": 0}, {"price": None}, {"list_price": 1}, {"stock": 3}, {}):
        r = await shop.member.patch(f"/api/v1/merchant/skus/{sku}", json=body)
        assert r.status_code == 422, (body, r.text)
    r = await shop.member.patch(f"/api/v1/merchant/products/{p['id']}", json={"name": None})
    assert r.status_code == 422
    r = await shop.member.patch(f"/api/v1/merchant/products/{p['id']}", json={"category_id": 987654321})
    assert r.status_code == 422
    # submitting without an image or SKU is refused with the field named
    bare = await create_product(shop, cat, images=[], skus=[])
    r = await shop.member.post(f"/api/v1/merchant/products/{bare['id']}/submit")
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "skus"
    # a pending product cannot be edited under the reviewer
    await shop.member.post(f"/api/v1/merchant/products/{p['id']}/submit")
    r = await shop.member.patch(f"/api/v1/merchant/products/{p['id']}", json={"subtitle": "x"})
    assert r.status_code == 409


async def test_concurrent_stock_removals_never_go_negative(client, shop, cat, on_postgres):
    import asyncio

    from server.models.catalog import Sku

    p = await create_product(shop, cat, skus=[{"spec": "1kg", "price": 100, "stock": 10}])
    sku = p["skus"][0]["id"]
    rs = await asyncio.gather(*[shop.member.post(f"/api/v1/merchant/skus/{sku}/stock", json={"delta": -3})
                                for _ in range(8)])
    ok = [r for r in rs if r.status_code == 200]
    assert len(ok) == 3 and all(r.status_code == 409 for r in rs if r.status_code != 200)
    assert (await Sku.get(id=sku)).stock == 1


async def test_concurrent_reviews_apply_once(client, admin, shop, cat, on_postgres):
    import asyncio

    from server.models.catalog_reviews import ProductReview

    p = await create_product(shop, cat)
    await shop.member.post(f"/api/v1/merchant/products/{p['id']}/submit")
    rev = await ProductReview.filter(product_id=p["id"]).first()
    rs = await asyncio.gather(
        *[admin.post(f"/api/v1/console/product-reviews/{rev.id}/approve") for _ in range(3)],
        *[admin.post(f"/api/v1/console/product-reviews/{rev.id}/reject", json={"reason": "x"}) for _ in range(3)])
    assert sorted(r.status_code for r in rs) == [200, 409, 409, 409, 409, 409]
