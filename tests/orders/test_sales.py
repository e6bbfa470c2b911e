"""Product and SKU sales: units of paid orders less refunds, counted once however often a payment
notification or a refund result arrives; sorting by sales and the rankings then use them."""
import asyncio

from server.models.catalog import Product, Sku
from server.models.orders import Order
from tests.conftest import wait_for
from server.models.payments import Payment
from tests.orders.conftest import checkout, make_sku, pay_and_notify, pickup_body
from tests.orders.test_payments import no_handoff, post_notification, reply_code, signed_notification  # noqa: F401
from tests.orders.test_refunds_ledger import refund_done


async def _sales(sku) -> tuple[int, int]:
    s = await Sku.get(id=sku.id)
    return s.sales, (await Product.get(id=s.product_id)).sales


async def test_a_payment_counts_its_units_once_and_a_refund_takes_them_off(client, buyer, station, no_handoff,
                                                                          pay_api):
    a, b = await make_sku(price=500, stock=20), await make_sku(price=700, stock=20)
    r = await checkout(buyer, pickup_body(station.id, (a.id, 3), (b.id, 1)))
    assert r.status_code == 201, r.text
    order = r.json()
    assert await _sales(a) == (0, 0)  # an unpaid order sells nothing
    await pay_and_notify(buyer, order["id"])
    assert await wait_for(lambda: Order.filter(id=order["id"], status="paid").exists())
    # the same payment notified again, twice in a row and twice at once (WeChat retries): once
    pay = await Payment.get(order_id=order["id"])
    headers, body = signed_notification(pay.out_trade_no, order["total_fen"], transaction_id=pay.transaction_id)
    for _ in range(2):
        assert reply_code(await post_notification(client, headers, body)) == "SUCCESS"
    await asyncio.gather(*[post_notification(client, headers, body) for _ in range(2)])
    assert (await Order.get(id=order["id"])).status == "paid"
    assert await _sales(a) == (3, 3) and await _sales(b) == (1, 1)
    # two units of a refunded: sales less refunds (the refund result applied once too)
    line = next(x for x in order["lines"] if x["sku_id"] == a.id)
    r = await buyer.post(f"/api/v1/orders/{order['id']}/refunds",
                         json={"lines": [{"line_id": line["id"], "quantity": 2}]})
    assert r.status_code == 201, r.text
    refund = await refund_done(r.json()["id"])
    assert refund.status == "succeeded"
    from server.orders import refunds

    assert await refunds.complete(refund.refund_no, success=True, refund_fee=refund.amount_fen) == "duplicate"
    assert await _sales(a) == (1, 1) and await _sales(b) == (1, 1)


async def test_sorting_by_sales_uses_the_counted_figures(client, buyer, station, no_handoff):
    from server.catalog import cache
    from server.payments import service as payments

    tag = "销量排序" + str(station.id)
    skus = []
    for qty in (1, 4):
        sku = await make_sku(price=100, stock=10)
        await Product.filter(id=sku.product_id).update(visible=True, name=f"{tag}{qty}", search_text=f"{tag}{qty}")
        skus.append(sku)
    for sku, qty in zip(skus, (1, 4)):
        r = await checkout(buyer, pickup_body(station.id, (sku.id, qty)))
        assert r.status_code == 201, r.text
        await payments.record_cash_payment(r.json()["id"], station_id=station.id, actor_id=None)
    assert [await _sales(s) for s in skus] == [(1, 1), (4, 4)]
    for s in skus:
        await cache.invalidate_product(s.product_id)

    async def ranked():
        got = await client.get("/api/v1/products", params={"sort": "sales", "q": tag, "limit": 50})
        ids = [p["id"] for p in got.json()["items"] if p["id"] in {s.product_id for s in skus}]
        return ids if len(ids) == 2 else None

    ids = await wait_for(ranked, timeout=5)
    assert ids == [skus[1].product_id, skus[0].product_id]
