"""Checkout's group commit on PostgreSQL (service._OrderQueue): concurrent orders written by one
statement each get their own lines, prices, errors and cancel job; an order the batch's cautious
stock count turned away is tried again alone; a retried Idempotency-Key finds the first order."""
import asyncio

import pytest

from server.kit import runtime
from server.models.catalog import Sku
from server.models.orders import Order, OrderLine
from tests.conftest import PG_URL
from tests.orders.conftest import checkout, make_sku, pickup_body, token_actor

postgres_only = pytest.mark.skipif(not PG_URL, reason="group commit is the PostgreSQL path (SQLite writes through the ORM)")


@pytest.fixture
def batches(monkeypatch):
    """The number of orders in each _CHECKOUT_PG the test causes."""
    from server.orders import service

    sizes: list[int] = []
    real = service._checkout_rows

    async def counted(news, conn):
        sizes.append(len(news))
        return await real(news, conn)

    monkeypatch.setattr(service, "_checkout_rows", counted)
    return sizes


@postgres_only
async def test_a_batch_gives_each_order_its_own_lines_errors_and_cancel_job(client, station, batches):
    from arq.jobs import Job

    from server.kit import jobs
    from server.kit import redis as kr

    a, b, c = await make_sku(price=2800, stock=100), await make_sku(price=3990, stock=100), await make_sku(stock=100)
    off = await make_sku(stock=100, product_status="off_sale")
    actors = [await token_actor(client) for _ in range(24)]
    wanted = [[(a.id, 1 + i % 3), (b.id, 1), (c.id, 2)] if i % 2 else [(b.id, 2), (a.id, 1)] for i in range(20)]
    bodies = [pickup_body(station.id, *w) for w in wanted]
    bodies += [pickup_body(station.id, (a.id, 1), (off.id, 1)), pickup_body(station.id, (a.id, 1), (10**9, 1))]
    rs = await asyncio.gather(*[checkout(x, body) for x, body in zip(actors, bodies)])
    assert max(batches) > 1, batches  # the orders really went together
    assert [r.status_code for r in rs] == [201] * 20 + [409, 422], [r.text[:200] for r in rs]
    assert rs[20].json()["error"]["code"] == "not_on_sale"
    assert rs[21].json()["error"]["details"][0]["field"] == "lines.1.sku_id"
    price = {a.id: 2800, b.id: 3990, c.id: 1000}
    for r, w, x in zip(rs, wanted, actors):
        o = r.json()
        assert o["buyer_id"] == x.id and o["status"] == "pending_payment"
        assert [(ln["sku_id"], ln["quantity"], ln["unit_price"]) for ln in o["lines"]] == [
            (s, q, price[s]) for s, q in w]
        assert o["total_fen"] == sum(price[s] * q for s, q in w)
        stored = await OrderLine.filter(order_id=o["id"]).order_by("id").values_list("id", "sku_id", "quantity")
        assert stored == [(ln["id"], ln["sku_id"], ln["quantity"]) for ln in o["lines"]]
        job = Job(kr.key("job", f"orders.cancel:{o['id']}"), runtime.get().redis, _queue_name=jobs.queue_name())
        assert (await job.info()).args == (o["id"],)
    for sku in (a, b, c):
        taken = sum(q for w in wanted for s, q in w if s == sku.id)
        s = await Sku.get(id=sku.id)
        assert (s.stock, s.reserved) == (100 - taken, taken)
    assert (await Sku.get(id=off.id)).stock == 100


@postgres_only
async def test_an_order_the_batch_turned_away_for_stock_is_tried_alone(client, station, batches):
    """x has 1 unit, y has 1. In one batch the first order (2 x + 1 y) cannot be filled; the batch's
    count still holds its y against the second order (1 y), which alone fits and is written."""
    from server.kit.errors import Conflict
    from server.orders.schemas import CheckoutIn
    from server.orders.service import _NewOrder, _OrderQueue

    x, y = await make_sku(stock=1), await make_sku(stock=1)
    first, second = await token_actor(client), await token_actor(client)
    big = _NewOrder.start(first.id, CheckoutIn.model_validate(pickup_body(station.id, (x.id, 2), (y.id, 1))))
    small = _NewOrder.start(second.id, CheckoutIn.model_validate(pickup_body(station.id, (y.id, 1))))
    queue = _OrderQueue.current()
    got = await asyncio.gather(queue.place(big), queue.place(small), return_exceptions=True)
    assert batches == [2, 1]  # together, then the second alone (the first cannot fit even alone)
    assert isinstance(got[0], Conflict) and got[0].code == "out_of_stock" and got[0].details == {"sku_id": x.id}
    assert got[1] is None and small.id and [ln[0].id for ln in small.lines] == [y.id]
    assert [(await Sku.get(id=k.id)).stock for k in (x, y)] == [1, 0]
    assert await Order.filter(buyer_id=first.id).count() == 0


async def test_a_retried_key_after_the_stock_ran_out_returns_the_first_order(client, buyer, station):
    sku = await make_sku(stock=1)
    body = pickup_body(station.id, (sku.id, 1))
    first = await checkout(buyer, body, key="last-one")
    again = await checkout(buyer, body, key="last-one")
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    other = await checkout(buyer, body, key="another")
    assert other.status_code == 409 and other.json()["error"]["code"] == "out_of_stock"
    assert await Order.filter(buyer_id=buyer.id).count() == 1
