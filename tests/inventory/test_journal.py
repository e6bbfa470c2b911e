"""The stock journal (库存流水) through the API, and the inventory's rules: every change is journaled
with its reason and reference, a merchant sees its own SKUs' journal only, the office and the
warehouse see every SKU's; a refusal changes nothing; under-reserved is refused on every path; the
order state table is what transition() enforces."""
from __future__ import annotations

import pytest

from server.inventory import service as inventory
from server.inventory.errors import StockRefused
from server.kit.db import atomic
from server.models.catalog import Sku
from server.models.inventory import StockMove, StockReason
from server.models.orders import OrderStatus
from server.orders import service as orders
from tests.catalog.conftest import category, create_product, make_shop
from tests.conftest import login, login_as
from tests.orders.conftest import make_sku, make_station


async def _moves(actor, url: str, **params) -> dict:
    r = await actor.get(url, params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_merchant_reads_its_own_skus_journal_and_the_office_every_one(client, admin):
    shop, other = await make_shop(client), await make_shop(client)
    p = await create_product(shop, await category())
    sku_id = p["skus"][0]["id"]  # created with 100 units
    m = shop.member
    assert (await m.post(f"/api/v1/merchant/skus/{sku_id}/stock", json={"delta": 5})).status_code == 200
    assert (await m.post(f"/api/v1/merchant/skus/{sku_id}/stock", json={"delta": -3})).status_code == 200
    r = await m.post(f"/api/v1/merchant/skus/{sku_id}/stock", json={"delta": -1000})
    assert r.status_code == 409 and r.json()["error"]["code"] == "out_of_stock"  # was insufficient_stock
    url = f"/api/v1/merchant/skus/{sku_id}/stock-moves"
    page = await _moves(m, url)
    got = [(x["reason"], x["d_stock"], x["d_reserved"], x["ref_type"], x["ref_id"], x["actor_id"])
           for x in page["items"]]
    assert got == [("adjust", -3, 0, "sku", sku_id, m.id), ("adjust", 5, 0, "sku", sku_id, m.id),
                   ("create", 100, 0, "sku", sku_id, m.id)]
    assert page["next_cursor"] is None
    # keyset pages, newest first
    first = await _moves(m, url, limit=2)
    assert [x["d_stock"] for x in first["items"]] == [-3, 5] and first["next_cursor"]
    rest = await _moves(m, url, limit=2, cursor=first["next_cursor"])
    assert [x["d_stock"] for x in rest["items"]] == [100] and rest["next_cursor"] is None
    # the sum of the journal is the stock
    assert sum(x["d_stock"] for x in page["items"]) == (await Sku.get(id=sku_id)).stock == 102
    # another merchant: not found; a bad cursor: 422 naming it
    assert (await other.member.get(url)).status_code == 404
    r = await m.get(url, params={"cursor": "!!"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "cursor"
    # the office and the warehouse see every SKU; a consumer does not
    office = f"/api/v1/console/warehouse/stock/{sku_id}/moves"
    wh = await login_as(client, "warehouse")
    assert (await _moves(admin, office))["items"] == page["items"]
    assert (await _moves(wh, office))["items"] == page["items"]
    assert (await (await login(client)).get(office)).status_code == 403
    assert (await admin.get("/api/v1/console/warehouse/stock/999999999/moves")).status_code == 404


async def test_checkout_and_cancel_are_journaled_per_order_line(client):
    from tests.orders.conftest import checkout, pickup_body, token_actor

    station = await make_station()
    a, b = await make_sku(stock=10), await make_sku(stock=4)
    buyer = await token_actor(client)
    r = await checkout(buyer, pickup_body(station.id, (a.id, 3), (b.id, 4)))
    assert r.status_code == 201, r.text
    order = r.json()
    line = {x["sku_id"]: x["id"] for x in order["lines"]}
    r = await buyer.post(f"/api/v1/orders/{order['id']}/cancel", json={})
    assert r.status_code == 200, r.text
    for sku, n in ((a, 3), (b, 4)):
        rows = await StockMove.filter(sku_id=sku.id).order_by("id").values_list(
            "reason", "d_stock", "d_reserved", "ref_type", "ref_id", "actor_id")
        assert rows == [("checkout", -n, n, "order_line", line[sku.id], buyer.id),
                        ("cancel", n, -n, "order_line", line[sku.id], buyer.id)]
        fresh = await Sku.get(id=sku.id)
        assert (fresh.stock, fresh.reserved) == (sku.stock, 0)


async def test_under_reserved_is_refused_on_every_path_and_changes_nothing(app):
    """The one rule (server/inventory/__init__.py): release and ship both refuse stock_inconsistent."""
    sku = await make_sku(stock=5)
    await Sku.filter(id=sku.id).update(reserved=1)  # the books are wrong: 1 reserved, 2 about to move
    for call in (lambda c: inventory.release(c, [inventory.Move(sku.id, 2, "parcel", 1)], StockReason.UNPACK),
                 lambda c: inventory.release(c, [inventory.Move(sku.id, 2, "fulfillment_task", 1)],
                                             StockReason.TASK_CANCEL),
                 lambda c: inventory.ship(c, [inventory.Move(sku.id, 2, "parcel", 1)])):
        with pytest.raises(StockRefused) as e:
            async with atomic() as conn:
                await call(conn)
        assert e.value.code == "stock_inconsistent" and e.value.status == 409
        assert e.value.details == {"sku_id": sku.id, "quantity": 2}
    fresh = await Sku.get(id=sku.id)
    assert (fresh.stock, fresh.reserved) == (5, 1)
    assert not await StockMove.filter(sku_id=sku.id).exists()


async def test_moves_run_in_sku_order_and_a_refusal_rolls_back_the_earlier_ones(app):
    a, b = await make_sku(stock=5), await make_sku(stock=1)
    with pytest.raises(StockRefused) as e:
        async with atomic() as conn:  # given out of order: b (short) is the later id, a is taken first
            await inventory.reserve(conn, [inventory.Move(b.id, 2), inventory.Move(a.id, 1)])
    assert e.value.code == "out_of_stock" and e.value.details == {"sku_id": b.id}
    assert [(s.stock, s.reserved) for s in [await Sku.get(id=a.id), await Sku.get(id=b.id)]] == [(5, 0), (1, 0)]
    assert not await StockMove.filter(sku_id__in=[a.id, b.id]).exists()


def test_the_order_state_table_is_what_transition_enforces():
    S = OrderStatus
    assert set(S.ALLOWED) == set(S.ALL)
    assert all(set(to) <= set(S.ALL) for to in S.ALLOWED.values())
    assert S.ALLOWED[S.CANCELLED] == S.ALLOWED[S.CLOSED] == ()


@pytest.mark.parametrize("frm,to", [(OrderStatus.COMPLETED, OrderStatus.PAID),
                                    (OrderStatus.CANCELLED, OrderStatus.PAID),
                                    (OrderStatus.PENDING_PAYMENT, OrderStatus.COMPLETED)])
async def test_a_transition_outside_the_table_is_refused_before_the_database(app, frm, to):
    with pytest.raises(ValueError, match="OrderStatus.ALLOWED"):
        async with atomic() as conn:
            await orders.transition(1, [frm], to, conn=conn)


async def test_a_live_quota_to_and_from_the_shelf_is_journaled_with_its_tiein(app):
    from server.kit import clock
    from server.models.live import LiveRoom, LiveSession, LiveTieIn
    from tests.inventory.test_hot_writes import _user

    sku = await make_sku(stock=8)
    streamer = await _user()
    room = await LiveRoom.create(owner_id=streamer, title="直播间")
    s = await LiveSession.create(room=room, livestreamer_id=streamer, title="专场", scheduled_at=clock.now(),
                                 stream_name="jr" + str(sku.id))
    t = await LiveTieIn.create(session=s, sku_id=sku.id, product_id=sku.product_id, merchant_id=1, live_price=900)
    async with atomic() as conn:
        await inventory.to_live(conn, t.id, sku.id, 5, actor_id=streamer)
    with pytest.raises(StockRefused):  # 3 left on the shelf
        async with atomic() as conn:
            await inventory.to_live(conn, t.id, sku.id, 4, actor_id=streamer)
    async with atomic() as conn:
        assert await inventory.live_give_back(conn, t.id, sku.id, 1, actor_id=streamer)  # a cancel, on air
        locked = await LiveTieIn.filter(id=t.id).using_db(conn)
        assert await inventory.from_live(conn, locked, ref_type="batch", ref_id=77) == [t.id]
        assert await inventory.from_live(conn, locked, ref_type="batch", ref_id=77) == [t.id]  # once
    fresh, tie = await Sku.get(id=sku.id), await LiveTieIn.get(id=t.id)
    assert (fresh.stock, tie.quota, tie.remaining, tie.returned) == (8, 5, 0, 6)
    rows = await StockMove.filter(sku_id=sku.id).order_by("id").values_list(
        "reason", "d_stock", "d_quota", "tiein_id", "ref_type", "ref_id")
    assert rows == [("to_live", -5, 5, t.id, "live_tiein", t.id), ("live_cancel", -1, 1, t.id, "live_tiein", t.id),
                    ("from_live", 6, -6, t.id, "batch", 77)]
