"""The order queue's drain (#27): the worker writes queued tickets' orders a batch at a time, one
transaction per live session (the quota in one statement, the orders in one); a batch it cannot
write whole goes order by order, which says exactly why one fails; run twice, or by two drains at
once, it writes each order once."""
import asyncio

import orjson
import pytest

from jobs.worker import worker_kwargs
from live import checkout, figures, gate
from server.kit import redis as kr
from server.models.catalog import Sku
from server.models.live import LivePurchase, LiveTieIn
from server.models.orders import Order, OrderLine
from server.orders import service as orders
from tests.conftest import login, wait_for
from tests.live.conftest import attach, go_live, make_goods, make_session


async def _live(streamer, *, quota=10, limit=1, stock=100):
    goods = await make_goods(stock=stock)
    s = await make_session(streamer)
    t = await attach(streamer, s["id"], goods.sku_id, live_price=990, quota=quota, limit=limit)
    await go_live(streamer, s["id"])
    return goods, s, t


async def _queued(client, goods, s, t, station_id, n, *, limit=1) -> list[tuple[str, object]]:
    """n buyers admitted by the gate, their tickets written as the buy button writes them, but not
    in the queue (the test hands them to place_orders itself)."""
    out = []
    for _ in range(n):
        buyer = await login(client)
        verdict, hold = await gate.take(t["id"], buyer.id, 1, limit)
        assert verdict == gate.TAKEN
        rec = {"status": "queued", "buyer": buyer.id, "tv": 0, "session_id": s["id"], "tiein_id": t["id"],
               "sku_id": goods.sku_id, "qty": 1, "at": gate.now_ms(), "key": f"live-ticket-{hold}",
               "checkout": {"lines": [{"sku_id": goods.sku_id, "quantity": 1}], "fulfilment": "pickup",
                            "station_id": station_id, "note": "",
                            "source": {"kind": "live", "session_id": s["id"]}}}
        await kr.redis().set(kr.key("live", "ticket", hold), orjson.dumps(rec))
        out.append((hold, buyer))
    return out


@pytest.fixture
def batches(monkeypatch):
    """The sizes of the batches create_orders_together wrote."""
    sizes: list[int] = []
    real = orders.create_orders_together

    async def counting(items):
        ids = await real(items)
        sizes.append(len(items))
        return ids

    monkeypatch.setattr(checkout.orders, "create_orders_together", counting)
    return sizes


async def _consistent(goods, t, placed: int, quota: int, stock: int):
    tie = await LiveTieIn.get(id=t["id"])
    assert (tie.remaining, tie.sold) == (quota - placed, placed)
    sku = await Sku.get(id=goods.sku_id)
    assert (sku.stock, sku.reserved) == (stock - quota, placed)
    assert await gate.remaining(t["id"]) == quota - placed
    assert not await kr.redis().zcard(kr.key("live", "gate", t["id"]) + ":holds")  # every hold done


async def test_queued_tickets_are_written_in_one_batch(client, streamer, station_id, batches):
    goods, s, t = await _live(streamer)
    tickets = await _queued(client, goods, s, t, station_id, 6)
    assert await checkout.place_orders([h for h, _ in tickets]) == ["placed"] * 6
    assert batches == [6]
    for hold, buyer in tickets:
        view = (await buyer.get(f"/api/v1/live/tickets/{hold}")).json()
        assert view["status"] == "placed" and view["order"]["lines"][0]["unit_price"] == 990
        assert view["order"]["live_session_id"] == s["id"]
    assert await Order.filter(live_session_id=s["id"]).count() == 6
    assert set(await OrderLine.filter(sku_id=goods.sku_id).values_list("unit_price", flat=True)) == {990}
    await _consistent(goods, t, 6, 10, 100)
    f = await figures.read(s["id"])
    assert (f["orders"], f["units"], f["gmv_fen"], f["buyers"]) == (6, 6, 6 * 990, 6)


