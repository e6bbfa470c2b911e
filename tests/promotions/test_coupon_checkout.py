"""A coupon and freight in one checkout (issue #28: "the checkout prices coupons and freight
together"): a platform coupon scoped to a category, a delivery priced by the county template, the
order showing both, and the ledger after payment, a partial refund (the saving pro-rated to the fen,
the freight kept) and the rest (the freight back, every entry at zero, the coupon given back); and
both checkout writers (the PostgreSQL statement and the ORM) writing a coupon's discounts alike."""
import secrets

import pytest

from server.kit.db import atomic
from server.ledger import service as ledger
from server.models.catalog import Category, Product
from server.models.freight import FreightTemplate
from server.models.ledger import LedgerEntry
from server.models.accounts import User
from server.models.orders import Order, OrderLine
from server.models.payments import Refund
from server.models.promotions import UserCoupon
from server.orders import pricing
from server.orders import service as orders
from server.orders.schemas import CheckoutIn
from server.payments import service as payments
from server.promotions import service as promotions
from tests.conftest import PG_URL, login_as, wait_for
from tests.freight.conftest import SHENYANG, county_template, saved, set_county
from tests.orders.conftest import checkout, make_sku, make_station, pay_and_notify, pickup_body
from tests.promotions.conftest import claim, make_coupon


@pytest.fixture
async def county(client):
    """The office sets the county freight template; removed after the test (others price with none)."""
    await set_county(await login_as(client, "admin"), county_template())
    yield
    await FreightTemplate.filter(merchant_id=None).delete()


@pytest.fixture
def no_handoff(monkeypatch):
    """Keep the paid order in `paid` (its refunds are then automatic)."""
    real = payments.enqueue
    monkeypatch.setattr(payments, "enqueue", lambda name, *a, **kw: None if name == "fulfillment.handoff"
                        else real(name, *a, **kw))


async def refunded(buyer, order_id, body) -> dict:
    r = await buyer.post(f"/api/v1/orders/{order_id}/refunds", json=body)
    assert r.status_code == 201, r.text

    async def done():
        return (await Refund.get(id=r.json()["id"])).status in ("succeeded", "failed")
    assert await wait_for(done)
    assert (await Refund.get(id=r.json()["id"])).status == "succeeded"
    return r.json()


