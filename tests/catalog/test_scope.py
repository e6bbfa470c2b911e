"""Every merchant-side endpoint answers 404 for another merchant's objects (existence not revealed),
and station staff manage exactly the household merchants their station operates (代卖)."""
import pytest

from tests.catalog.conftest import (Shop, create_product, make_merchant, make_station, on_sale,
                                    png_bytes)
from tests.conftest import login_as


def _calls(mid: int, pid: int, sku: int):
    return [
        ("get", f"/api/v1/merchant/merchants/{mid}/products", None),
        ("post", f"/api/v1/merchant/merchants/{mid}/products", {"category_id": 1, "name": "x"}),
        ("get", f"/api/v1/merchant/products/{pid}", None),
        ("patch", f"/api/v1/merchant/products/{pid}", {"subtitle": "x"}),
        ("post", f"/api/v1/merchant/products/{pid}/submit", None),
        ("post", f"/api/v1/merchant/products/{pid}/off-shelf", None),
        ("get", f"/api/v1/merchant/products/{pid}/reviews", None),
        ("post", f"/api/v1/merchant/products/{pid}/skus", {"spec": "1kg", "price": 100}),
        ("patch", f"/api/v1/merchant/skus/{sku}", {"price": 1}),
        ("post", f"/api/v1/merchant/skus/{sku}/stock", {"delta": -1}),
        ("upload", f"/api/v1/merchant/merchants/{mid}/images", None),
    ]


async def _call(actor, method, url, body):
    if method == "upload":
        return await actor.post(url, files={"file": ("a.png", png_bytes(), "image/png")})
    if body is None:
        return await getattr(actor, method)(url)
    return await getattr(actor, method)(url, json=body)


async def test_other_merchants_objects_are_404_on_every_endpoint(client, admin, shop, other_shop, cat):
    p = await on_sale(shop, admin, cat)
    sku = p["skus"][0]["id"]
    before = (await shop.member.get(f"/api/v1/merchant/products/{p['id']}")).json()
    for method, url, body in _calls(shop.id, p["id"], sku):
        r = await _call(other_shop.member, method, url, body)
        assert r.status_code == 404, (method, url, r.status_code, r.text)
        # and a nonexistent id looks exactly the same
        missing = url.replace(f"/{shop.id}/", "/987654321/").replace(f"/{p['id']}", "/987654322").replace(
            f"/{sku}", "/987654323")
        r2 = await _call(other_shop.member, method, missing, body)
        assert r2.status_code == 404, (method, missing, r2.text)
    after = (await shop.member.get(f"/api/v1/merchant/products/{p['id']}")).json()
    assert after == before  # nothing was changed by the attempts


async def test_station_staff_manage_operated_household_only(client, admin, cat):
    station = await make_station()
    other_station = await make_station()
    household = await make_merchant(kind="household", station_id=station)
    elsewhere = await make_merchant(kind="household", station_id=other_station)
    staff = await login_as(client, "station_staff", station_id=station)
    mine = (await staff.get("/api/v1/merchant/merchants")).json()
    assert [m["id"] for m in mine] == [household]
    p = await create_product(Shop(household, staff), cat, name="代卖小米")
    assert p["merchant_id"] == household
    r = await staff.post(f"/api/v1/merchant/merchants/{household}/images",
                         files={"file": ("a.png", png_bytes(), "image/png")})
    assert r.status_code == 201, r.text
    r = await staff.post(f"/api/v1/merchant/merchants/{elsewhere}/products", json={"category_id": cat, "name": "x"})
    assert r.status_code == 404
    other_staff = await login_as(client, "station_staff", station_id=other_station)
    for method, url, body in _calls(household, p["id"], p["skus"][0]["id"]):
        r = await _call(other_staff, method, url, body)
        assert r.status_code == 404, (method, url, r.text)


@pytest.mark.parametrize("path", ["/api/v1/console/product-reviews", "/api/v1/console/merchants"])
async def test_console_is_admin_only(client, shop, path):
    assert (await shop.member.get(path)).status_code == 403
    assert (await client.get(path)).status_code == 401


async def test_consumers_cannot_use_merchant_endpoints(client, consumer, shop):
    r = await consumer.get(f"/api/v1/merchant/merchants/{shop.id}/products")
    assert r.status_code == 403
