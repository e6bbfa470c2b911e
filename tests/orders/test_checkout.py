"""Checkout: atomic reservation, snapshots, idempotency, bad input, scope, cancellation, no oversell."""
import asyncio

import pytest

from server.kit import clock
from server.models.catalog import Sku
from server.models.orders import Order, OrderEvent
from tests.conftest import login
from tests.orders.conftest import checkout, make_merchant, make_sku, make_station, pickup_body, token_actor


async def test_checkout_records_snapshot_and_reserves(client, buyer, station):
    a = await make_sku(price=2800, stock=10)
    b = await make_sku(price=999, stock=5, cold_chain=True)
    r = await checkout(buyer, pickup_body(station.id, (a.id, 2), (b.id, 5), note="周末取"))
    assert r.status_code == 201, r.text
    o = r.json()
    assert o["status"] == "pending_payment" and o["goods_fen"] == o["total_fen"] == 2 * 2800 + 5 * 999
    assert o["expires_at"] and o["station_id"] == station.id and o["buyer_id"] == buyer.id
    lines = {x["sku_id"]: x for x in o["lines"]}
    assert lines[a.id]["unit_price"] == 2800 and lines[a.id]["amount"] == 5600
    assert lines[a.id]["image"] == "/media/x.jpg" and lines[a.id]["product_name"].startswith("喀左陈醋")
    assert lines[b.id]["cold_chain"] is True and lines[b.id]["sku_spec"] == "500ml"
    assert lines[a.id]["merchant_id"] == (await a.product).merchant_id
    assert [(s.stock, s.reserved) for s in [await Sku.get(id=a.id), await Sku.get(id=b.id)]] == [(8, 2), (0, 5)]
    # the catalogue price changing later does not change the order
    await Sku.filter(id=a.id).update(price=1)
    again = (await buyer.get(f"/api/v1/orders/{o['id']}")).json()
    assert again["total_fen"] == o["total_fen"]


async def test_delivery_needs_an_address(client, buyer):
    sku = await make_sku()
    body = {"fulfilment": "delivery", "lines": [{"sku_id": sku.id, "quantity": 1}]}
    r = await checkout(buyer, body)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "address"
    body["address"] = {"name": "王秀兰", "phone": "13904210001", "town": "南公营子镇", "village": "八家子村",
                       "detail": "村委会东100米"}
    r = await checkout(buyer, body)
    assert r.status_code == 201, r.text
    assert r.json()["address"]["town"] == "南公营子镇"


async def test_idempotency_key_returns_the_same_order(client, buyer, station):
    sku = await make_sku(stock=10)
    body = pickup_body(station.id, (sku.id, 3))
    first = await checkout(buyer, body, key="retry-1")
    second = await checkout(buyer, body, key="retry-1")
    assert first.status_code == 201 and second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert (await Sku.get(id=sku.id)).stock == 7
    other = await checkout(buyer, pickup_body(station.id, (sku.id, 1)), key="retry-1")
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"
    # a different buyer may use the same key
    someone = await login(client)
    assert (await checkout(someone, body, key="retry-1")).json()["id"] != first.json()["id"]


async def test_concurrent_retries_with_one_key_make_one_order(client, station):
    sku = await make_sku(stock=100)
    actor = await token_actor(client)
    body = pickup_body(station.id, (sku.id, 2))
    rs = await asyncio.gather(*[checkout(actor, body, key="same-key") for _ in range(8)])
    assert {r.status_code for r in rs} == {201}, [r.text for r in rs if r.status_code != 201]
    assert len({r.json()["id"] for r in rs}) == 1
    assert await Order.filter(buyer_id=actor.id).count() == 1
    assert (await Sku.get(id=sku.id)).stock == 98


