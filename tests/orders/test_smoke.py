from server.models.catalog import Sku
from tests.orders.conftest import checkout, make_sku, pay_and_notify, pickup_body


async def test_checkout_pay_flow(client, buyer, station):
    sku = await make_sku(price=2800, stock=10)
    r = await checkout(buyer, pickup_body(station.id, (sku.id, 2)), key="k1")
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["total_fen"] == 5600
    s = await Sku.get(id=sku.id)
    assert (s.stock, s.reserved) == (8, 2)
    res = await pay_and_notify(buyer, order["id"])
    assert res["delivered"] is True
    got = (await buyer.get(f"/api/v1/orders/{order['id']}")).json()
    assert got["status"] in ("paid", "in_fulfilment"), got
