"""The buy button's queue (排队下单): an admitted buyer holds a unit and gets a ticket; the worker writes
the order; a failure tells the buyer why and gives the unit back, exactly once."""
import asyncio

import orjson

from tests.conftest import login
from tests.live.conftest import attach, go_live, make_goods, make_session, make_station, ticket_result


async def _live(streamer, *, quota=3, limit=1):
    goods = await make_goods()
    s = await make_session(streamer)
    t = await attach(streamer, s["id"], goods.sku_id, live_price=990, quota=quota, limit=limit)
    await go_live(streamer, s["id"])
    return goods, s, t


async def test_a_failed_queued_order_says_why_and_gives_the_unit_back(client, streamer):
    from live import gate
    from server.models.live import LivePurchase
    from server.models.orders import Order
    from server.models.stations import Station

    goods, s, t = await _live(streamer)
    closed = await make_station()
    await Station.filter(id=closed).update(status="suspended")
    buyer = await login(client)
    r = await buyer.post(f"/api/v1/live/sessions/{s['id']}/orders",
                         json={"sku_id": goods.sku_id, "fulfilment": "pickup", "station_id": closed})
    assert r.status_code == 202, r.text  # admitted: the station is the checkout's to judge
    done = await ticket_result(buyer, r.json())
    assert done["status"] == "failed" and done["order"] is None
    assert done["error"]["status"] == 422 and done["error"]["details"][0]["field"] == "station_id"
    assert await gate.remaining(t["id"]) == 3
    assert not await LivePurchase.filter(tiein_id=t["id"], quantity__gt=0).exists()
    assert not await Order.filter(live_session_id=s["id"]).exists()


async def test_a_repeated_idempotency_key_is_the_same_ticket_and_one_order(client, streamer, station_id):
    from server.models.orders import Order

    goods, s, _ = await _live(streamer, limit=2)
    buyer = await login(client)
    body = {"sku_id": goods.sku_id, "fulfilment": "pickup", "station_id": station_id}
    url = f"/api/v1/live/sessions/{s['id']}/orders"
    a = await buyer.post(url, json=body, headers={"Idempotency-Key": "press-1"})
    b = await buyer.post(url, json=body, headers={"Idempotency-Key": "press-1"})
    assert a.status_code == b.status_code == 202
    assert a.json()["ticket"] == b.json()["ticket"]
    assert (await ticket_result(buyer, a.json()))["status"] == "placed"
    c = await buyer.post(url, json=body, headers={"Idempotency-Key": "press-1"})
    assert c.json()["status"] == "placed" and c.json()["order"]["id"]
    assert await Order.filter(live_session_id=s["id"]).count() == 1


async def test_the_worker_runs_a_ticket_once_even_when_delivered_twice(client, streamer, station_id):
    from live import checkout
    from server.kit import redis as kr
    from server.models.orders import Order

    goods, s, t = await _live(streamer)
    buyer = await login(client)
    r = await buyer.post(f"/api/v1/live/sessions/{s['id']}/orders",
                         json={"sku_id": goods.sku_id, "fulfilment": "pickup", "station_id": station_id})
    ticket = r.json()["ticket"]
    placed = await ticket_result(buyer, r.json())
    assert placed["status"] == "placed"
    assert await checkout.place_order(ticket) == "placed"
    # the worker died after its commit, before it wrote the ticket: the order is found again, not made twice
    key = kr.key("live", "ticket", ticket)
    rec = orjson.loads(await kr.redis().get(key))
    rec["status"] = "queued"
    await kr.redis().set(key, orjson.dumps(rec))
    assert await checkout.place_order(ticket) == "placed"
    assert await Order.filter(live_session_id=s["id"]).count() == 1
    assert (await ticket_result(buyer, r.json()))["order"]["id"] == placed["order"]["id"]


async def test_a_ticket_the_worker_reaches_too_late_is_given_up(client, streamer, station_id):
    from live import checkout, gate
    from server.kit import redis as kr
    from server.models.orders import Order

    goods, s, t = await _live(streamer)
    buyer = await login(client)
    verdict, hold = await gate.take(t["id"], buyer.id, 1, 1)
    assert verdict == gate.TAKEN and await gate.remaining(t["id"]) == 2
    rec = {"status": "queued", "buyer": buyer.id, "session_id": s["id"], "tiein_id": t["id"],
           "sku_id": goods.sku_id, "qty": 1, "at": gate.now_ms() - (checkout.QUEUE_WAIT_S + 1) * 1000,
           "key": f"live-ticket-{hold}", "checkout": {}}
    await kr.redis().set(kr.key("live", "ticket", hold), orjson.dumps(rec))
    assert await checkout.place_order(hold) == "failed"
    assert await gate.remaining(t["id"]) == 3
    view = await ticket_result(buyer, {"ticket": hold})
    assert view["status"] == "failed" and view["error"]["code"] == "live_queue_timeout"
    assert not await Order.filter(live_session_id=s["id"]).exists()