@pytest.mark.parametrize("body, field", [
    ({"fulfilment": "pickup", "station_id": 1, "lines": []}, "lines"),
    ({"fulfilment": "pickup", "station_id": 1}, "lines"),
    ({"fulfilment": "pickup", "station_id": 1, "lines": [{"sku_id": 2**70, "quantity": 1}]}, "lines.0.sku_id"),
    ({"fulfilment": "pickup", "station_id": 1, "lines": [{"sku_id": 1, "quantity": 0}]}, "lines.0.quantity"),
    ({"fulfilment": "pickup", "station_id": 1, "lines": [{"sku_id": 1, "quantity": "两"}]}, "lines.0.quantity"),
    ({"fulfilment": "pickup", "station_id": 1, "lines": [{"sku_id": 1, "quantity": 1, "price": 1}]},
     "lines.0.price"),
    ({"fulfilment": "teleport", "station_id": 1, "lines": [{"sku_id": 1, "quantity": 1}]}, "fulfilment"),
    ({"fulfilment": "pickup", "station_id": "x", "lines": [{"sku_id": 1, "quantity": 1}]}, "station_id"),
    ({"fulfilment": "pickup", "lines": [{"sku_id": 1, "quantity": 1}]}, "station_id"),
    ({"fulfilment": "pickup", "station_id": 1, "lines": [{"sku_id": 1, "quantity": 1}], "note": "a\x00b"}, "note"),
    ({"fulfilment": "pickup", "station_id": 1, "lines": [{"sku_id": 1, "quantity": 1}], "status": "paid"},
     "status"),
    ({"fulfilment": "pickup", "station_id": 1, "lines": [{"sku_id": 1, "quantity": 1},
                                                          {"sku_id": 1, "quantity": 2}]}, "lines.1.sku_id"),
    ({"fulfilment": "pickup", "station_id": 1, "lines": [{"sku_id": 1, "quantity": 100000}]}, "lines.0.quantity"),
])
async def test_bad_checkout_input_is_a_422_naming_the_field(client, buyer, body, field):
    r = await checkout(buyer, body)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    # control characters are caught before field validation; the message names the field then
    assert err["details"][0]["field"] == field or f" {field}: " in err["message"]


