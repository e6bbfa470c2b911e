"""Factories for the training tests: stations, merchants, products and paid orders written straight
to the database (the outcomes read them; they do not care how they were made)."""
from __future__ import annotations

import secrets
from datetime import datetime

from server.kit import clock
from server.models.catalog import Category, Product, Sku
from server.models.merchants import Merchant
from server.models.orders import Order, OrderLine
from server.models.stations import Station


async def station(*, level: str = "village", poor: bool = False, town: str = "甘招镇",
                  village: str | None = None) -> Station:
    code = "T-" + secrets.token_hex(5)
    return await Station.create(code=code, name=f"{village or code}服务站", level=level, town=town,
                                village=village or ("村" + secrets.token_hex(3)), is_poor_village=poor)


async def merchant(name: str | None = None) -> Merchant:
    return await Merchant.create(name=name or "商户" + secrets.token_hex(3), kind="household", status="active")


async def product(m: Merchant, *, published_at: datetime | None = None) -> tuple[Product, Sku]:
    cat, _ = await Category.get_or_create(slug="t-grains", defaults={"name": "杂粮"})
    p = await Product.create(merchant=m, category=cat, name="小米" + secrets.token_hex(2), status="on_sale",
                             published_at=published_at or clock.now(), min_price=1000)
    sku = await Sku.create(product=p, spec="1kg", price=1000, list_price=1200, stock=100)
    return p, sku


async def paid_order(buyer_id: int, lines: list[tuple[Merchant, Product, Sku, int, int]], *,
                     paid_at: datetime | None = None, status: str = "paid", livestreamer_id: int | None = None,
                     live_session_id: int | None = None, commission_bp: int = 0,
                     refunded: int = 0) -> Order:
    """lines: (merchant, product, sku, unit price fen, quantity)."""
    total = sum(price * qty for _, _, _, price, qty in lines)
    o = await Order.create(order_no="T" + secrets.token_hex(8), buyer_id=buyer_id, status=status,
                           fulfilment="pickup", goods_fen=total, total_fen=total, paid_fen=total,
                           paid_at=paid_at or clock.now(), livestreamer_id=livestreamer_id,
                           live_session_id=live_session_id, source="live" if livestreamer_id else "")
    for i, (m, p, sku, price, qty) in enumerate(lines):
        await OrderLine.create(order=o, merchant=m, product=p, sku=sku, product_name=p.name, sku_spec=sku.spec,
                               unit_price=price, quantity=qty, amount=price * qty,
                               refunded_fen=refunded if i == 0 else 0, commission_bp=commission_bp)
    return o
