"""Coupons: claims without over-issue under concurrency, the checkout pricing step (both checkout
writers), no double use, release on cancel and full refund, partial refunds pro-rated to the fen in
the ledger with the funder split, and bad input answered with the reason and nothing charged."""
import asyncio
from datetime import timedelta

import pytest

from server.kit import clock
from server.ledger import service as ledger
from server.models.catalog import Sku
from server.models.ledger import LedgerEntry
from server.models.orders import Order, OrderLine
from server.models.payments import Refund
from server.models.promotions import Coupon, UserCoupon
from server.orders import refunds
from server.orders import service as orders_service
from server.promotions import service as promotions
from tests.conftest import login, wait_for
from tests.orders.conftest import checkout, make_merchant, make_sku, pay_and_notify, pickup_body, token_actor
from tests.promotions.conftest import claim, make_coupon


async def refund_done(refund_id):
    async def check():
        return (await Refund.get(id=refund_id)).status in ("succeeded", "failed")
    assert await wait_for(check)
    return await Refund.get(id=refund_id)


@pytest.fixture
def no_handoff(monkeypatch):
    """Keep paid orders in `paid` (refunds are then automatic and restock)."""
    from server.payments import service

    real = service.enqueue
    monkeypatch.setattr(service, "enqueue", lambda name, *a, **kw: None if name == "fulfillment.handoff"
                        else real(name, *a, **kw))


def test_allocate_splits_to_the_fen():
    assert promotions._allocate(100, {1: 1, 2: 1, 3: 1}) == {1: 34, 2: 33, 3: 33}
    parts = promotions._allocate(301, {5: 1849, 9: 499})
    assert sum(parts.values()) == 301 and parts == {5: 237, 9: 64}


async def test_concurrent_claims_never_over_issue(client):
    c = await make_coupon(total_quantity=5, per_person_limit=1)
    buyers = [await token_actor(client) for _ in range(16)]
    answers = await asyncio.gather(*[b.post(f"/api/v1/coupons/{c.id}/claim") for b in buyers])
    codes = sorted(r.status_code for r in answers)
    assert codes == [201] * 5 + [409] * 11, [r.text for r in answers]
    assert {r.json()["error"]["code"] for r in answers if r.status_code == 409} == {"coupon_sold_out"}
    assert (await Coupon.get(id=c.id)).issued_count == 5
    assert await UserCoupon.filter(coupon_id=c.id).count() == 5


async def test_concurrent_claims_of_one_buyer_keep_the_per_person_limit(client):
    c = await make_coupon(total_quantity=100, per_person_limit=2)
    b = await token_actor(client)
    answers = await asyncio.gather(*[b.post(f"/api/v1/coupons/{c.id}/claim") for _ in range(8)])
    assert sorted(r.status_code for r in answers) == [201] * 2 + [409] * 6
    assert {r.json()["error"]["code"] for r in answers if r.status_code == 409} == {"coupon_limit_reached"}
    assert (await Coupon.get(id=c.id)).issued_count == 2
    mine = (await b.get("/api/v1/me/coupons")).json()
    assert len(mine) == 2 and all(x["usable"] for x in mine)


