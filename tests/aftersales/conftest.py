from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image

from server.kit import clock
from server.models.orders import Order
from tests.conftest import login_as
from tests.fulfillment.conftest import World, make_world, ready_parcel


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


async def photo(buyer) -> str:
    r = await buyer.post("/api/v1/aftersales/photos", files={"file": ("bruised.png", png_bytes(), "image/png")})
    assert r.status_code == 201, r.text
    return r.json()["url"]


async def completed(w: World, order_id: int, merchant_id: int, *, ago_hours: float = 1) -> dict:
    """Hand off, pick, pack (one parcel) and mark the order completed ago_hours ago (a pickup collected)."""
    parcel = await ready_parcel(w, order_id, merchant_id)
    await Order.filter(id=order_id).update(status="completed", completed_at=clock.now() - timedelta(hours=ago_hours))
    return parcel


@pytest.fixture
async def world(client) -> World:
    """The fulfilment tests' world: a county-town-village network, warehouse and station staff, a buyer."""
    return await make_world(client)


@pytest.fixture
async def merchant_actor(client):
    async def make(merchant_id: int):
        return await login_as(client, "merchant", merchant_id=merchant_id)
    return make