async def test_a_category_coupon_and_freight_priced_together_paid_and_refunded(client, buyer, county, no_handoff):
    # the county template: Liaoning 800 the first piece, 200 a further one, per shop
    a, b = await make_sku(price=1000, stock=5), await make_sku(price=499, stock=5)
    ma, mb = (await a.product).merchant_id, (await b.product).merchant_id
    other = await Category.create(slug="t-promo-" + secrets.token_hex(4), name="小米")
    await Product.filter(id=b.product_id).update(category_id=other.id)
    cat_a = (await a.product).category_id
    # 8折 on the category's goods, at most 3元: 2 × 1000 → 400, capped to 300; the other line untouched
    c = await make_coupon(name="陈醋8折", kind="percent", rate_bp=8000, cap_fen=300, scope="category",
                          scope_ids=[cat_a])
    uc = await claim(buyer, c.id)
    listed = (await client.get("/api/v1/coupons", params={"product_id": b.product_id})).json()
    assert c.id not in {x["id"] for x in listed}  # not handed out on a product it does not cover
    r = await buyer.post("/api/v1/addresses", json=saved(SHENYANG))
    aid = r.json()["id"]
    r = await checkout(buyer, {"fulfilment": "delivery", "address_id": aid, "coupon_ids": [uc],
                               "lines": [{"sku_id": a.id, "quantity": 2}, {"sku_id": b.id, "quantity": 1}]})
    assert r.status_code == 201, r.text
    o = r.json()
    assert (o["goods_fen"], o["shipping_fen"], o["discount_fen"], o["total_fen"]) == (2499, 1000 + 800, 300, 3999)
    assert [(d["coupon_id"], d["funder"], d["amount_fen"]) for d in o["discounts"]] == [(c.id, "platform", 300)]
    assert {x["sku_id"]: x["discount_fen"] for x in o["lines"]} == {a.id: 300, b.id: 0}
    shown = (await buyer.get(f"/api/v1/orders/{o['id']}")).json()
    assert (shown["total_fen"], shown["shipping_fen"], shown["discount_fen"]) == (3999, 1800, 300)

    assert (await pay_and_notify(buyer, o["id"]))["delivered"]
    paid = await Order.get(id=o["id"])
    assert paid.paid_fen == 3999 and await ledger.check_invariant([paid.id]) == []
    entries = await LedgerEntry.filter(order_id=paid.id)
    assert sum(e.amount_fen for e in entries if e.kind == "coupon_subsidy") == -300
    assert {(e.account_id, e.amount_fen) for e in entries if e.kind == "shipping"} == {(ma, 1000), (mb, 800)}

    # one of the two discounted units: half of what was paid for the line, to the fen; the freight stays
    la = await OrderLine.get(order_id=paid.id, sku_id=a.id)
    first = await refunded(buyer, paid.id, {"lines": [{"line_id": la.id, "quantity": 1}]})
    assert first["amount_fen"] == (2000 - 300) // 2
    assert await ledger.check_invariant([paid.id]) == []
    assert (await UserCoupon.get(id=uc)).status == "used"
    # the rest: the other unit, the other line and the freight
    rest = await refunded(buyer, paid.id, {})
    assert rest["amount_fen"] == 3999 - 850
    closed = await Order.get(id=paid.id)
    assert (closed.status, closed.refunded_fen) == ("closed", 3999)
    assert await ledger.check_invariant([paid.id]) == []
    entries = await LedgerEntry.filter(order_id=paid.id)
    assert sum(e.amount_fen for e in entries) == 0
    for kind in ("coupon_subsidy", "shipping", "merchant_share", "platform_fee"):
        assert sum(e.amount_fen for e in entries if e.kind in (kind, kind + "_reversal")) == 0, kind
    assert (await UserCoupon.get(id=uc)).status == "available"  # a full refund gives it back (still valid)


@pytest.mark.parametrize("impl", [pytest.param("postgres", marks=pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL")),
                                  "orm"])
async def test_both_checkout_writers_write_a_coupons_discounts(client, impl):
    """The coupon step as _checkout runs it, with each writer: the order, its lines and its coupon agree."""
    buyer = (await User.create(openid="o-cw-" + secrets.token_hex(8))).id
    station = await make_station()
    sku = await make_sku(price=1000, stock=9)
    c = await make_coupon(name="满15减2.5", kind="full_reduction", threshold_fen=1500, amount_fen=250)
    uc = (await promotions.claim(buyer, c.id)).id
    data = CheckoutIn.model_validate(pickup_body(station.id, (sku.id, 3), coupon_ids=[uc]))
    new = orders._NewOrder.start(buyer, data, "cw-" + secrets.token_hex(6))
    async with atomic() as conn:
        skus = await orders._load_skus([sku.id], conn)
        await pricing.price_shipping(new, conn)
        new.coupons = await promotions.price_coupons(conn, buyer, [uc], new.priced_lines(skus))
        await orders.CHECKOUT_WRITERS[impl].place(new, conn, skus)
        new.check_coupon_prices()
        await promotions.spend(conn, buyer, new.coupons, new.id)
    o = await Order.get(id=new.id)
    assert (o.goods_fen, o.discount_fen, o.total_fen) == (3000, 250, 2750)
    assert [(d["coupon_id"], d["funder"], d["amount_fen"]) for d in o.discounts] == [(c.id, "platform", 250)]
    line = await OrderLine.get(order_id=o.id)
    assert (line.amount, line.discount_fen, line.platform_discount_fen) == (3000, 250, 250)
    assert new.out().total_fen == 2750 and new.out().discount_fen == 250
    used = await UserCoupon.get(id=uc)
    assert (used.status, used.order_id) == ("used", o.id)