async def test_coupons_priced_paid_and_refunded_in_parts_to_the_fen(client, buyer, station, no_handoff):
    m1, m2 = await make_merchant(), await make_merchant()
    a = await make_sku(price=1000, stock=10, merchant=m1)
    b = await make_sku(price=499, stock=10, merchant=m2)
    shop = await make_coupon(merchant_id=m1.id, name="小店9折", kind="percent", rate_bp=9000, cap_fen=150,
                             scope="merchant", scope_ids=[m1.id])
    plat = await make_coupon(name="满20减3", kind="full_reduction", threshold_fen=2000, amount_fen=301)
    ids = [await claim(buyer, plat.id), await claim(buyer, shop.id)]
    r = await checkout(buyer, pickup_body(station.id, (a.id, 2), (b.id, 1), coupon_ids=ids))
    assert r.status_code == 201, r.text
    o = r.json()
    assert (o["goods_fen"], o["discount_fen"], o["total_fen"]) == (2499, 451, 2048)
    assert {d["funder"]: d["amount_fen"] for d in o["discounts"]} == {"merchant": 150, "platform": 301}
    assert sum(x["discount_fen"] for x in o["lines"]) == 451
    assert (await orders_service.my_order(buyer.id, o["id"])).discount_fen == 451  # as stored
    lines = {x.sku_id: x for x in await OrderLine.filter(order_id=o["id"])}
    la, lb = lines[a.id], lines[b.id]
    assert la.platform_discount_fen + lb.platform_discount_fen == 301
    assert la.discount_fen - la.platform_discount_fen == 150 and lb.discount_fen == lb.platform_discount_fen
    # a used coupon is spent: a second checkout naming it is turned away, nothing reserved
    r2 = await checkout(buyer, pickup_body(station.id, (a.id, 1), coupon_ids=[ids[1]]))
    assert r2.status_code == 409 and r2.json()["error"]["code"] == "coupon_used", r2.text
    assert (await Sku.get(id=a.id)).reserved == 2

    assert (await pay_and_notify(buyer, o["id"]))["delivered"]
    order = await Order.get(id=o["id"])
    assert order.paid_fen == 2048 and await ledger.check_invariant([order.id]) == []
    sale = await LedgerEntry.filter(order_id=order.id, refund_id=None)
    subsidy = sum(e.amount_fen for e in sale if e.kind == "coupon_subsidy")
    assert subsidy == -301
    # the merchant's own coupon lowers what its line sold for; the platform's does not
    a_sale = sum(e.amount_fen for e in sale if e.order_line_id == la.id and e.kind != "coupon_subsidy")
    b_sale = sum(e.amount_fen for e in sale if e.order_line_id == lb.id and e.kind != "coupon_subsidy")
    assert (a_sale, b_sale) == (1850, 499)

    # one of the two units of line a: half of what was paid for the line, to the fen
    paid_a = 2000 - la.discount_fen
    r = await buyer.post(f"/api/v1/orders/{order.id}/refunds", json={"lines": [{"line_id": la.id, "quantity": 1}]})
    assert r.status_code == 201, r.text
    assert r.json()["amount_fen"] == paid_a // 2
    assert (await refund_done(r.json()["id"])).status == "succeeded"
    assert await ledger.check_invariant([order.id]) == []
    assert (await UserCoupon.get(id=ids[0])).status == "used"  # a partial refund keeps the coupons
    # the rest: every line back, the order closed, every entry nets to zero, coupons given back
    r = await buyer.post(f"/api/v1/orders/{order.id}/refunds", json={})
    assert r.status_code == 201, r.text
    assert r.json()["amount_fen"] == 2048 - paid_a // 2
    assert (await refund_done(r.json()["id"])).status == "succeeded"
    order = await Order.get(id=order.id)
    assert (order.status, order.refunded_fen) == ("closed", 2048)
    assert await ledger.check_invariant([order.id]) == []
    entries = await LedgerEntry.filter(order_id=order.id)
    assert sum(e.amount_fen for e in entries) == 0
    for kind in ("coupon_subsidy", "merchant_share", "platform_fee", "station_fee"):
        assert sum(e.amount_fen for e in entries if e.kind in (kind, kind + "_reversal")) == 0, kind
    assert {x.status for x in await UserCoupon.filter(id__in=ids)} == {"available"}
    assert (await Coupon.get(id=plat.id)).used_count == 0


async def test_the_same_coupon_in_two_concurrent_checkouts_is_used_once(client, buyer, station):
    sku = await make_sku(price=800, stock=10)
    c = await make_coupon(amount_fen=200)
    uc = await claim(buyer, c.id)
    answers = await asyncio.gather(*[checkout(buyer, pickup_body(station.id, (sku.id, 1), coupon_ids=[uc]))
                                     for _ in range(4)])
    assert sorted(r.status_code for r in answers) == [201, 409, 409, 409], [r.text for r in answers]
    assert {r.json()["error"]["code"] for r in answers if r.status_code == 409} == {"coupon_used"}
    assert (await Sku.get(id=sku.id)).reserved == 1
    assert await Order.filter(buyer_id=buyer.id, discount_fen=200).count() == 1
    assert (await Coupon.get(id=c.id)).used_count == 1


async def test_cancelling_an_unpaid_order_gives_the_coupon_back(client, buyer, station):
    sku = await make_sku(price=800, stock=10)
    c = await make_coupon(amount_fen=200)
    uc = await claim(buyer, c.id)
    r = await checkout(buyer, pickup_body(station.id, (sku.id, 1), coupon_ids=[uc]))
    assert r.status_code == 201 and r.json()["total_fen"] == 600, r.text
    mine = (await buyer.get("/api/v1/me/coupons")).json()
    assert mine[0]["status"] == "used" and mine[0]["order_id"] == r.json()["id"]
    r = await buyer.post(f"/api/v1/orders/{r.json()['id']}/cancel", json={})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    mine = (await buyer.get("/api/v1/me/coupons")).json()
    assert mine[0]["status"] == "available" and mine[0]["usable"] and mine[0]["order_id"] is None
    assert (await Coupon.get(id=c.id)).used_count == 0
    r = await checkout(buyer, pickup_body(station.id, (sku.id, 1), coupon_ids=[uc]))
    assert r.status_code == 201 and r.json()["discount_fen"] == 200


