from __future__ import annotations

import secrets
from dataclasses import dataclass

import pytest

from tests.conftest import Actor, login, login_as
from tests.conftest import wait_for as common_wait_for
from tests.fulfillment import factories as f
from tests.fulfillment.conftest import receive_batch  # noqa: F401 (re-exported for the tests)


async def wait_for(pred, timeout: float = 8.0, step: float = 0.05):
    """tests.conftest.wait_for, failing the test when the time runs out."""
    got = await common_wait_for(pred, timeout, step)
    if not got:
        raise AssertionError("condition not met in time")
    return got


@dataclass
class Shop:
    net: f.Network
    merchant: object
    skus: list
    member: Actor
    warehouse: Actor
    buyer: Actor


@pytest.fixture
async def shop(client) -> Shop:
    net = await f.network()
    m, skus = await f.merchant_with_skus(2, stock=200)
    from server.models.catalog import Product

    await Product.filter(id=skus[0].product_id).update(visible=True)  # on sale, as the review leaves it
    member = await login_as(client, "merchant", merchant_id=m.id)
    warehouse = await login_as(client, "warehouse")
    buyer = await login(client, "o-trace-" + secrets.token_hex(4))
    from server.models.accounts import User

    phone = "139" + f"{secrets.randbelow(10**8):08d}"
    await User.filter(id=buyer.id).update(phone=phone)
    buyer.user["phone"] = phone
    return Shop(net, m, skus, member, warehouse, buyer)


def batch_body(shop: Shop, code: str | None = None, **kw) -> dict:
    body = {"product_id": shop.skus[0].product_id, "code": code or "B" + secrets.token_hex(4).upper(),
            "producer_kind": "household", "producer_name": "王大爷", "origin_town": "南哨街道",
            "origin_village": "西沟村", "origin_plot": "东山坡2号地", "produced_on": "2026-09-20",
            "quantity": 500, "responsible_name": "王建国", "responsible_phone": "13812345678",
            "steps": [{"at": "2026-05-01T08:00:00+08:00", "actor": "王大爷", "description": "播种 谷子（小米）"},
                      {"at": "2026-09-20T08:00:00+08:00", "actor": "合作社", "description": "收获 晾晒"}],
            "inspections": [{"lab": "朝阳市农产品质量检测中心", "tested_on": "2026-09-25", "result": "pass",
                             "summary": "农残未检出"}]}
    body.update(kw)
    return body


async def make_batch(shop: Shop, **kw) -> dict:
    r = await shop.member.post(f"/api/v1/merchant/merchants/{shop.merchant.id}/batches", json=batch_body(shop, **kw))
    assert r.status_code == 201, r.text
    return r.json()


async def sell_from_batch(shop: Shop, batch_code: str, *, qty: int = 2, station=None, pack: bool = True) -> dict:
    """A paid order of the batch's first SKU, picked from the batch (and packed into a parcel)."""
    from server.fulfillment import service

    order = await f.paid_order(shop.buyer.id, [(shop.skus[0], qty)], station=station or shop.net.village)
    await receive_batch(shop.warehouse, shop.merchant.id, shop.skus[0].id, qty, batch=batch_code)
    task_id = await service.handoff(order.id)
    task = (await shop.warehouse.get(f"/api/v1/console/warehouse/tasks/{task_id}")).json()
    ln = task["lines"][0]
    r = await shop.warehouse.post(f"/api/v1/console/warehouse/tasks/{task_id}/pick",
                                  json={"sku_id": ln["sku_id"], "batch": batch_code, "quantity": ln["quantity"]})
    assert r.status_code == 200, r.text
    parcel = None
    if pack:
        r = await shop.warehouse.post(f"/api/v1/console/warehouse/tasks/{task_id}/parcels",
                                      json={"lines": [{"task_line_id": ln["id"], "quantity": ln["quantity"]}],
                                            "weight_g": 1000})
        assert r.status_code == 201, r.text
        parcel = r.json()
    return {"order": order, "task_id": task_id, "parcel": parcel}
