"""Factories for the reviews tests: a visible product of a merchant, and an order of a buyer holding
one line of it, in the state a test needs (completed at the counter of a station, or only paid)."""
from __future__ import annotations

import io
import secrets

from PIL import Image

from tests.orders.conftest import make_station


def png(w: int = 32, h: int = 24) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 120, 40)).save(buf, "PNG")
    return buf.getvalue()


async def make_product(merchant=None, *, name: str | None = None, tag: str = "评价测试"):
    """A visible product with one SKU: (merchant, product, sku)."""
    from server.models.catalog import Category, Product, Sku
    from server.models.merchants import Merchant

    merchant = merchant or await Merchant.create(name="评价商户" + secrets.token_hex(3), kind="cooperative",
                                                 status="active")
    cat, _ = await Category.get_or_create(slug="t-reviews", defaults={"name": "杂粮"})
    p = await Product.create(merchant=merchant, category=cat, name=name or "喀左小米" + secrets.token_hex(2),
                             status="on_sale", visible=True, min_price=1200, images=[],
                             search_text=tag)
    sku = await Sku.create(product=p, spec="2.5kg", price=1200, list_price=1500, stock=50)
    return merchant, p, sku


async def make_order(buyer_id: int, sku, *, status: str = "completed", station=True, refunded: bool = False):
    """An order of buyer_id with one line of sku: (order, line). station: a pickup at a new station
    (True), delivery by courier (False)."""
    from server.kit import clock
    from server.models.catalog import Product
    from server.models.orders import Order, OrderLine

    st = await make_station() if station else None
    product = await Product.get(id=sku.product_id)
    now = clock.now()
    order = await Order.create(
        order_no="RV" + secrets.token_hex(8), buyer_id=buyer_id, status=status,
        fulfilment="pickup" if st else "delivery", station=st, goods_fen=sku.price, total_fen=sku.price,
        paid_fen=sku.price, paid_at=now, completed_at=now if status == "completed" else None,
        address=None if st else {"name": "张三", "phone": "13800000000", "town": "大城子镇", "village": "", "detail": "1号"})
    line = await OrderLine.create(order=order, merchant_id=product.merchant_id, product_id=product.id, sku_id=sku.id,
                                  product_name=product.name, sku_spec=sku.spec, unit_price=sku.price, quantity=1,
                                  amount=sku.price, refunded_qty=1 if refunded else 0)
    return order, line
