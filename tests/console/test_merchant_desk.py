"""The merchant's workspace over HTTP (商户工作台): products with photos (HEIC converted, oversized and
non-image files refused beside the field), review outcomes, price and stock, orders and refunds, batches
and label sheets; and scoping: another merchant's objects are never shown, in pages or fragments."""
from __future__ import annotations

import io
import secrets

import httpx
import pytest

from tests.catalog.conftest import approve_latest, category, make_merchant, png_bytes
from tests.conftest import login, wait_for
from tests.console.conftest import Browser, last_code, operator
from tests.orders.conftest import checkout, make_station, pay_and_notify, pickup_body


async def desk_sign_in(settings, phone: str, home: str) -> Browser:
    """Sign in through /console/login; /console/ then sends a merchant or livestreamer to `home`."""
    c = httpx.AsyncClient(base_url=settings.base_url, timeout=30, follow_redirects=False)
    b = Browser(c)
    await b.page("/console/login")
    r = await b.post("/console/login/code", {"phone": phone})
    assert r.headers.get("X-Kz-Sent") == "1", r.text
    r = await b.post("/console/login", {"phone": phone, "code": await last_code(c, phone)})
    assert r.headers.get("HX-Redirect") == "/console/", r.text
    r = await c.get("/console/")
    assert r.status_code == 303 and r.headers["location"] == home, r.status_code
    r = await b.page(home)
    assert r.status_code == 200, r.text
    return b


async def merchant_desk(settings, name: str = "王秀兰") -> tuple[Browser, int]:
    mid = await make_merchant()
    _, phone = await operator("merchant", name=name, merchant_id=mid)
    return await desk_sign_in(settings, phone, "/console/shop/"), mid


def heic_bytes(w: int = 64, h: int = 48) -> bytes:
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (20, 120, 40)).save(buf, format="HEIF")
    return buf.getvalue()


async def upload(b: Browser, data: bytes, name: str = "p.jpg", htmx: bool = False) -> httpx.Response:
    headers = {"X-CSRF-Token": b.csrf, **({"HX-Request": "true"} if htmx else {})}
    return await b.client.post("/console/shop/photos", files={"file": (name, data)}, headers=headers)


def photo_url(r: httpx.Response) -> str:
    import re

    m = re.search(r'name="images" value="([^"]+)"', r.text)
    assert m, r.text
    return m.group(1)


async def new_product(b: Browser, mid: int, cat: int, name: str, url: str | None = None, **over) -> int:
    from server.models.catalog import Product

    form = {"merchant_id": str(mid), "category_id": str(cat), "name": name, "spec": "500ml", "price": "28.50",
            "stock": "40", **over}
    if url:
        form["images"] = url
    r = await b.post("/console/shop/products", form)
    assert r.status_code == 200 and r.headers.get("HX-Redirect", "").startswith("/console/shop/products/"), r.text
    return (await Product.get(name=name, merchant_id=mid)).id


@pytest.mark.parametrize("text,fen", [("28", 2800), ("28.5", 2850), ("0.01", 1), ("1,280.00", 128000),
                                      ("0.001", None), ("0", None), ("-1", None), ("abc", None), ("", None),
                                      ("NaN", None), ("sNaN", None), ("Infinity", None), ("1e999999999", None),
                                      ("1000000.01", None)])
def test_prices_typed_in_yuan(text, fen):
    from server.console_web.merchant_desk import fen_from_yuan
    from server.kit.errors import ValidationFailed

    if fen is not None:
        assert fen_from_yuan(text, "price") == fen
    else:
        with pytest.raises(ValidationFailed) as exc:
            fen_from_yuan(text, "price")
        assert exc.value.details[0]["field"] == "price"