async def test_a_ticket_whose_session_ended_meanwhile_fails_instead_of_the_shelf_price(client, streamer,
                                                                                        station_id):
    from live import checkout, gate
    from server.kit import redis as kr
    from server.models.orders import Order

    goods, s, t = await _live(streamer)
    buyer = await login(client)
    verdict, hold = await gate.take(t["id"], buyer.id, 1, 1)
    assert verdict == gate.TAKEN
    rec = {"status": "queued", "buyer": buyer.id, "tv": 0, "session_id": s["id"], "tiein_id": t["id"],
           "sku_id": goods.sku_id, "qty": 1, "at": gate.now_ms(), "key": f"live-ticket-{hold}",
           "checkout": {"lines": [{"sku_id": goods.sku_id, "quantity": 1}], "fulfilment": "pickup",
                        "station_id": station_id, "source": {"kind": "live", "session_id": s["id"]}}}
    await kr.redis().set(kr.key("live", "ticket", hold), orjson.dumps(rec))
    assert (await streamer.post(f"/api/v1/live/sessions/{s['id']}/end")).status_code == 200
    assert await checkout.place_order(hold) == "failed"
    view = await ticket_result(buyer, {"ticket": hold})
    assert view["error"]["code"] == "live_session_closed"
    assert not await Order.filter(live_session_id=s["id"]).exists()


async def test_a_winner_retrying_their_key_right_after_sold_out_gets_their_ticket(client, streamer, station_id,
                                                                                 monkeypatch):
    """The sold-out memory answers the crowd without Redis, but a repeated Idempotency-Key is looked
    up first: the winner's retry is their ticket, not 409 live_sold_out."""
    from live import gate

    monkeypatch.setattr(gate, "LOCAL_SOLD_OUT_S", 30.0)  # the retry lands well inside the memory's window
    goods, s, t = await _live(streamer, quota=1, limit=1)
    winner, late = await login(client), await login(client)
    body = {"sku_id": goods.sku_id, "fulfilment": "pickup", "station_id": station_id}
    url = f"/api/v1/live/sessions/{s['id']}/orders"
    a = await winner.post(url, json=body, headers={"Idempotency-Key": "win-1"})
    assert a.status_code == 202, a.text
    r = await late.post(url, json=body, headers={"Idempotency-Key": "late-1"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "live_sold_out"
    assert gate.sold_out_here(t["id"])  # the memory answers from now on
    # the memory's answer (rendered once) is the same answer, headers included
    m = await late.post(url, json=body)
    assert m.status_code == 409 and m.json() == r.json(), m.text
    assert m.headers["content-type"] == "application/json" and m.headers["x-request-id"]
    assert m.headers["x-content-type-options"] == "nosniff"
    again = await winner.post(url, json=body, headers={"Idempotency-Key": "win-1"})
    assert again.status_code == 202, again.text
    assert again.json()["ticket"] == a.json()["ticket"]
    r = await late.post(url, json=body, headers={"Idempotency-Key": "late-1"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "live_sold_out"
    other = await winner.post(url, json=body, headers={"Idempotency-Key": "win-2"})  # a new press: sold out
    assert other.status_code == 409 and other.json()["error"]["code"] == "live_sold_out"
    assert (await ticket_result(winner, a.json()))["status"] == "placed"


async def test_when_the_sold_out_memory_runs_out_one_press_asks_redis_for_the_crowd(client, streamer, station_id,
                                                                                  monkeypatch):
    """The memory of a sell-out lasts a quarter of a second; when it runs out, one take asks the gate
    again and the presses arriving meanwhile keep the 409 they had instead of each taking to Redis.
    A unit given back in another process is found by that one take (202), and the memory goes."""
    from live import gate
    from server.kit import redis as kr

    goods, s, t = await _live(streamer, quota=1, limit=1)
    url = f"/api/v1/live/sessions/{s['id']}/orders"
    body = {"sku_id": goods.sku_id, "fulfilment": "pickup", "station_id": station_id}
    winner = await login(client)
    first = await winner.post(url, json=body)
    assert first.status_code == 202, first.text
    crowd = [await login(client) for _ in range(12)]
    assert (await crowd[0].post(url, json=body)).status_code == 409
    assert gate.sold_out_here(t["id"])

    takes = 0
    real = kr.script_batched

    async def counted(name, keys, args):
        nonlocal takes
        if name == "live_take":
            takes += 1
            await asyncio.sleep(0.2)  # a slow round trip: the crowd arrives while it is out
        return await real(name, keys, args)

    monkeypatch.setattr(kr, "script_batched", counted)
    gate._sold_out_until[t["id"]] = 0.0  # the memory ran out
    answers = await asyncio.gather(*[c.post(url, json=body) for c in crowd[1:]])
    assert [a.status_code for a in answers] == [409] * len(answers)
    assert {a.json()["error"]["code"] for a in answers} == {"live_sold_out"}
    assert takes == 1
    assert gate.sold_out_here(t["id"]) and not gate._rechecking

    # Another process gave a unit back (this one's memory still says sold out, and has run out)
    await kr.script("live_give", gate._keys(t["id"]), [winner.id, 1, "", 1])
    gate._sold_out_until[t["id"]] = 0.0
    late = await crowd[1].post(url, json=body)
    assert late.status_code == 202, late.text
    assert not gate.sold_out_here(t["id"]) and t["id"] not in gate._sold_out_until
