"""Catalog test factories: categories, active merchants with a logged-in member, products on sale."""
from __future__ import annotations

import io
import secrets

import pytest

from tests.conftest import Actor, login, login_as


def png_bytes(w: int = 40, h: int = 30, fmt: str = "PNG") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 30, 30)).save(buf, fmt)
    return buf.getvalue()


async def category(slug: str = "vinegar", name: str = "陈醋", parent_id: int | None = None) -> int:
    from server.models.catalog import Category

    cat, _ = await Category.get_or_create(slug=slug, defaults={"name": name, "parent_id": parent_id})
    return cat.id


async def make_merchant(*, status: str = "active", station_id: int | None = None, kind: str = "cooperative",
                        name: str | None = None) -> int:
    from server.models.merchants import Merchant

    m = await Merchant.create(name=name or "合作社" + secrets.token_hex(3), kind=kind, status=status,
                              town="利州街道", village="北街村", licence_no="L" + secrets.token_hex(6),
                              operated_by_station_id=station_id)
    return m.id


async def make_station() -> int:
    from server.models.stations import Station

    st = await Station.create(code="T-" + secrets.token_hex(4), name="测试服务站", level="village",
                              town="公营子镇", village="土城子村")
    return st.id


class Shop:
    """An active merchant and a member logged in for it."""

    def __init__(self, merchant_id: int, member: Actor):
        self.id, self.member = merchant_id, member


async def make_shop(client, **kw) -> Shop:
    mid = await make_merchant(**kw)
    return Shop(mid, await login_as(client, "merchant", merchant_id=mid))


def product_body(cat_id: int, /, **over) -> dict:
    body = {"category_id": cat_id, "name": "喀左老陈醋", "subtitle": "古法酿造",
            "description": "粮食酿造", "images": ["/media/product/x.png"], "brand": "kazuo_vinegar",
            "certifications": [{"kind": "geo_indication", "number": "GI-001", "issuer": "农业农村部"}],
            "skus": [{"spec": "500ml", "price": 2800, "list_price": 3500, "stock": 100, "weight_g": 600}]}
    body.update(over)
    return body


async def create_product(shop: Shop, category_id: int, **over) -> dict:
    r = await shop.member.post(f"/api/v1/merchant/merchants/{shop.id}/products",
                               json=product_body(category_id, **over))
    assert r.status_code == 201, r.text
    return r.json()


async def approve_latest(admin: Actor, product_id: int) -> dict:
    from server.models.catalog_reviews import ProductReview

    rev = await ProductReview.filter(product_id=product_id, status="pending").order_by("-id").first()
    assert rev is not None
    r = await admin.post(f"/api/v1/console/product-reviews/{rev.id}/approve")
    assert r.status_code == 200, r.text
    return r.json()


async def on_sale(shop: Shop, admin: Actor, category_id: int, **over) -> dict:
    p = await create_product(shop, category_id, **over)
    r = await shop.member.post(f"/api/v1/merchant/products/{p['id']}/submit")
    assert r.status_code == 200, r.text
    await approve_latest(admin, p["id"])
    r = await shop.member.get(f"/api/v1/merchant/products/{p['id']}")
    assert r.json()["status"] == "on_sale"
    return r.json()


@pytest.fixture
async def cat(app) -> int:
    return await category()


@pytest.fixture
async def shop(client) -> Shop:
    return await make_shop(client)


@pytest.fixture
async def other_shop(client) -> Shop:
    return await make_shop(client)


__all__ = ["login", "login_as"]