async def test_bad_coupons_say_why_and_charge_nothing(client, buyer, station):
    sku = await make_sku(price=800, stock=10)
    other_sku = await make_sku(price=800, stock=10)
    before = await Order.filter(buyer_id=buyer.id).count()

    async def refused(coupon_ids, code, status=409, lines=((sku.id, 1),)):
        r = await checkout(buyer, pickup_body(station.id, *lines, coupon_ids=coupon_ids))
        assert r.status_code == status, r.text
        assert r.json()["error"]["code"] == code, r.text
        return r.json()["error"]

    # another buyer's coupon: not found (not revealed), naming the field
    someone = await login(client)
    theirs = await claim(someone, (await make_coupon()).id)
    err = await refused([theirs], "not_found", 404)
    assert err["details"][0]["field"] == "coupon_ids.0"
    # the scope excludes the cart
    scoped = await claim(buyer, (await make_coupon(scope="product", scope_ids=[other_sku.product_id])).id)
    err = await refused([scoped], "coupon_not_applicable")
    assert err["details"][0]["reason"] == "scope" and "covered" in err["message"]
    # the threshold is not reached
    big = await claim(buyer, (await make_coupon(kind="full_reduction", threshold_fen=5000, amount_fen=500)).id)
    err = await refused([big], "coupon_not_applicable")
    assert err["details"][0]["reason"] == "threshold" and err["details"][0]["short_fen"] == 4200
    # two platform coupons in one order
    one, two = await claim(buyer, (await make_coupon()).id), await claim(buyer, (await make_coupon()).id)
    await refused([one, two], "coupon_not_stackable")
    await refused([one, one], "validation_failed", 422)
    err = await refused([0], "validation_failed", 422)  # not an id: named, nothing looked up
    assert err["details"][0]["field"].startswith("coupon_ids"), err
    # expired: the clock passes its end
    short = await claim(buyer, (await make_coupon(valid_until=clock.now() + timedelta(minutes=5))).id)
    clock.shift(timedelta(minutes=10))
    try:
        err = await refused([short], "coupon_expired")
        assert "expired" in err["message"]
        mine = {x["id"]: x for x in (await buyer.get("/api/v1/me/coupons")).json()}
        assert mine[short]["usable"] is False and "expired" in mine[short]["reason"]
    finally:
        clock.reset()
    # nothing was written, nothing reserved, the good coupon is still there
    assert await Order.filter(buyer_id=buyer.id).count() == before
    assert (await Sku.get(id=sku.id)).reserved == 0
    assert (await UserCoupon.get(id=one)).status == "available"


async def test_claim_refusals(client, buyer, station):
    later = await make_coupon(valid_from=clock.now() + timedelta(days=1), valid_until=clock.now() + timedelta(days=2))
    r = await buyer.post(f"/api/v1/coupons/{later.id}/claim")
    assert r.status_code == 409 and r.json()["error"]["code"] == "coupon_not_started"
    r = await buyer.post("/api/v1/coupons/999999999/claim")
    assert r.status_code == 404
    over = await make_coupon(valid_from=clock.now() - timedelta(days=2), valid_until=clock.now() - timedelta(days=1))
    r = await buyer.post(f"/api/v1/coupons/{over.id}/claim")
    assert r.status_code == 409 and r.json()["error"]["code"] == "coupon_expired" and "expired" in r.text, r.text
    paused = await make_coupon()
    await promotions.set_coupon_status(paused.id, "paused", actor_id=buyer.id)
    r = await buyer.post(f"/api/v1/coupons/{paused.id}/claim")
    assert r.status_code == 409 and r.json()["error"]["code"] == "coupon_not_claimable", r.text
    assert await UserCoupon.filter(coupon_id__in=[over.id, paused.id]).count() == 0
    # a new-buyer coupon: claimable before the first paid order, not after
    fresh = await make_coupon(new_buyer_only=True, per_person_limit=2)
    uc = await claim(buyer, fresh.id)
    sku = await make_sku(price=500, stock=5)
    r = await checkout(buyer, pickup_body(station.id, (sku.id, 1)))
    assert (await pay_and_notify(buyer, r.json()["id"]))["delivered"]
    r = await buyer.post(f"/api/v1/coupons/{fresh.id}/claim")
    assert r.status_code == 409 and r.json()["error"]["code"] == "coupon_new_buyers_only"
    r = await checkout(buyer, pickup_body(station.id, (sku.id, 1), coupon_ids=[uc]))
    assert r.status_code == 409 and r.json()["error"]["code"] == "coupon_new_buyers_only"
    # listed for a product it covers
    listed = (await client.get("/api/v1/coupons", params={"product_id": sku.product_id})).json()
    assert fresh.id in {c["id"] for c in listed} and later.id not in {c["id"] for c in listed}


async def test_a_retried_checkout_with_a_coupon_returns_the_same_order(client, buyer, station):
    sku = await make_sku(price=900, stock=10)
    uc = await claim(buyer, (await make_coupon(amount_fen=100)).id)
    body = pickup_body(station.id, (sku.id, 2), coupon_ids=[uc])
    first = await checkout(buyer, body, key="promo-retry-1")
    again = await checkout(buyer, body, key="promo-retry-1")
    assert first.status_code == 201 and again.status_code in (200, 201), again.text
    assert again.json()["id"] == first.json()["id"] and again.json()["discount_fen"] == 100
    assert (await Sku.get(id=sku.id)).reserved == 2


def test_refund_amounts_pro_rate_the_paid_amount_by_units():
    line = OrderLine(amount=1000, discount_fen=333, quantity=3, refunded_qty=0)
    parts = [refunds.refund_amount(line, done, 1) for done in range(3)]
    assert parts == [222, 222, 223] and sum(parts) == 667
    assert refunds.refund_amount(OrderLine(amount=999, discount_fen=0, quantity=3, refunded_qty=1), 0, 2) == 666
