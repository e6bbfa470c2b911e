"""Station test helpers: a small network of stations, staff, and pickup orders made directly."""
from __future__ import annotations

import secrets

import pytest

from server.kit import clock
from server.models.orders import Order, OrderStatus
from server.models.stations import Station
from tests.conftest import login, login_as


async def make_station(level: str = "village", parent: Station | None = None, **kw) -> Station:
    tag = secrets.token_hex(4)
    defaults = dict(code=f"T-{level[0]}-{tag}", name=f"测试{level}站{tag}", level=level, parent=parent,
                    town=kw.pop("town", "测试镇"), village=kw.pop("village", f"村{tag}" if level == "village" else ""),
                    latitude=41.1, longitude=119.7, services=["pickup", "parcel"], status="active")
    defaults.update(kw)
    return await Station.create(**defaults)


async def make_network() -> dict:
    county = await make_station("county", town="")
    town = await make_station("town", county)
    a = await make_station("village", town, latitude=41.20, longitude=119.80)
    b = await make_station("village", town, latitude=41.30, longitude=119.90)
    return {"county": county, "town": town, "a": a, "b": b}


async def make_order(buyer_id: int, station_id: int, status: str = OrderStatus.PAID, total: int = 2800) -> Order:
    return await Order.create(order_no="KZT" + secrets.token_hex(8).upper(), buyer_id=buyer_id, status=status,
                              fulfilment="pickup", station_id=station_id, goods_fen=total, total_fen=total,
                              paid_fen=total if status != OrderStatus.PENDING_PAYMENT else 0,
                              payment_method="wechat_jsapi", paid_at=clock.now())


@pytest.fixture
async def net():
    return await make_network()


@pytest.fixture
async def staff_a(client, net):
    return await login_as(client, "station_staff", station_id=net["a"].id)


@pytest.fixture
async def staff_b(client, net):
    return await login_as(client, "station_staff", station_id=net["b"].id)


@pytest.fixture
async def buyer(client):
    return await login(client)


@pytest.fixture
def shift_clock():
    yield clock.shift
    clock.reset()


async def make_sku(price: int = 2800, stock: int = 100, merchant_kw: dict | None = None):
    """An on-sale SKU of an active merchant (made directly, not through review)."""
    from server.models.catalog import Category, Product, Sku
    from server.models.merchants import Merchant

    tag = secrets.token_hex(4)
    cat, _ = await Category.get_or_create(slug="t-stations", defaults={"name": "测试"})
    m = await Merchant.create(name=f"测试农户{tag}", kind="household", status="active", **(merchant_kw or {}))
    p = await Product.create(merchant=m, category=cat, name=f"小米{tag}", status="on_sale", min_price=price,
                             published_at=clock.now())
    return await Sku.create(product=p, spec="2.5kg", price=price, list_price=price, stock=stock)


async def make_paid_order(buyer_id: int, station_id: int, *, quantity: int = 1, sku=None):
    """A real pickup order through the orders service, paid in cash at the station."""
    from server.orders import service as orders_service
    from server.orders.schemas import CheckoutIn
    from server.payments import service as payments_service

    sku = sku or await make_sku()
    out = await orders_service.create_order(
        buyer_id, CheckoutIn(lines=[{"sku_id": sku.id, "quantity": quantity}], fulfilment="pickup",
                             station_id=station_id), idempotency_key=None)
    await payments_service.record_cash_payment(out.id, station_id=station_id, actor_id=None)
    return await Order.get(id=out.id)


async def with_code(pickup: dict) -> dict:
    """A staff-side pickup plus the code and QR only the buyer sees (read as the buyer's card is)."""
    from server.models.pickup import Pickup
    from server.stations import codes

    p = await Pickup.get(id=pickup["id"])
    return {**pickup, "code": p.code, "qr_payload": codes.sign_qr(p.id, p.station_id, p.deadline_at)}