async def test_photos_heic_converted_and_bad_files_refused(settings, app):
    b, _ = await merchant_desk(settings)
    await b.page("/console/shop/products/new")
    r = await upload(b, png_bytes(120, 80, "JPEG"))
    assert r.status_code == 201 and photo_url(r).endswith(".jpg")
    r = await upload(b, heic_bytes(3000, 2000), "IMG_0001.HEIC")   # an iPhone photo: stored as JPEG, scaled
    assert r.status_code == 201, r.text
    stored = await b.client.get(photo_url(r))
    assert stored.status_code == 200 and stored.content[:3] == b"\xff\xd8\xff"
    from PIL import Image

    with Image.open(io.BytesIO(stored.content)) as img:
        assert img.size == (2048, 1365)
    r = await upload(b, b"\xff\xd8\xff" + secrets.token_bytes(12_000_000), "big.jpg")   # a 12 MB photo, unscaled
    assert r.status_code == 413 and "照片太大（超过 5 MB）" in r.text
    r = await upload(b, b"%PDF-1.7 not a photo", "invoice.pdf")
    assert r.status_code == 422 and "这不是照片" in r.text
    r = await upload(b, b"%PDF-1.7 not a photo", "invoice.pdf", htmx=True)   # the page's script reads the fragment
    assert r.status_code == 200 and "data-photo-error" in r.text and "这不是照片" in r.text
    r = await upload(b, b"\x00\x00\x00\x1cftypheic" + b"\x00" * 40, "broken.heic")
    assert r.status_code == 422 and "照片无法读取" in r.text
    # a photo without the CSRF token is refused
    r = await b.client.post("/console/shop/photos", files={"file": ("p.jpg", png_bytes())},
                            headers={"HX-Request": "true"})
    assert "页面已失效" in r.text and 'name="images"' not in r.text
    await b.client.aclose()


async def test_product_create_submit_review_outcome_price_and_stock(settings, app, admin):
    b, mid = await merchant_desk(settings)
    cat = await category()
    name = "喀左小米" + secrets.token_hex(2)
    await b.page("/console/shop/products/new")
    # bad input is named beside its field and nothing is written
    r = await b.post("/console/shop/products", {"merchant_id": str(mid), "category_id": str(cat), "name": "",
                                                "spec": "5斤装", "price": "abc"})
    assert 'data-field="name"' in r.text and "HX-Redirect" not in r.headers
    r = await b.post("/console/shop/products", {"merchant_id": str(mid), "category_id": str(cat), "name": name,
                                                "spec": "5斤装", "price": "12.345"})
    assert 'data-field="price"' in r.text and "请输入价格（元）" in r.text
    url = photo_url(await upload(b, png_bytes(200, 200, "JPEG")))
    pid = await new_product(b, mid, cat, name, url, spec="5斤装")
    r = await b.page(f"/console/shop/products/{pid}?created=1")
    assert "草稿" in r.text and "¥28.50" in r.text and url in r.text
    # stock through the catalog service; below zero is refused beside the field
    r = await b.post(f"/console/shop/skus/{(await _sku(pid))}/stock", {"product_id": str(pid), "delta": "-100"})
    assert 'data-field="delta"' in r.text and "库存不足" in r.text
    r = await b.post(f"/console/shop/skus/{(await _sku(pid))}/stock", {"product_id": str(pid), "delta": "+10"})
    assert "库存已调整为 50 件" in r.text
    r = await b.post(f"/console/shop/skus/{(await _sku(pid))}/price", {"product_id": str(pid), "price": "26"})
    assert "价格已更新" in r.text and "¥26.00" in r.text
    r = await b.post(f"/console/shop/products/{pid}/submit")
    assert "已提交审核" in r.text and 'id="product-status">待审核' in r.text
    # the county rejects it: the reason is on the merchant's page
    from server.models.catalog_reviews import ProductReview

    rev = await ProductReview.filter(product_id=pid, status="pending").first()
    rr = await admin.post(f"/api/v1/console/product-reviews/{rev.id}/reject", json={"reason": "照片不清晰"})
    assert rr.status_code == 200, rr.text
    r = await b.page(f"/console/shop/products/{pid}")
    assert "审核未通过：照片不清晰" in r.text and "已驳回" in r.text
    await b.post(f"/console/shop/products/{pid}/submit")
    await approve_latest(admin, pid)
    rr = await admin.post(f"/api/v1/console/products/{pid}/takedown", json={"reason": "抽检不合格"})
    assert rr.status_code == 200, rr.text
    r = await b.page(f"/console/shop/products/{pid}")
    assert "已被县电商办下架：抽检不合格" in r.text
    await b.client.aclose()


