"""Attribution to commission: a live order paid through WeChat Pay (simulator) credits the
livestreamer in the ledger at the line's rate; a refund reverses it; the profile shows both."""
import pytest

from server.kit.money import apply_rate
from tests.conftest import login, wait_for
from tests.live.conftest import attach, go_live, make_goods, make_session, ticket_result
from tests.orders.conftest import pay_and_notify


@pytest.fixture
def no_handoff(monkeypatch):
    """Keep the paid order in `paid` (no warehouse hand-off), so its refund is approved at once."""
    from server.payments import service

    real = service.enqueue

    def enqueue(name, *args, **kw):
        if name != "fulfillment.handoff":
            real(name, *args, **kw)

    monkeypatch.setattr(service, "enqueue", enqueue)


async def test_paid_live_order_credits_the_livestreamer(client, streamer, station_id, no_handoff):
    from server.models.ledger import LedgerEntry
    from server.models.orders import Order

    goods = await make_goods(price=2800, list_price=3500)
    s = await make_session(streamer, commission_bp=800)
    await attach(streamer, s["id"], goods.sku_id, live_price=1990, quota=5, limit=2, commission_bp=1500)
    await go_live(streamer, s["id"])
    buyer = await login(client)
    r = await buyer.post(f"/api/v1/live/sessions/{s['id']}/orders",
                         json={"sku_id": goods.sku_id, "quantity": 2, "fulfilment": "pickup",
                               "station_id": station_id})
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"/api/v1/live/tickets/{r.json()['ticket']}"
    placed = await ticket_result(buyer, r.json())
    assert placed["status"] == "placed", placed
    order = placed["order"]
    assert order["total_fen"] == 3980 and order["source"] == "live"
    await pay_and_notify(buyer, order["id"])

    async def credited():
        return await LedgerEntry.filter(account_type="livestreamer", account_id=streamer.id,
                                        order_id=order["id"]).values_list("amount_fen", flat=True)

    assert await wait_for(credited)
    assert sum(await credited()) == apply_rate(3980, 1500)
    assert (await Order.get(id=order["id"])).livestreamer_id == streamer.id
    prof = (await streamer.get(f"/api/v1/live/livestreamers/{streamer.id}")).json()
    assert prof["commission_fen"] == apply_rate(3980, 1500)
    assert prof["commissions"][0]["order_id"] == order["id"]
    # the public profile shows no money of the livestreamer's own
    assert (await client.get(f"/api/v1/live/livestreamers/{streamer.id}")).json()["commissions"] is None
    # the whole order refunded before fulfilment: the commission is reversed
    r = await buyer.post(f"/api/v1/orders/{order['id']}/refunds", json={"reason": "不要了"})
    assert r.status_code == 201, r.text

    async def reversed_():
        return sum(await credited()) == 0

    assert await wait_for(reversed_, timeout=10)
    prof = (await streamer.get(f"/api/v1/live/livestreamers/{streamer.id}")).json()
    assert prof["commission_fen"] == 0


async def test_buy_now_input_and_scope(client, streamer, station_id):
    goods = await make_goods()
    s = await make_session(streamer)
    await attach(streamer, s["id"], goods.sku_id, quota=2, limit=1)
    buyer = await login(client)
    url = f"/api/v1/live/sessions/{s['id']}/orders"
    ok = {"sku_id": goods.sku_id, "quantity": 1, "fulfilment": "pickup", "station_id": station_id}
    r = await buyer.post(url, json=ok)  # not live yet
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "source.session_id"
    await go_live(streamer, s["id"])
    for body, field in (({**ok, "quantity": 0}, "quantity"), ({**ok, "quantity": 10**12}, "quantity"),
                        ({**ok, "price": 1}, "price"), ({**ok, "sku_id": "x"}, "sku_id"),
                        ({**ok, "fulfilment": "teleport"}, "fulfilment")):
        r = await buyer.post(url, json=body)
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == field, r.text
    assert (await client.post(url, json=ok)).status_code == 401
    assert (await buyer.post("/api/v1/live/sessions/99999999/orders", json=ok)).status_code == 422
    for body, field in (({**ok, "station_id": None}, "station_id"),
                        ({**ok, "fulfilment": "delivery", "station_id": None}, "address")):
        r = await buyer.post(url, json=body)  # refused before a unit is held
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == field, r.text
    first = await buyer.post(url, json=ok)
    assert first.status_code == 202
    r = await buyer.post(url, json=ok)
    assert r.status_code == 409 and r.json()["error"]["code"] == "live_buyer_limit"
    other = await login(client)
    second = await other.post(url, json=ok)
    assert second.status_code == 202
    # a ticket is its buyer's alone
    assert (await other.get(f"/api/v1/live/tickets/{first.json()['ticket']}")).status_code == 404
    assert (await other.get("/api/v1/live/tickets/nope")).status_code == 404
    assert (await client.get(f"/api/v1/live/tickets/{first.json()['ticket']}")).status_code == 401
    assert (await ticket_result(buyer, first.json()))["status"] == "placed"
    assert (await ticket_result(other, second.json()))["status"] == "placed"
    r = await (await login(client)).post(url, json=ok)
    assert r.status_code == 409 and r.json()["error"]["code"] == "live_sold_out"


async def test_a_disabled_account_gets_no_order_and_holds_nothing(client, streamer, station_id, admin):
    from live import gate
    from server.models.live import LivePurchase

    goods = await make_goods()
    s = await make_session(streamer)
    t = await attach(streamer, s["id"], goods.sku_id, quota=3, limit=1)
    await go_live(streamer, s["id"])
    buyer = await login(client)
    assert (await admin.post(f"/api/v1/console/users/{buyer.id}/disable")).status_code == 200
    r = await buyer.post(f"/api/v1/live/sessions/{s['id']}/orders",
                         json={"sku_id": goods.sku_id, "quantity": 1, "fulfilment": "pickup",
                               "station_id": station_id})
    # admitted on the token's signature alone; the worker checks the account and refuses it
    assert r.status_code == 202, r.text
    import orjson

    from server.kit import redis as kr

    async def verdict():  # the buyer cannot read it (their account is disabled): Redis can
        rec = orjson.loads(await kr.redis().get(kr.key("live", "ticket", r.json()["ticket"])))
        return rec if rec["status"] != "queued" else None

    done = await wait_for(verdict)
    assert done["status"] == "failed" and done["error"]["code"] == "account_disabled"
    assert done["error"]["status"] == 401
    # the gate's hold went back and nothing was written
    assert await gate.remaining(t["id"]) == 3
    assert not await LivePurchase.filter(tiein_id=t["id"], quantity__gt=0).exists()
    r = await client.post(f"/api/v1/live/sessions/{s['id']}/orders", headers={"Authorization": "Bearer x.y.z"},
                          json={"sku_id": goods.sku_id, "quantity": 1, "fulfilment": "pickup",
                                "station_id": station_id})
    assert r.status_code == 401
