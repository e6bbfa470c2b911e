"""The storefront answers cached JSON bytes built by hand (catalog/query.py); the shapes the OpenAPI
publishes for them (catalog/schemas.py) must accept what is actually sent."""
from __future__ import annotations

from server.catalog.schemas import CategoryNode, HomeOut, ProductCardPage, ProductDetail, ShopOut
from server.ledger.schemas import BalancesOut, MerchantBalancesOut
from tests.catalog.conftest import on_sale


async def test_storefront_bodies_match_their_published_schemas(client, admin, shop, cat):
    p = await on_sale(shop, admin, cat)
    detail = ProductDetail.model_validate((await client.get(f"/api/v1/products/{p['id']}")).json())
    assert detail.skus and detail.certifications and detail.merchant.id == shop.id
    listed = await client.get("/api/v1/products", params={"category_id": cat})
    page = ProductCardPage.model_validate(listed.json())
    assert p["id"] in [c.id for c in page.items]
    shop_page = ShopOut.model_validate((await client.get(f"/api/v1/shops/{shop.id}")).json())
    assert shop_page.merchant.products_on_sale >= 1
    HomeOut.model_validate((await client.get("/api/v1/home")).json())
    tree = (await client.get("/api/v1/categories")).json()
    assert tree and [CategoryNode.model_validate(n) for n in tree]


async def test_balances_match_their_published_schemas(admin, shop):
    BalancesOut.model_validate((await admin.get("/api/v1/console/ledger/balances")).json())
    mine = MerchantBalancesOut.model_validate((await shop.member.get("/api/v1/merchant/balance")).json())
    assert [b.merchant_id for b in mine.items] == [shop.id]
