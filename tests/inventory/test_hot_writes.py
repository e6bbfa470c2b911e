"""One behaviour table per hot write, run against both implementations side by side: the PostgreSQL
one (hand-written SQL) and the ORM one. On PostgreSQL (KAZUO_TEST_DATABASE_URL set, as in CI) both
run against the same database; on the embedded default only the ORM one runs (the PostgreSQL one is
skipped). Each row sets the scene, calls the implementation in a transaction and checks the outcome
and every counter and journal row it must (or must not) have changed."""
from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import timedelta

import pytest
from tortoise.exceptions import IntegrityError

from server.inventory import service as inventory
from server.kit import clock
from server.kit.db import atomic
from server.kit.errors import AppError
from server.models.accounts import User
from server.models.catalog import Sku
from server.models.inventory import StockMove
from server.models.live import LivePurchase, LiveRoom, LiveSession, LiveTieIn
from server.models.audit import AuditLog
from server.models.orders import Order, OrderEvent, OrderLine, OrderStatus
from server.models.pickup import Pickup, PickupStatus
from server.orders import service as orders
from server.orders.schemas import CheckoutIn
from server.stations import service as stations
from tests.conftest import PG_URL
from tests.orders.conftest import make_sku, make_station

IMPLS = [pytest.param("postgres", marks=pytest.mark.skipif(not PG_URL, reason="the PostgreSQL implementation "
                                                           "needs KAZUO_TEST_DATABASE_URL")),
         "orm"]


async def _user() -> int:
    return (await User.create(openid="o-hw-" + secrets.token_hex(8))).id


async def _counts(sku_id: int) -> tuple[int, int]:
    s = await Sku.get(id=sku_id)
    return s.stock, s.reserved


# ---- checkout -----------------------------------------------------------------------------------
@dataclass
class CheckoutCase:
    name: str
    stocks: list[int]            # one SKU each
    want: list[int]              # units per line, line i on SKU i
    off_sale: bool = False       # the first SKU's product is off sale
    inactive: bool = False       # the first SKU is switched off
    unknown: bool = False        # the first line names no SKU
    error: str | None = None     # the refusal's code (None: placed)
    field: str | None = None     # the 422's field


CHECKOUT_TABLE = [
    CheckoutCase("fits", [5], [3]),
    CheckoutCase("takes the last units", [3], [3]),
    CheckoutCase("two SKUs", [4, 9], [2, 9]),
    CheckoutCase("short", [2], [3], error="out_of_stock"),
    CheckoutCase("second line short: nothing taken", [5, 1], [1, 2], error="out_of_stock"),
    CheckoutCase("off sale", [5], [1], off_sale=True, error="not_on_sale"),
    CheckoutCase("SKU switched off", [5], [1], inactive=True, error="not_on_sale"),
    CheckoutCase("no such SKU", [5], [1], unknown=True, error="validation_failed", field="lines.0.sku_id"),
]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("case", CHECKOUT_TABLE, ids=lambda c: c.name)
async def test_checkout(app, impl, case: CheckoutCase):
    station = await make_station()
    skus = [await make_sku(stock=n, product_status="off_sale" if case.off_sale and i == 0 else "on_sale")
            for i, n in enumerate(case.stocks)]
    if case.inactive:
        await Sku.filter(id=skus[0].id).update(is_active=False)
    ids = [10**12 + secrets.randbelow(10**6) if case.unknown and i == 0 else s.id for i, s in enumerate(skus)]
    buyer = await _user()
    data = CheckoutIn.model_validate({"fulfilment": "pickup", "station_id": station.id,
                                      "lines": [{"sku_id": k, "quantity": q} for k, q in zip(ids, case.want)]})
    new = orders._NewOrder.start(buyer, data, "hw-" + secrets.token_hex(6))
    err = None
    try:
        async with atomic() as conn:
            await orders.CHECKOUT_WRITERS[impl].place(new, conn)
    except AppError as exc:
        err = exc
    if case.error is None:
        assert err is None, err.body()
        order = await Order.get(id=new.id)
        assert order.status == OrderStatus.PENDING_PAYMENT and order.buyer_id == buyer
        lines = await OrderLine.filter(order_id=new.id).order_by("id").values_list("id", "sku_id", "quantity")
        assert [(k, q) for _, k, q in lines] == list(zip(ids, case.want))
        for s, n, q in zip(skus, case.stocks, case.want):
            assert await _counts(s.id) == (n - q, q)
        moves = await StockMove.filter(sku_id__in=ids).order_by("sku_id").values_list(
            "sku_id", "reason", "d_stock", "d_reserved", "ref_type", "ref_id", "actor_id")
        assert moves == [(k, "checkout", -q, q, "order_line", line, buyer) for line, k, q in lines]
    else:
        assert err is not None and err.code == case.error, err
        if case.field:
            assert err.details[0]["field"] == case.field
        if case.error == "out_of_stock":
            short = next(s.id for s, n, q in zip(skus, case.stocks, case.want) if q > n)
            assert err.details == {"sku_id": short}
        assert not await Order.filter(buyer_id=buyer).exists()
        for s, n in zip(skus, case.stocks):
            assert await _counts(s.id) == (n, 0)
        assert not await StockMove.filter(sku_id__in=[s.id for s in skus]).exists()


