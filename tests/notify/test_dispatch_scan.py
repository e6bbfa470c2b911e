"""The dispatch moment through the warehouse's real path (#29): a pickup order's parcel is dispatched at
the county warehouse and the buyer is told once, naming the destination station."""
from __future__ import annotations

from server.integrations import wechat_keywords as kw
from tests.fulfillment import factories as f
from tests.fulfillment import conftest as fulfillment_world
from tests.fulfillment.conftest import ready_parcel
from tests.notify.test_moments import TIME, inbox, one_message, values

WH = "/api/v1/console/warehouse"
world = fulfillment_world.world  # the fulfillment tests' fixture: network, warehouse operator, buyer


async def test_dispatching_a_pickup_parcel_tells_the_buyer_once(client, world):
    merchant, skus = await f.merchant_with_skus(1)
    order = await f.paid_order(world.buyer.id, [(skus[0], 2)], station=world.net.village)
    parcel = await ready_parcel(world, order.id, merchant.id)
    assert await inbox(client, world.buyer.id, "order_dispatched") == []  # packed is not dispatched
    r = await world.warehouse.post(f"{WH}/parcels/{parcel['id']}/dispatch")
    assert r.status_code == 200 and r.json()["duplicate"] is False
    r = await world.warehouse.post(f"{WH}/parcels/{parcel['id']}/dispatch")  # a second click
    assert r.status_code in (200, 409)
    v = values(await one_message(client, world.buyer.id, "order_dispatched"))
    assert v["character_string1"] == order.order_no and TIME.match(v["time4"])
    assert v["thing3"] == kw.thing_value(f"发往{world.net.village.name}")
