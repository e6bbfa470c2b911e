"""Factories for the orders tests: a merchant with SKUs on sale, a pickup station, buyers with tokens."""
from __future__ import annotations

import secrets

import httpx
import pytest

from tests.conftest import Actor, login


async def make_merchant(status: str = "active"):
    from server.models.merchants import Merchant

    return await Merchant.create(name="测试商户" + secrets.token_hex(3), kind="cooperative", status=status)


async def make_sku(*, price: int = 1000, stock: int = 100, merchant=None, product_status: str = "on_sale",
                   cold_chain: bool = False):
    from server.models.catalog import Category, Product, Sku

    merchant = merchant or await make_merchant()
    cat, _ = await Category.get_or_create(slug="t-vinegar", defaults={"name": "陈醋"})
    p = await Product.create(merchant=merchant, category=cat, name="喀左陈醋" + secrets.token_hex(2),
                             status=product_status, min_price=price, images=["/media/x.jpg"])
    return await Sku.create(product=p, spec="500ml", price=price, list_price=price + 100, stock=stock,
                            cold_chain=cold_chain)


async def make_station(status: str = "active"):
    from server.models.stations import Station

    code = "T-" + secrets.token_hex(4)
    return await Station.create(code=code, name="测试服务站" + code, level="village", status=status,
                                services=["pickup", "assisted_purchase"])


async def token_actor(client: httpx.AsyncClient, openid: str | None = None) -> Actor:
    """A buyer made directly in the database with a token (fast, for concurrency tests)."""
    from server.kit.auth import issue_token
    from server.models.accounts import User

    user = await User.create(openid=openid or "o-" + secrets.token_hex(8))
    token = issue_token(user.id, ["consumer"], 0)
    return Actor(client, token, {"id": user.id, "roles": ["consumer"]})


def pickup_body(station_id: int, *lines, **extra) -> dict:
    return {"fulfilment": "pickup", "station_id": station_id,
            "lines": [{"sku_id": s, "quantity": q} for s, q in lines], **extra}


async def checkout(actor: Actor, body: dict, key: str | None = None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return await actor.post("/api/v1/orders", json=body, headers=headers)


def sim(path: str = "") -> str:
    """The simulator of the WeChat Pay API version in use (its demo helpers: pay, renotify, attempts)."""
    from server.kit import runtime

    v3 = runtime.settings().wechat_pay_api_version == "v3"
    return ("/__sim__/wechatpay/v3" if v3 else "/__sim__/wechatpay") + path


async def pay_and_notify(actor: Actor, order_id: int) -> dict:
    """Prepay (JSAPI) and make the simulated buyer pay; returns the sim's answer."""
    r = await actor.post(f"/api/v1/orders/{order_id}/pay")
    assert r.status_code == 200, r.text
    r2 = await actor.client.post(sim("/pay"), json={"out_trade_no": r.json()["out_trade_no"]})
    assert r2.status_code == 200, r2.text
    return r2.json()


_gateways: dict = {}


@pytest.fixture(params=["v2", "v3"])
async def pay_api(request, app, settings, monkeypatch) -> str:
    """Run the test on WeChat Pay v2 and on v3: the setting and the deployment's gateway switched."""
    from server.integrations import wechatpay_gateway
    from server.kit import runtime

    version = request.param
    monkeypatch.setattr(settings, "wechat_pay_api_version", version)
    key = (version, settings.wechat_pay_sim_key_mode)
    if key not in _gateways:
        _gateways[key] = wechatpay_gateway.build(settings, version)
    monkeypatch.setitem(runtime.get().extras, "wechatpay", _gateways[key])
    return version


@pytest.fixture
async def buyer(client) -> Actor:
    return await login(client)


@pytest.fixture
async def station():
    return await make_station()