async def _sku(product_id: int) -> int:
    from server.models.catalog import Sku

    return (await Sku.filter(product_id=product_id).order_by("id").first()).id


async def _paid_order(client, sku_id: int) -> tuple[int, int, int]:
    """An order of the SKU paid through the WeChat Pay simulator: (order id, its line, the buyer)."""
    from server.models.orders import Order, OrderLine

    buyer = await login(client)
    r = await checkout(buyer, pickup_body((await make_station()).id, (sku_id, 1)))
    assert r.status_code == 201, r.text
    order_id = r.json()["id"]
    await pay_and_notify(buyer, order_id)
    assert await wait_for(lambda: Order.filter(id=order_id, status__in=("paid", "in_fulfilment")).exists(), 10)
    line = await OrderLine.filter(order_id=order_id).first()
    return order_id, line.id, buyer.id


async def test_orders_refunds_and_scoping(settings, app, admin, client):
    from tortoise.expressions import F

    from server.kit.db import atomic
    from server.kit.errors import Conflict
    from server.models.fulfillment import FulfillmentTask, TaskLine
    from server.models.orders import Order
    from server.models.payments import Refund
    from server.orders import refunds
    from server.orders import service as orders

    cat = await category()
    a, mid_a = await merchant_desk(settings, "甲商户")
    b, mid_b = await merchant_desk(settings, "乙商户")
    pa = await new_product(a, mid_a, cat, "甲的陈醋" + secrets.token_hex(2),
                           photo_url(await upload(a, png_bytes(60, 60, "JPEG"))))
    await a.post(f"/console/shop/products/{pa}/submit")
    await approve_latest(admin, pa)
    order_id, line_id, buyer_id = await _paid_order(client, await _sku(pa))
    # in the warehouse's hands (the worker's hand-off may have come first): a refund now waits for the
    # merchant (the buyer's request, as the app sends it)
    try:
        async with atomic() as conn:
            await orders.transition(order_id, ["paid"], "in_fulfilment", conn=conn)
    except Conflict:
        assert (await Order.get(id=order_id)).status == "in_fulfilment"
    # ... and picked, where the hand-off made the task first (before picking a refund is approved at
    # once, #25; without a task it waits too)
    tasks = await FulfillmentTask.filter(order_id=order_id).values_list("id", flat=True)
    await TaskLine.filter(task_id__in=tasks).update(picked_qty=F("quantity"))
    refund = await refunds.my_refund_request(buyer_id, order_id, {line_id: 1}, "包装破损")
    assert refund.status == "requested"
    r = await a.page("/console/shop/orders")
    assert f'data-order="{order_id}"' in r.text and f'data-refund="{refund.id}"' in r.text
    r = await a.page(f"/console/shop/orders/{order_id}")
    assert "包装破损" in r.text and "甲的陈醋" in r.text
    # B sees none of it: lists, pages and every fragment
    r = await b.page("/console/shop/orders")
    assert f'data-order="{order_id}"' not in r.text and f'data-refund="{refund.id}"' not in r.text
    r = await b.page("/console/shop/")
    assert "甲的陈醋" not in r.text and "包装破损" not in r.text
    for url in (f"/console/shop/orders/{order_id}", f"/console/shop/products/{pa}"):
        r = await b.client.get(url)
        assert r.status_code == 404 and "甲的陈醋" not in r.text, url
    for url, data in ((f"/console/shop/refunds/{refund.id}/approve", {"order_id": str(order_id)}),
                      (f"/console/shop/refunds/{refund.id}/reject", {"order_id": str(order_id), "reason": "x"}),
                      (f"/console/shop/products/{pa}/submit", {}), (f"/console/shop/products/{pa}/off-shelf", {}),
                      (f"/console/shop/skus/{await _sku(pa)}/stock", {"product_id": str(pa), "delta": "5"}),
                      (f"/console/shop/skus/{await _sku(pa)}/price", {"product_id": str(pa), "price": "1"}),
                      (f"/console/shop/products/{pa}/skus", {"spec": "x", "price": "1"})):
        r = await b.post(url, data, htmx=False)
        assert r.status_code == 404 and "甲的陈醋" not in r.text and "包装破损" not in r.text, (url, r.text[:300])
    for url in (f"/console/shop/orders/{order_id}", f"/console/shop/products/{pa}",
                f"/console/shop/products?merchant={mid_a}", f"/console/shop/batches?merchant={mid_a}"):
        r = await b.client.get(url, headers={"HX-Request": "true"})   # the fragments too
        assert "甲的陈醋" not in r.text and "包装破损" not in r.text, url
    # B cannot create a product for A
    r = await b.post("/console/shop/products", {"merchant_id": str(mid_a), "category_id": str(cat),
                                                "name": "冒名商品", "spec": "1", "price": "1"}, htmx=False)
    assert r.status_code == 404
    from server.models.catalog import Product

    assert not await Product.filter(name="冒名商品").exists()
    assert (await Refund.get(id=refund.id)).status == "requested"
    # A refuses without a reason: told beside the field; with one: refused
    r = await a.post(f"/console/shop/refunds/{refund.id}/reject", {"order_id": str(order_id), "reason": ""})
    assert "拒绝退款须填写原因" in r.text and (await Refund.get(id=refund.id)).status == "requested"
    r = await a.post(f"/console/shop/refunds/{refund.id}/reject", {"order_id": str(order_id), "reason": "已签收无破损"})
    assert "已拒绝退款" in r.text and (await Refund.get(id=refund.id)).status == "rejected"
    r = await a.post(f"/console/shop/refunds/{refund.id}/approve", {"order_id": str(order_id)})
    assert "状态已经改变" in r.text   # a second decision is told plainly
    # an office-only page stays closed to a merchant
    r = await a.client.get("/console/merchants")
    assert r.status_code == 403
    await a.client.aclose()
    await b.client.aclose()