async def test_a_batch_run_twice_or_by_two_drains_at_once_writes_each_order_once(client, streamer, station_id):
    goods, s, t = await _live(streamer)
    tickets = [h for h, _ in await _queued(client, goods, s, t, station_id, 5)]
    first, second = await asyncio.gather(checkout.place_orders(tickets), checkout.place_orders(tickets))
    assert first == second == ["placed"] * 5
    ids = {h: orjson.loads(await kr.redis().get(kr.key("live", "ticket", h)))["order_id"] for h in tickets}
    # the worker died after its commit, before it wrote the tickets: the orders are found again
    for h in tickets:
        rec = orjson.loads(await kr.redis().get(kr.key("live", "ticket", h)))
        rec.update(status="queued")
        await kr.redis().set(kr.key("live", "ticket", h), orjson.dumps(rec))
    assert await checkout.place_orders(tickets) == ["placed"] * 5
    assert {h: orjson.loads(await kr.redis().get(kr.key("live", "ticket", h)))["order_id"] for h in tickets} == ids
    assert await Order.filter(live_session_id=s["id"]).count() == 5
    assert await LivePurchase.filter(tiein_id=t["id"], quantity=1).count() == 5
    await _consistent(goods, t, 5, 10, 100)


async def test_a_disabled_account_fails_alone_and_the_rest_go_together(client, streamer, station_id, admin,
                                                                       batches):
    goods, s, t = await _live(streamer)
    tickets = await _queued(client, goods, s, t, station_id, 4)
    bad_hold, bad = tickets[1]
    assert (await admin.post(f"/api/v1/console/users/{bad.id}/disable")).status_code == 200
    got = await checkout.place_orders([h for h, _ in tickets])
    assert got == ["placed", "failed", "placed", "placed"]
    assert batches == [3]
    rec = orjson.loads(await kr.redis().get(kr.key("live", "ticket", bad_hold)))
    assert rec["error"]["code"] == "account_disabled"
    await _consistent(goods, t, 3, 10, 100)


async def test_a_batch_the_database_refuses_goes_order_by_order(client, streamer, station_id, batches):
    goods, s, t = await _live(streamer, quota=5)
    tickets = [h for h, _ in await _queued(client, goods, s, t, station_id, 4)]
    # the database has fewer left than the gate admitted (the gate was ahead): the batch's take is
    # refused whole; alone, the first two fit and the others are told it sold out
    await LiveTieIn.filter(id=t["id"]).update(remaining=2, returned=3)
    got = await checkout.place_orders(tickets)
    assert batches == []  # nothing was written together
    assert sorted(got) == ["failed", "failed", "placed", "placed"]
    codes = [orjson.loads(await kr.redis().get(kr.key("live", "ticket", h))).get("error") for h in tickets]
    assert sorted(c["code"] for c in codes if c) == ["live_sold_out", "live_sold_out"]
    tie = await LiveTieIn.get(id=t["id"])
    assert (tie.remaining, tie.sold) == (0, 2)
    assert await Order.filter(live_session_id=s["id"]).count() == 2
    assert await LivePurchase.filter(tiein_id=t["id"], quantity__gt=0).count() == 2


async def test_the_buy_button_queue_drains_and_a_dead_drain_is_replaced(client, streamer, station_id):
    goods, s, t = await _live(streamer)
    buyers = [await login(client) for _ in range(8)]
    url = f"/api/v1/live/sessions/{s['id']}/orders"
    body = {"sku_id": goods.sku_id, "fulfilment": "pickup", "station_id": station_id}
    answers = await asyncio.gather(*[b.post(url, json=body) for b in buyers])
    assert [r.status_code for r in answers] == [202] * 8
    queue, flag = kr.key("live", "orderq"), kr.key("live", "orderq", "drain")

    async def drained():
        return not await kr.redis().zcard(queue) and not await kr.redis().exists(flag)
    assert await wait_for(drained)
    for b, r in zip(buyers, answers):
        assert (await b.get(f"/api/v1/live/tickets/{r.json()['ticket']}")).json()["status"] == "placed"
    await _consistent(goods, t, 8, 10, 100)

    # a ticket left in the queue with no drain coming (the drain died and its flag ran out): the
    # watch's ensure_drain enqueues one, and it is written
    [(hold, buyer)] = await _queued(client, goods, s, t, station_id, 1)
    await kr.redis().zadd(queue, {hold: gate.now_ms()})
    assert await checkout.ensure_drain()
    assert not await checkout.ensure_drain()  # one is due now

    async def placed():
        return (await buyer.get(f"/api/v1/live/tickets/{hold}")).json()["status"] == "placed"
    assert await wait_for(placed)
    assert await wait_for(drained)
    await _consistent(goods, t, 9, 10, 100)


