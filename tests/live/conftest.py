"""Livestream test factories: a merchant with an on-sale SKU, a livestreamer with a room, a session
made live through the Aliyun simulator (a real push URL, a real signed callback)."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

import pytest

from server.kit import clock
from tests.conftest import Actor, login, login_as, wait_for


@dataclass
class Goods:
    merchant_id: int
    product_id: int
    sku_id: int


async def make_goods(*, price: int = 2800, list_price: int = 3500, stock: int = 100, pooled: bool = True) -> Goods:
    """pooled: the merchant agreed to standard live terms (选品池), so any livestreamer may sell it."""
    from server.models.catalog import Category, Product, Sku
    from server.models.live_consent import LivePoolProduct
    from server.models.merchants import Merchant

    cat, _ = await Category.get_or_create(slug="live-test", defaults={"name": "直播测试"})
    m = await Merchant.create(name="喀左老醋坊" + secrets.token_hex(3), kind="cooperative", status="active")
    p = await Product.create(merchant_id=m.id, category_id=cat.id, name="喀左老陈醋", status="on_sale",
                             images=["/media/x.jpg"], min_price=price)
    s = await Sku.create(product_id=p.id, spec="500ml", price=price, list_price=list_price, stock=stock)
    if pooled:
        await LivePoolProduct.create(product_id=p.id, merchant_id=m.id, min_price_bp=0, max_commission_bp=10_000,
                                     agreement="测试：商户同意标准条款", added_by=0)
    return Goods(m.id, p.id, s.id)


async def make_station() -> int:
    from server.models.stations import Station

    st = await Station.create(code="LV" + secrets.token_hex(4), name="十家子村服务站", level="village",
                              services=["pickup"])
    return st.id


async def make_streamer(client) -> Actor:
    a = await login_as(client, "livestreamer")
    r = await a.put("/api/v1/live/me/profile", json={"display_name": "喀左小醋娘", "bio": "孵化基地学员"})
    assert r.status_code == 200, r.text
    return a


async def make_session(streamer: Actor, *, commission_bp: int = 1000, merchant_id: int | None = None) -> dict:
    body = {"title": "喀左好物直播间"}
    if merchant_id:
        body.update(on_behalf="merchant", merchant_id=merchant_id)
    r = await streamer.post("/api/v1/live/rooms", json={**body, "default_commission_bp": commission_bp})
    assert r.status_code == 201, r.text
    room = r.json()
    start = (clock.now() + timedelta(minutes=30)).isoformat()
    r = await streamer.post(f"/api/v1/live/rooms/{room['id']}/sessions",
                            json={"title": "陈醋专场", "scheduled_at": start})
    assert r.status_code == 201, r.text
    return r.json()


async def go_live(streamer: Actor, session_id: int, *, callback: bool = True) -> dict:
    r = await streamer.get(f"/api/v1/live/sessions/{session_id}/push-url")
    assert r.status_code == 200, r.text
    push = r.json()
    r = await streamer.client.post("/__sim__/aliyun-live/publish",
                                   json={"push_url": push["push_url"], "callback": callback})
    assert r.status_code == 200, r.text
    return push


async def attach(actor: Actor, session_id: int, sku_id: int, *, live_price: int = 1990, quota: int = 10,
                 limit: int | None = 2, **kw) -> dict:
    body = {"sku_id": sku_id, "live_price": live_price, "quota": quota, **kw}
    if limit is not None:
        body["per_buyer_limit"] = limit
    r = await actor.post(f"/api/v1/live/sessions/{session_id}/tieins", json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def buy(buyer_id: int, sku_id: int, session_id: int | None, station_id: int, qty: int = 1):
    """Check out through the orders service (the checkout the mini-program calls)."""
    from server.orders import service as orders
    from server.orders.schemas import CheckoutIn

    data = {"lines": [{"sku_id": sku_id, "quantity": qty}], "fulfilment": "pickup", "station_id": station_id}
    if session_id is not None:
        data["source"] = {"kind": "live", "session_id": session_id}
    return await orders.create_order(buyer_id, CheckoutIn.model_validate(data), idempotency_key=None)


async def ticket_result(http, ticket: dict, headers: dict | None = None, timeout: float = 10.0) -> dict:
    """Poll a buy-button ticket (GET /api/v1/live/tickets/{id}) until the worker has placed or failed it."""
    url = f"/api/v1/live/tickets/{ticket['ticket']}"
    last: dict = {}

    async def settled() -> bool:
        r = await (http.get(url, headers=headers) if headers else http.get(url))
        assert r.status_code == 200, r.text
        last.update(r.json())
        return last["status"] != "queued"

    await wait_for(settled, timeout)
    return last


@pytest.fixture
async def streamer(client) -> Actor:
    return await make_streamer(client)


@pytest.fixture
async def buyer(client) -> Actor:
    return await login(client)


@pytest.fixture
async def station_id() -> int:
    return await make_station()