async def test_batches_steps_inspections_and_labels(settings, app):
    a, mid = await merchant_desk(settings)
    b, _ = await merchant_desk(settings, "乙商户")
    cat = await category()
    pid = await new_product(a, mid, cat, "喀左红干椒" + secrets.token_hex(2))
    await a.page("/console/shop/batches")
    code = "B" + secrets.token_hex(3)
    r = await a.client.post("/console/shop/batches", data={"_csrf": a.csrf, "product_id": str(pid), "code": "坏 号"})
    assert r.status_code == 422 and 'data-field="code"' in r.text
    r = await a.client.post("/console/shop/batches", data={"_csrf": a.csrf, "product_id": str(pid), "code": code,
                                                           "quantity": "500"})
    assert r.status_code == 303, r.text
    batch_url = r.headers["location"]
    r = await a.client.post("/console/shop/batches", data={"_csrf": a.csrf, "product_id": str(pid), "code": code})
    assert r.status_code == 409 and "该批次号已用过" in r.text
    r = await a.page(batch_url)
    assert code in r.text
    r = await a.post(batch_url + "/steps", {"at": "2026-09-01T08:00", "actor": "张大爷", "description": ""})
    assert 'data-field="description"' in r.text
    r = await a.post(batch_url + "/steps", {"at": "2026-09-01T08:00", "actor": "张大爷", "description": "采摘晾晒"})
    assert "已添加生产环节" in r.text and "采摘晾晒" in r.text and "2026-09-01 08:00" in r.text
    r = await a.post(batch_url + "/inspections", {"lab": "朝阳市农产品检测中心", "tested_on": "2026-09-03",
                                                  "result": "pass"})
    assert "已添加检测报告" in r.text and "合格" in r.text
    r = await a.post(batch_url + "/codes", {"count": "3"})
    assert "已生成一物一码 No.1–No.3" in r.text
    r = await a.client.get(batch_url + "/labels?first=1&count=3")
    assert r.status_code == 200 and r.text.count('class="l"') == 3 and "<svg" in r.text
    r = await b.client.get(batch_url)
    assert r.status_code == 404 and code not in r.text
    r = await b.client.get(batch_url + "/labels?first=0&count=3")
    assert r.status_code == 404 and "<svg" not in r.text
    await a.client.aclose()
    await b.client.aclose()
