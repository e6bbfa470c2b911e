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