@pytest.mark.parametrize("impl", IMPLS)
async def test_checkout_a_taken_idempotency_key_writes_nothing(app, impl):
    station = await make_station()
    sku = await make_sku(stock=5)
    buyer = await _user()
    data = CheckoutIn.model_validate({"fulfilment": "pickup", "station_id": station.id,
                                      "lines": [{"sku_id": sku.id, "quantity": 1}]})
    key = "hw-" + secrets.token_hex(6)
    async with atomic() as conn:
        await orders.CHECKOUT_WRITERS[impl].place(orders._NewOrder.start(buyer, data, key), conn)
    with pytest.raises(IntegrityError):
        async with atomic() as conn:
            await orders.CHECKOUT_WRITERS[impl].place(orders._NewOrder.start(buyer, data, key), conn)
    assert await _counts(sku.id) == (4, 1)
    assert await StockMove.filter(sku_id=sku.id).count() == 1


# ---- the pickup claim (核销) -----------------------------------------------------------------------
@dataclass
class ClaimCase:
    name: str
    by: str                      # code | id | wrong_code | other_station
    status: str = PickupStatus.READY
    order_status: str = OrderStatus.READY_FOR_PICKUP
    claimed: bool = True
    error: str | None = None     # the refusal's code


CLAIM_TABLE = [
    ClaimCase("by code", "code"),
    ClaimCase("by id (signed QR)", "id"),
    ClaimCase("wrong code", "wrong_code", claimed=False),
    ClaimCase("another station's pickup", "other_station", claimed=False),
    ClaimCase("already picked up", "code", status=PickupStatus.PICKED_UP, claimed=False),
    ClaimCase("returned", "id", status=PickupStatus.RETURNED, claimed=False),
    ClaimCase("order closed while the parcel waited", "code", order_status=OrderStatus.CLOSED, claimed=False,
              error="order_not_ready"),
    ClaimCase("order completed another way, by id", "id", order_status=OrderStatus.COMPLETED, claimed=False,
              error="order_not_ready"),
]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("case", CLAIM_TABLE, ids=lambda c: c.name)
async def test_pickup_claim(app, impl, case: ClaimCase):
    """The whole hand-over: the pickup closed, its order completed with its event, the audit entry;
    or nothing at all."""
    station, other = await make_station(), await make_station()
    buyer, staff = await _user(), await _user()
    order = await Order.create(order_no="KZH" + secrets.token_hex(8).upper(), buyer_id=buyer,
                               status=case.order_status, fulfilment="pickup", station_id=station.id)
    code = f"{secrets.randbelow(10**8):08d}"
    now = clock.now()
    p = await Pickup.create(order_id=order.id, order_no=order.order_no, station_id=station.id, buyer_id=buyer,
                            code=code, open_code=code if case.status == PickupStatus.READY else None,
                            status=case.status, received_at=now - timedelta(hours=3),
                            deadline_at=now + timedelta(days=7))
    at = other.id if case.by == "other_station" else station.id
    kw = {"code": None, "pickup_id": p.id} if case.by == "id" else {
        "code": f"{(int(code) + 1) % 10**8:08d}" if case.by == "wrong_code" else code, "pickup_id": None}
    method = "qr" if case.by == "id" else "code"
    got, err = None, None
    try:
        async with atomic() as conn:
            got = await stations.CLAIMS[impl](conn, at, now=now, actor_id=staff, method=method, **kw)
    except AppError as exc:
        err = exc
    fresh = await Pickup.get(id=p.id)
    fresh_order = await Order.get(id=order.id)
    events = await OrderEvent.filter(order_id=order.id).values_list("from_status", "to_status", "actor_id", "data")
    audits = await AuditLog.filter(action="pickup.verify", object_type="order", object_id=str(order.id)).values_list(
        "actor_id", "data", "request_id", "ip", "user_agent")
    if case.claimed:
        assert err is None, err.body()
        assert got is not None and (got.id, got.order_id, got.order_no, got.station_id, got.buyer_id) == (
            p.id, order.id, order.order_no, station.id, buyer)
        assert (got.received_at, got.deadline_at) == (p.received_at, p.deadline_at)
        assert got.status == PickupStatus.PICKED_UP and got.verified_by_id == staff
        assert (got.picked_up_at, got.verify_method) == (now, method)
        assert (fresh.status, fresh.open_code, fresh.verified_by_id, fresh.picked_up_at, fresh.verify_method) == (
            PickupStatus.PICKED_UP, None, staff, now, method)
        assert (fresh_order.status, fresh_order.completed_at) == (OrderStatus.COMPLETED, now)
        assert events == [(OrderStatus.READY_FOR_PICKUP, OrderStatus.COMPLETED, staff,
                           {"completed_at": now.isoformat()})]
        assert audits == [(staff, {"pickup_id": p.id, "station_id": station.id, "method": method}, "", "", "")]
        async with atomic() as conn:  # once only
            assert await stations.CLAIMS[impl](conn, at, now=now, actor_id=staff, method=method, **kw) is None
        assert await OrderEvent.filter(order_id=order.id).count() == 1
    else:
        assert got is None
        if case.error:
            assert err is not None and err.code == case.error, err
            assert err.details == {"order_id": order.id, "status": case.order_status,
                                   "expected": [OrderStatus.READY_FOR_PICKUP], "new": OrderStatus.COMPLETED}
        else:
            assert err is None, err.body()
        assert (fresh.status, fresh.verified_by_id, fresh.picked_up_at) == (case.status, None, None)
        assert fresh.open_code == (code if case.status == PickupStatus.READY else None)
        assert (fresh_order.status, fresh_order.completed_at) == (case.order_status, None)
        assert events == [] and audits == []


