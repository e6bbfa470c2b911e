"""Factories for the promotions tests: coupons defined through the service, buyers, a pickup station."""
from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from server.kit import clock
from server.models.accounts import User
from server.promotions import service as promotions
from server.promotions.schemas import CouponIn
from tests.conftest import login
from tests.console.conftest import operator, sign_in
from tests.orders.conftest import make_station


async def make_coupon(*, merchant_id: int | None = None, **kw):
    """A coupon valid from an hour ago for a day (override anything)."""
    now = clock.now()
    data = {"name": "测试券", "kind": "instant", "amount_fen": 100, "valid_from": now - timedelta(hours=1),
            "valid_until": now + timedelta(days=1), "total_quantity": 100, **kw}
    actor = await User.create(openid="o-" + secrets.token_hex(8))
    return await promotions.create_coupon(CouponIn.model_validate(data), actor_id=actor.id, merchant_id=merchant_id)


@pytest.fixture
async def buyer(client):
    return await login(client)


@pytest.fixture
async def station():
    return await make_station()


async def claim(actor, coupon_id: int) -> int:
    r = await actor.post(f"/api/v1/coupons/{coupon_id}/claim")
    assert r.status_code == 201, r.text
    return r.json()["id"]


@pytest.fixture
async def office(settings, app):
    """The county office signed in to the web console."""
    _, phone = await operator("admin", name="王主任")
    b = await sign_in(settings, phone)
    yield b
    await b.client.aclose()