async def test_bad_idempotency_key_and_unknown_things(client, buyer, station):
    sku = await make_sku(stock=3)
    r = await checkout(buyer, pickup_body(station.id, (sku.id, 1)), key="x" * 65)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "Idempotency-Key"
    r = await checkout(buyer, pickup_body(station.id, (987654321, 1)))
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "lines.0.sku_id"
    r = await checkout(buyer, pickup_body(987654321, (sku.id, 1)))
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "station_id"
    closed = await make_station(status="suspended")
    assert (await checkout(buyer, pickup_body(closed.id, (sku.id, 1)))).status_code == 422
    r = await checkout(buyer, pickup_body(station.id, (sku.id, 1)) | {"source": {"kind": "nosuch"}})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "source.kind"
    r = await buyer.post("/api/v1/orders", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert (await Sku.get(id=sku.id)).stock == 3


async def test_off_sale_and_out_of_stock_leave_stock_untouched(client, buyer, station):
    ok = await make_sku(stock=5)
    off = await make_sku(stock=5, product_status="off_shelf")
    r = await checkout(buyer, pickup_body(station.id, (ok.id, 1), (off.id, 1)))
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_on_sale"
    suspended = await make_sku(stock=5, merchant=await make_merchant(status="suspended"))
    assert (await checkout(buyer, pickup_body(station.id, (suspended.id, 1)))).status_code == 409
    low = await make_sku(stock=1)
    # the first line reserves, the second fails: the whole order rolls back
    r = await checkout(buyer, pickup_body(station.id, (ok.id, 2), (low.id, 2)))
    assert r.status_code == 409 and r.json()["error"]["code"] == "out_of_stock"
    assert (await Sku.get(id=ok.id)).stock == 5 and (await Sku.get(id=low.id)).stock == 1
    assert (await Sku.get(id=ok.id)).reserved == 0


async def test_other_buyers_order_is_a_404(client, buyer, station):
    sku = await make_sku()
    oid = (await checkout(buyer, pickup_body(station.id, (sku.id, 1)))).json()["id"]
    other = await login(client)
    assert (await other.get(f"/api/v1/orders/{oid}")).status_code == 404
    assert (await other.post(f"/api/v1/orders/{oid}/cancel", json={})).status_code == 404
    assert (await other.post(f"/api/v1/orders/{oid}/pay")).status_code == 404
    assert (await other.post(f"/api/v1/orders/{oid}/refunds", json={})).status_code == 404
    assert (await other.get(f"/api/v1/orders/{oid}/refunds")).status_code == 404
    assert oid not in [o["id"] for o in (await other.get("/api/v1/orders")).json()["items"]]
    assert (await buyer.get(f"/api/v1/orders/{2**63}")).status_code == 404
    assert (await client.get(f"/api/v1/orders/{oid}")).status_code == 401


async def test_my_orders_pages_newest_first(client, station):
    sku = await make_sku(stock=50)
    actor = await token_actor(client)
    ids = [(await checkout(actor, pickup_body(station.id, (sku.id, 1)))).json()["id"] for _ in range(5)]
    p1 = (await actor.get("/api/v1/orders", params={"limit": 3})).json()
    p2 = (await actor.get("/api/v1/orders", params={"limit": 3, "cursor": p1["next_cursor"]})).json()
    assert [o["id"] for o in p1["items"] + p2["items"]] == ids[::-1] and p2["next_cursor"] is None
    assert (await actor.get("/api/v1/orders", params={"cursor": "!!"})).status_code == 422
    assert (await actor.get("/api/v1/orders", params={"status": "nope"})).status_code == 422


async def test_cancel_gives_stock_back_exactly_once(client, buyer, station):
    from jobs.orders import cancel_unpaid

    sku = await make_sku(stock=4)
    oid = (await checkout(buyer, pickup_body(station.id, (sku.id, 4)))).json()["id"]
    assert (await Sku.get(id=sku.id)).stock == 0
    r = await buyer.post(f"/api/v1/orders/{oid}/cancel", json={"reason": "买错了"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    again = await buyer.post(f"/api/v1/orders/{oid}/cancel", json={})
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"
    assert await cancel_unpaid(None, oid) == "skip"  # the timeout job arriving later changes nothing
    s = await Sku.get(id=sku.id)
    assert (s.stock, s.reserved) == (4, 0)
    assert await OrderEvent.filter(order_id=oid, to_status="cancelled").count() == 1


async def test_unpaid_order_times_out_and_the_sweeper_finds_it(client, buyer, station):
    from jobs.orders import cancel_unpaid
    from server.orders import service

    sku = await make_sku(stock=6)
    oid = (await checkout(buyer, pickup_body(station.id, (sku.id, 6)))).json()["id"]
    assert oid not in await service.due_unpaid()
    clock.shift(__import__("datetime").timedelta(minutes=16))
    try:
        assert oid in await service.due_unpaid()
        results = await asyncio.gather(cancel_unpaid(None, oid), cancel_unpaid(None, oid))
        assert sorted(results) == ["cancelled", "skip"]
    finally:
        clock.reset()
    o = await Order.get(id=oid)
    assert o.status == "cancelled" and o.cancel_reason == "timeout"
    assert (await Sku.get(id=sku.id)).stock == 6


async def test_200_concurrent_checkouts_for_50_units(client, station, on_postgres):
    sku = await make_sku(stock=50)
    actors = [await token_actor(client) for _ in range(200)]
    rs = await asyncio.gather(*[checkout(a, pickup_body(station.id, (sku.id, 1))) for a in actors])
    codes = [r.status_code for r in rs]
    summary = {c: codes.count(c) for c in set(codes)}
    assert codes.count(201) == 50 and codes.count(409) == 150, (
        summary, [r.text[:300] for r in rs if r.status_code not in (201, 409)][:3])
    assert all(r.json()["error"]["code"] == "out_of_stock" for r in rs if r.status_code == 409)
    s = await Sku.get(id=sku.id)
    assert (s.stock, s.reserved) == (0, 50)
    assert await Order.filter(lines__sku_id=sku.id).count() == 50


async def test_concurrent_multi_line_checkouts_do_not_deadlock(client, station):
    a, b, c = await make_sku(stock=30), await make_sku(stock=30), await make_sku(stock=30)
    actors = [await token_actor(client) for _ in range(40)]
    orders = [[(a.id, 1), (b.id, 1), (c.id, 1)], [(c.id, 1), (b.id, 1), (a.id, 1)]]
    rs = await asyncio.gather(*[checkout(x, pickup_body(station.id, *orders[i % 2])) for i, x in enumerate(actors)])
    codes = [r.status_code for r in rs]
    assert codes.count(201) == 30 and codes.count(409) == 10, codes
    for sku in (a, b, c):
        assert (await Sku.get(id=sku.id)).stock == 0


async def test_redis_down_during_checkout_is_a_503_without_an_order(client, buyer, station, monkeypatch):
    from redis.asyncio import Redis

    from server.kit import runtime

    sku = await make_sku(stock=5)
    await buyer.get("/api/v1/me")  # principal cached
    down = Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)  # nothing listens there
    monkeypatch.setattr(runtime.get(), "redis", down)
    r = await checkout(buyer, pickup_body(station.id, (sku.id, 1)))
    monkeypatch.undo()
    await down.aclose()
    assert r.status_code == 503 and r.json()["error"]["code"] == "service_unavailable"
    assert (await Sku.get(id=sku.id)).stock == 5
    assert await Order.filter(buyer_id=buyer.id).count() == 0


async def test_checkout_rate_limit(client, station, settings):
    from server.kit import runtime

    sku = await make_sku(stock=100)
    actor = await token_actor(client)
    s = runtime.settings()
    old = s.checkout_rate_per_minute
    s.checkout_rate_per_minute = 3
    try:
        rs = [await checkout(actor, pickup_body(station.id, (sku.id, 1))) for _ in range(4)]
    finally:
        s.checkout_rate_per_minute = old
    assert [r.status_code for r in rs] == [201, 201, 201, 429]


async def test_sold_out_and_back_invalidate_the_catalogue(client, buyer, station, monkeypatch):
    from server.catalog import cache

    seen = []

    async def record(pid):
        seen.append(pid)

    monkeypatch.setattr(cache, "invalidate_product", record)
    sku = await make_sku(stock=3)
    other = await make_sku(stock=10)
    oid = (await checkout(buyer, pickup_body(station.id, (sku.id, 3), (other.id, 1)))).json()["id"]
    assert seen == [sku.product_id]  # only the SKU that crossed zero
    assert (await buyer.post(f"/api/v1/orders/{oid}/cancel", json={})).status_code == 200
    assert seen == [sku.product_id, sku.product_id]  # and back on sale


async def test_failure_after_the_reservation_leaks_no_stock(client, buyer, station, monkeypatch):
    """Reservation and order are one atomic write: failing after the stock was taken takes both back."""
    from server.orders import service

    sku = await make_sku(stock=4)

    async def any_station_takes_pickups(*a, **k):
        return True

    # The order row then names a station that does not exist: its foreign key fails after the stock
    # was reserved (PostgreSQL: at the end of the one checkout statement; the ORM path: in its transaction).
    monkeypatch.setattr(service, "_pickup_station_ok", any_station_takes_pickups)
    r = await checkout(buyer, pickup_body(station.id + 10**9, (sku.id, 4)))
    monkeypatch.undo()
    assert r.status_code == 409, r.text  # the integrity error, never a 500
    s = await Sku.get(id=sku.id)
    assert (s.stock, s.reserved) == (4, 0)
    assert await Order.filter(buyer_id=buyer.id).count() == 0


async def test_json_bodies_are_strict_where_a_number_is_meant(client, buyer, station):
    """`"quantity": true` was accepted as 1: a JSON body's integer is a JSON number, nothing else
    (422 naming the field); query strings stay text ("?limit=5")."""
    sku = await make_sku(stock=10)
    for bad in (True, "1", 1.0, False):
        body = pickup_body(station.id, (sku.id, 1))
        body["lines"][0]["quantity"] = bad
        r = await checkout(buyer, body)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["details"][0]["field"] == "lines.0.quantity", r.text
    body = pickup_body(station.id, (sku.id, 1))
    body["station_id"] = str(station.id)
    r = await checkout(buyer, body)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "station_id"
    r = await buyer.post("/api/v1/cart/items", json={"sku_id": sku.id, "quantity": True})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "quantity"
    assert (await checkout(buyer, pickup_body(station.id, (sku.id, 2)))).status_code == 201
    r = await buyer.get("/api/v1/orders", params={"limit": "5"})
    assert r.status_code == 200 and len(r.json()["items"]) == 1


async def test_the_openapi_states_the_quantity_the_server_takes(client, buyer, station):
    from server.kit import runtime

    spec = (await client.get("/docs/openapi.json")).json()
    line = spec["components"]["schemas"]["CheckoutLineIn"]["properties"]["quantity"]
    assert (line["minimum"], line["maximum"]) == (1, runtime.settings().order_max_quantity) == (1, 99)
    sku = await make_sku(stock=200)
    r = await checkout(buyer, pickup_body(station.id, (sku.id, 100)))
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "lines.0.quantity"
    assert (await checkout(buyer, pickup_body(station.id, (sku.id, 99)))).status_code == 201
