"""Flash sale under concurrency over HTTP (not timed): zero oversell, nobody over the limit, quota,
stock and gate consistent. Runs on both backends; PostgreSQL is the one that matters (row locks)."""
import asyncio
import secrets

from tests.live.conftest import attach, go_live, make_goods, make_session, ticket_result


async def _buyers(n):
    from server.kit.auth import issue_token
    from server.models.accounts import User

    users = [await User.create(openid="o-flash-" + secrets.token_hex(6)) for _ in range(n)]
    return [(u.id, {"Authorization": "Bearer " + issue_token(u.id, ["consumer"], 0)}) for u in users]


async def test_flash_sale_never_oversells(client, streamer, station_id):
    from live import gate
    from server.models.catalog import Sku
    from server.models.live import LivePurchase, LiveTieIn
    from server.models.orders import Order, OrderLine

    quota, limit, stock = 12, 2, 40
    goods = await make_goods(stock=stock)
    s = await make_session(streamer)
    t = await attach(streamer, s["id"], goods.sku_id, live_price=990, quota=quota, limit=limit)
    await go_live(streamer, s["id"])
    buyers = await _buyers(30)
    body = {"lines": [{"sku_id": goods.sku_id, "quantity": 1}], "fulfilment": "pickup",
            "station_id": station_id, "source": {"kind": "live", "session_id": s["id"]}}

    quick = {"sku_id": goods.sku_id, "quantity": 1, "fulfilment": "pickup", "station_id": station_id}

    async def attempt(headers, i):
        # both doors at once: the plain checkout with a live source, and the live room's buy button
        # (whose admitted buyers get a ticket; the worker writes their orders)
        if i % 2:
            r = await client.post(f"/api/v1/live/sessions/{s['id']}/orders", json=quick, headers=headers)
            if r.status_code == 202:
                done = await ticket_result(client, r.json(), headers, timeout=30)
                return (201, None) if done["status"] == "placed" else (409, done["error"]["code"])
        else:
            r = await client.post("/api/v1/orders", json=body, headers=headers)
        return r.status_code, (r.json().get("error") or {}).get("code")

    # every buyer tries three times at once: 90 attempts for 12 units, at most 2 each
    results = await asyncio.gather(*[attempt(h, i) for _, h in buyers for i in range(3)])
    codes = [c for c, _ in results]
    assert all(c in (201, 409) for c in codes), results
    assert codes.count(201) == quota
    assert {e for c, e in results if c == 409} <= {"live_sold_out", "live_buyer_limit"}
    lines = await OrderLine.filter(sku_id=goods.sku_id).values("order__buyer_id", "quantity", "unit_price")
    assert sum(x["quantity"] for x in lines) == quota and {x["unit_price"] for x in lines} == {990}
    per_buyer: dict[int, int] = {}
    for x in lines:
        per_buyer[x["order__buyer_id"]] = per_buyer.get(x["order__buyer_id"], 0) + x["quantity"]
    assert max(per_buyer.values()) <= limit
    assert await Order.filter(live_session_id=s["id"]).count() == quota
    tie = await LiveTieIn.get(id=t["id"])
    sku = await Sku.get(id=goods.sku_id)
    assert (tie.remaining, tie.sold) == (0, quota)
    assert (sku.stock, sku.reserved) == (stock - quota, quota)
    purchases = dict(await LivePurchase.filter(tiein_id=t["id"]).values_list("buyer_id", "quantity"))
    assert {k: v for k, v in purchases.items() if v} == per_buyer
    assert await gate.remaining(t["id"]) == 0