@pytest.mark.skipif(not PG_URL, reason="concurrent claims need PostgreSQL (SQLite runs one writer)")
@pytest.mark.parametrize("impl", ["postgres", "orm"])
async def test_pickup_claim_at_two_counters_at_once_hands_over_once(app, impl):
    """Eight claims of one code at the same moment: one hand-over, one event, one audit entry."""
    station = await make_station()
    buyer = await _user()
    staff = [await _user() for _ in range(8)]
    order = await Order.create(order_no="KZH" + secrets.token_hex(8).upper(), buyer_id=buyer,
                               status=OrderStatus.READY_FOR_PICKUP, fulfilment="pickup", station_id=station.id)
    code = f"{secrets.randbelow(10**8):08d}"
    now = clock.now()
    await Pickup.create(order_id=order.id, order_no=order.order_no, station_id=station.id, buyer_id=buyer,
                        code=code, open_code=code, received_at=now, deadline_at=now + timedelta(days=7))

    async def claim(actor: int):
        async with atomic() as conn:
            return await stations.CLAIMS[impl](conn, station.id, code=code, pickup_id=None, now=now,
                                               actor_id=actor, method="code")

    got = await asyncio.gather(*(claim(a) for a in staff))
    winners = [g for g in got if g is not None]
    assert len(winners) == 1
    assert (await Pickup.get(order_id=order.id)).verified_by_id == winners[0].verified_by_id
    assert await OrderEvent.filter(order_id=order.id, to_status=OrderStatus.COMPLETED).count() == 1
    assert await AuditLog.filter(action="pickup.verify", object_id=str(order.id)).count() == 1