async def test_a_drain_that_loses_redis_or_the_database_runs_again_in_a_second(monkeypatch):
    from arq import Retry
    from redis.exceptions import ConnectionError as RedisConnectionError
    from tortoise.exceptions import DBConnectionError

    from live import jobs

    for exc in (RedisConnectionError("Connection refused"), DBConnectionError("connection is closed")):
        async def failing(exc=exc):
            raise exc
        monkeypatch.setattr(jobs.checkout, "drain_orders", failing)
        with pytest.raises(Retry):
            await jobs.drain_orders({})


async def test_a_running_drain_keeps_its_flag_past_its_life_and_a_dead_ones_runs_out(client, streamer, station_id,
                                                                                   monkeypatch):
    """The drain flag lives DRAIN_FLAG_MS unless its drain runs: a batch held up in the database for
    longer than that keeps it (no second drain is enqueued meanwhile); once the drain is gone, the
    flag runs out within DRAIN_FLAG_MS and the watch enqueues a new drain."""
    monkeypatch.setattr(checkout, "DRAIN_FLAG_MS", 300)
    goods, s, t = await _live(streamer)
    [(hold, buyer)] = await _queued(client, goods, s, t, station_id, 1)
    queue, flag = kr.key("live", "orderq"), kr.key("live", "orderq", "drain")
    await kr.redis().zadd(queue, {hold: gate.now_ms()})
    await kr.redis().set(flag, "test", px=300)
    real = checkout.place_orders

    async def slow(tickets):
        await asyncio.sleep(1.0)  # three flag lives
        return await real(tickets)

    monkeypatch.setattr(checkout, "place_orders", slow)
    drain = asyncio.ensure_future(checkout.drain_orders())
    for _ in range(4):
        await asyncio.sleep(0.2)
        assert await kr.redis().exists(flag)
        assert not await checkout.ensure_drain()  # the running drain's flag: nothing enqueued
    assert await drain == {"placed": 1}
    assert not await kr.redis().exists(flag)  # the queue is empty: the drain ended its flag

    # a drain that dies: its flag is not renewed and runs out; the watch replaces it. The test's worker
    # runs the drains enqueued (by the watch, or late, an earlier test's): from here they only say they
    # ran, so that none renews the flag (a running drain renews it whatever its value) while the dead
    # drain's is staged.
    ran = []

    async def recorded():
        ran.append(1)
        return {}

    monkeypatch.setattr(checkout, "drain_orders", recorded)
    [(hold, buyer)] = await _queued(client, goods, s, t, station_id, 1)
    await kr.redis().zadd(queue, {hold: gate.now_ms()})
    await kr.redis().set(flag, "dead", px=300)
    assert not await checkout.ensure_drain()
    await asyncio.sleep(0.4)
    # ran out: a watch enqueues a new drain (this call, or the worker's own watch, a cron every 5 s, when
    # its tick fell in the sleep)
    assert await checkout.ensure_drain() or await kr.redis().get(flag) == b"sweep"

    async def drain_ran():
        return bool(ran)

    assert await wait_for(drain_ran)
    monkeypatch.undo()
    assert await checkout.drain_orders() == {"placed": 1}   # and a drain that runs places the ticket


async def test_a_renewer_outliving_its_drain_stops_on_its_own(monkeypatch):
    """A drain's renewer keeps its flag alive for DRAIN_RENEW_S at most, whatever became of its drain,
    so a renewer left behind cannot keep out the drain that replaces a lost one; and that bound is
    inside the job timeout that ends a drain anyway."""
    assert checkout.DRAIN_RENEW_S < worker_kwargs()["job_timeout"]
    monkeypatch.setattr(checkout, "DRAIN_FLAG_MS", 300)
    monkeypatch.setattr(checkout, "DRAIN_RENEW_S", 0.5)
    flag = kr.key("live", "orderq", "test-renewer")
    await kr.redis().set(flag, "orphan", px=300)
    renewing = asyncio.ensure_future(checkout._keep_flag(flag))  # its drain gone, nobody cancels it
    try:
        await asyncio.sleep(0.45)
        assert await kr.redis().exists(flag)  # renewed past its own 300 ms
        await asyncio.sleep(1.0)
        assert renewing.done()  # stopped by itself
        assert not await kr.redis().exists(flag)  # and the flag ran out
    finally:
        renewing.cancel()
