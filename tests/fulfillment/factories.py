"""Builders for fulfilment tests: a town and its villages under the county centre, a merchant with
SKUs, paid orders with their stock reserved (as the orders capability leaves them)."""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from server.fulfillment import routing
from server.kit import clock
from server.models.catalog import Category, Product, Sku
from server.models.merchants import Merchant
from server.models.orders import Order, OrderLine
from server.models.stations import Station


@dataclass
class Network:
    county: Station
    town: Station
    village: Station
    village2: Station


async def network() -> Network:
    """A fresh town (unique name) with two village stations, under the county centre."""
    county = await Station.filter(level="county").order_by("id").first()
    if county is None:
        county = await Station.create(code="KZ-COUNTY", name="喀左县电子商务公共服务中心", level="county",
                                      town="大城子街道")
    tag = secrets.token_hex(3)
    town = await Station.create(code=f"T-{tag}", name=f"测试镇{tag}服务中心", level="town", parent=county,
                                town=f"测试镇{tag}")
    v1 = await Station.create(code=f"V1-{tag}", name=f"一村{tag}服务站", level="village", parent=town,
                              town=town.town, village=f"一村{tag}")
    v2 = await Station.create(code=f"V2-{tag}", name=f"二村{tag}服务站", level="village", parent=town,
                              town=town.town, village=f"二村{tag}")
    assert (await routing.county_station()).id == county.id
    return Network(county, town, v1, v2)


async def merchant_with_skus(n: int = 2, *, stock: int = 100, cold: tuple[bool, ...] = ()) -> tuple[Merchant, list[Sku]]:
    tag = secrets.token_hex(3)
    m = await Merchant.create(name=f"合作社{tag}", kind="cooperative", status="active")
    cat, _ = await Category.get_or_create(slug="ff-test", defaults={"name": "测试"})
    p = await Product.create(merchant=m, category=cat, name=f"小米{tag}", status="on_sale")
    skus = []
    for i in range(n):
        skus.append(await Sku.create(product=p, spec=f"{i + 1}kg", price=1000 * (i + 1), list_price=1200 * (i + 1),
                                     stock=stock, weight_g=1000, cold_chain=cold[i] if i < len(cold) else False))
    return m, skus


async def paid_order(buyer_id: int, items: list[tuple[Sku, int]], *, station: Station | None = None,
                     address: dict | None = None, status: str = "paid") -> Order:
    """A paid order as checkout and payment leave it: stock moved to reserved, sale posted."""
    from tortoise.expressions import F

    from server.kit.db import atomic
    from server.ledger import service as ledger

    total = sum(s.price * q for s, q in items)
    paid = status != "pending_payment"
    order = await Order.create(
        order_no="T" + secrets.token_hex(8), buyer_id=buyer_id, status=status,
        fulfilment="pickup" if station else "delivery", station=station, address=address,
        goods_fen=total, total_fen=total, paid_fen=total if paid else 0,
        payment_method="wechat_jsapi" if paid else "", paid_at=clock.now() if paid else None)
    for sku, q in items:
        product = await Product.get(id=sku.product_id)
        await OrderLine.create(order=order, merchant_id=product.merchant_id, product=product, sku=sku,
                               product_name=product.name, sku_spec=sku.spec, unit_price=sku.price, quantity=q,
                               amount=sku.price * q, cold_chain=sku.cold_chain)
        n = await Sku.filter(id=sku.id, stock__gte=q).update(stock=F("stock") - q, reserved=F("reserved") + q)
        assert n == 1
    if paid:
        # what applying the payment does: the ledger holds paid - refunded for every order
        async with atomic() as conn:
            await ledger.post_sale(order.id, conn)
    return order


def address(net: Network, *, village: bool = True, outside: bool = False) -> dict:
    if outside:
        return {"name": "王先生", "phone": "13800001111", "town": "朝阳区建国路街道", "village": "",
                "detail": "北京市朝阳区建国路1号"}
    return {"name": "李大姐", "phone": "13900002222", "town": net.town.town,
            "village": net.village.village if village else "", "detail": "三组12号"}