# ---- the live quota take ------------------------------------------------------------------------
@dataclass
class TakeCase:
    name: str
    remaining: int
    limit: int
    bought: int                  # units the buyer already has in this tie-in
    want: int
    active: bool = True
    within: bool = True
    taken: bool = True


TAKE_TABLE = [
    TakeCase("a first purchase", remaining=10, limit=2, bought=0, want=2),
    TakeCase("the last units", remaining=2, limit=5, bought=0, want=2),
    TakeCase("again within the limit", remaining=10, limit=3, bought=1, want=2),
    TakeCase("over the limit", remaining=10, limit=2, bought=1, want=2, within=False, taken=False),
    TakeCase("more than the limit at once", remaining=10, limit=2, bought=0, want=3, within=False, taken=False),
    TakeCase("quota short", remaining=1, limit=5, bought=0, want=2, taken=False),
    TakeCase("tie-in withdrawn", remaining=10, limit=5, bought=0, want=1, active=False, taken=False),
]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("case", TAKE_TABLE, ids=lambda c: c.name)
async def test_live_take(app, impl, case: TakeCase):
    sku = await make_sku(stock=7)
    streamer, buyer = await _user(), await _user()
    room = await LiveRoom.create(owner_id=streamer, title="直播间")
    s = await LiveSession.create(room=room, livestreamer_id=streamer, title="专场", scheduled_at=clock.now(),
                                 status="live", stream_name="hw" + secrets.token_hex(8))
    t = await LiveTieIn.create(session=s, sku_id=sku.id, product_id=sku.product_id, merchant_id=1, live_price=900,
                               quota=case.remaining + 5, remaining=case.remaining, sold=5,
                               per_buyer_limit=case.limit, is_active=case.active)
    if case.bought:
        await LivePurchase.create(tiein_id=t.id, buyer_id=buyer, quantity=case.bought)
    async with atomic() as conn:
        within, taken = await inventory.LIVE_TAKES[impl](conn, t.id, buyer, case.want, case.limit)
    assert (within, taken) == (case.within, case.taken)
    # The caller (live/checkout.py) rolls its transaction back on a refusal; here the outcome of the
    # call itself is checked, as committed.
    fresh = await LiveTieIn.get(id=t.id)
    n = case.want if taken else 0
    assert (fresh.remaining, fresh.sold, fresh.quota) == (case.remaining - n, 5 + n, case.remaining + 5)
    assert await _counts(sku.id) == (7 + n, 0)
    bought = await LivePurchase.filter(tiein_id=t.id, buyer_id=buyer).values_list("quantity", flat=True)
    assert (bought or [0])[0] == case.bought + (case.want if within else 0)
    moves = await StockMove.filter(sku_id=sku.id).values_list("reason", "d_stock", "d_quota", "tiein_id",
                                                               "actor_id")
    assert moves == ([("live_sale", n, -n, t.id, buyer)] if taken else [])


# ---- the live quota take for a batch (a flash sale's queued winners), all or nothing ----------------
@dataclass
class TakeManyCase:
    name: str
    remaining: list[int]         # one tie-in each (on one SKU)
    items: list[tuple[int, int, int]]  # (tie-in index, buyer index, qty)
    limit: int = 1
    bought: dict = None          # {buyer index: units already held in tie-in 0}
    within: bool = True
    taken: bool = True


TAKE_MANY_TABLE = [
    TakeManyCase("three buyers", [5], [(0, 0, 1), (0, 1, 1), (0, 2, 1)]),
    TakeManyCase("the last units exactly", [3], [(0, 0, 1), (0, 1, 1), (0, 2, 1)]),
    TakeManyCase("two tie-ins", [2, 2], [(0, 0, 1), (1, 0, 1), (1, 1, 1)]),
    TakeManyCase("quota short for the batch", [2], [(0, 0, 1), (0, 1, 1), (0, 2, 1)], taken=False),
    TakeManyCase("one buyer over the limit", [5], [(0, 0, 1), (0, 1, 1)], bought={1: 1}, within=False),
    TakeManyCase("more than the limit at once", [5], [(0, 0, 2)], within=False),
]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("case", TAKE_MANY_TABLE, ids=lambda c: c.name)
async def test_live_take_many(app, impl, case: TakeManyCase):
    skus = [await make_sku(stock=7) for _ in case.remaining]  # one SKU per tie-in (one tie-in per SKU)
    streamer = await _user()
    buyers = [await _user() for _ in range(3)]
    room = await LiveRoom.create(owner_id=streamer, title="直播间")
    s = await LiveSession.create(room=room, livestreamer_id=streamer, title="专场", scheduled_at=clock.now(),
                                 status="live", stream_name="hw" + secrets.token_hex(8))
    ties = [await LiveTieIn.create(session=s, sku_id=k.id, product_id=k.product_id, merchant_id=1,
                                   live_price=900, quota=r, remaining=r, sold=0, per_buyer_limit=case.limit)
            for k, r in zip(skus, case.remaining)]
    for b, n in (case.bought or {}).items():
        await LivePurchase.create(tiein_id=ties[0].id, buyer_id=buyers[b], quantity=n)
    items = [inventory.LiveTakeItem(ties[t].id, buyers[b], q, case.limit) for t, b, q in case.items]

    class Refused(Exception):
        pass

    try:
        async with atomic() as conn:
            got = await inventory.LIVE_TAKES_MANY[impl](conn, items)
            if got != (True, True):
                raise Refused  # the caller's rule: anything less rolls the whole batch back
    except Refused:
        pass
    ok = case.within and case.taken
    if ok:
        assert got == (True, True)
    else:  # the first refusal found: over the limit, or the quota short
        assert got[0] == case.within and (not case.within or got[1] == case.taken)
    for i, (k, t) in enumerate(zip(skus, ties)):
        n = sum(q for ti, _, q in case.items if ti == i) if ok else 0
        assert await _counts(k.id) == (7 + n, 0)
        fresh = await LiveTieIn.get(id=t.id)
        assert (fresh.remaining, fresh.sold) == (case.remaining[i] - n, n)
        held = dict(await LivePurchase.filter(tiein_id=t.id, quantity__gt=0).values_list("buyer_id", "quantity"))
        expected = {buyers[b]: n for b, n in (case.bought or {}).items()} if i == 0 else {}
        if ok:
            for ti, b, q in case.items:
                if ti == i:
                    expected[buyers[b]] = expected.get(buyers[b], 0) + q
        assert held == expected
        moves = await StockMove.filter(sku_id=k.id).values_list("reason", "d_stock", "d_quota", "tiein_id",
                                                                 "actor_id")
        assert sorted(moves) == sorted([("live_sale", q, -q, t.id, buyers[b])
                                        for ti, b, q in case.items if ti == i] if ok else [])


async def test_live_take_many_refuses_a_pair_twice(app):
    async with atomic() as conn:
        with pytest.raises(ValueError):
            await inventory.live_take_many(conn, [inventory.LiveTakeItem(1, 2, 1, 1)] * 2)
