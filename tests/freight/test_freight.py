"""Freight: by region, piece, weight, threshold, cold chain; pickup free; overlapping regions and
regions not served refused with the field named and nothing written; a merchant's own template
within the office's limits; checkout with address_id on both writers; the ledger after payment and
after a whole-order refund."""
import secrets

import pytest

from server.fulfillment import service as fulfillment
from server.kit.db import atomic
from server.ledger import service as ledger
from server.models.accounts import User
from server.models.catalog import Sku
from server.models.freight import FreightTemplate
from server.models.fulfillment import FulfillmentTask
from server.models.ledger import LedgerEntry
from server.models.orders import Order
from server.models.payments import Refund
from server.models.stations import Station
from server.orders import pricing
from server.orders import service as orders
from server.orders.schemas import CheckoutIn
from tests.conftest import PG_URL, login_as, wait_for
from tests.fulfillment import factories as f
from tests.freight.conftest import BEIJING, KAZUO_ADDR, SHENYANG, URUMQI, county_template, saved, set_county
from tests.orders.conftest import checkout, make_merchant, make_sku, make_station, pickup_body, pay_and_notify
from tests.orders.test_payments import no_handoff  # noqa: F401 - fixture


def delivery(*lines, **extra) -> dict:
    return {"fulfilment": "delivery", "lines": [{"sku_id": s, "quantity": q} for s, q in lines], **extra}


async def address_id(buyer, region: dict) -> int:
    r = await buyer.post("/api/v1/addresses", json=saved(region))
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def test_freight_by_region_and_piece(client, buyer, office):
    await set_county(office, county_template())
    sku = await make_sku(price=1000, stock=50)
    # Kazuo County (the inline address form): the flat town rate
    r = await checkout(buyer, delivery((sku.id, 3), address=KAZUO_ADDR))
    assert r.status_code == 201, r.text
    o = r.json()
    assert (o["goods_fen"], o["shipping_fen"], o["total_fen"]) == (3000, 300, 3300)
    assert o["address"]["county"] == "喀喇沁左翼蒙古族自治县" and o["address"]["town_code"] == "211324009"
    # Liaoning: 800 for the first piece, 200 a further piece
    r = await checkout(buyer, delivery((sku.id, 3), address_id=await address_id(buyer, SHENYANG)))
    assert r.status_code == 201, r.text
    assert (r.json()["shipping_fen"], r.json()["total_fen"]) == (1200, 4200)
    assert r.json()["address"]["city"] == "沈阳市" and r.json()["address"]["phone"] == "13800138000"
    # other provinces ("*")
    r = await checkout(buyer, delivery((sku.id, 2), address_id=await address_id(buyer, BEIJING)))
    assert r.json()["shipping_fen"] == 2000
    stored = await Order.get(id=r.json()["id"])
    assert (stored.shipping_fen, stored.total_fen) == (2000, 4000)
    assert stored.shipping_split == [{"merchant_id": (await sku.product).merchant_id, "fen": 2000,
                                      "carrier": "merchant", "template_id": stored.shipping_split[0]["template_id"]}]
    # shown on the order
    assert (await buyer.get(f"/api/v1/orders/{stored.id}")).json()["shipping_fen"] == 2000


async def test_region_not_served_writes_nothing(client, buyer, office):
    await set_county(office, county_template())
    sku = await make_sku(price=1000, stock=5)
    aid = await address_id(buyer, URUMQI)
    r = await checkout(buyer, delivery((sku.id, 1), address_id=aid))
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "region_not_served" and err["details"][0]["field"] == "address"
    assert not await Order.filter(buyer_id=buyer.id).exists()
    assert (await Sku.get(id=sku.id)).reserved == 0


async def test_weight_threshold_and_cold_chain(client, buyer, office):
    await set_county(office, {"basis": "weight", "cold_chain_fen": 600, "free_above_fen": 10000, "zones": [
        {"regions": ["210000"], "mode": "metered", "first_units": 1000, "first_fen": 1000, "step_units": 500,
         "step_fen": 300},
        {"regions": ["211324"], "mode": "free"}]})
    aid = await address_id(buyer, SHENYANG)
    heavy = await make_sku(price=1000, stock=50)
    await Sku.filter(id=heavy.id).update(weight_g=800)
    # 3 x 800 g = 2400 g: 1000 + ceil(1400 / 500) x 300
    r = await checkout(buyer, delivery((heavy.id, 3), address_id=aid))
    assert r.json()["shipping_fen"] == 1000 + 3 * 300, r.text
    # a SKU without a weight counts as the default weight (500 g)
    light = await make_sku(price=100, stock=50)
    r = await checkout(buyer, delivery((light.id, 2), address_id=aid))
    assert r.json()["shipping_fen"] == 1000
    # at the threshold (goods 10000) the zone's charge is waived
    r = await checkout(buyer, delivery((heavy.id, 10), address_id=aid))
    assert (r.json()["goods_fen"], r.json()["shipping_fen"]) == (10000, 0)
    # cold chain: the surcharge once a shipment, also where the zone is free
    cold = await make_sku(price=500, stock=50, cold_chain=True)
    r = await checkout(buyer, delivery((cold.id, 2), address_id=aid))
    assert r.json()["shipping_fen"] == 1000 + 600
    r = await checkout(buyer, delivery((cold.id, 1), address=KAZUO_ADDR))
    assert r.json()["shipping_fen"] == 600
    r = await checkout(buyer, delivery((cold.id, 20), address_id=aid))
    assert r.json()["shipping_fen"] == 600


async def test_per_merchant_freight_and_pickup_is_free(client, buyer, office):
    await set_county(office, county_template())
    a, b = await make_sku(price=1000), await make_sku(price=2000)
    r = await checkout(buyer, delivery((a.id, 1), (b.id, 2), address_id=await address_id(buyer, SHENYANG)))
    o = r.json()
    assert o["shipping_fen"] == 800 + (800 + 200), o
    assert sorted(x["fen"] for x in o["shipping_split"]) == [800, 1000]
    station = await make_station()
    r = await checkout(buyer, pickup_body(station.id, (a.id, 1), (b.id, 2)))
    assert (r.json()["shipping_fen"], r.json()["total_fen"]) == (0, 5000)


async def test_overlapping_regions_are_refused(client, office):
    before = await set_county(office, county_template())
    body = county_template()
    body["zones"][3]["regions"] = ["650000", "210000"]
    r = await office.put("/api/v1/console/freight/county", json=body)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "overlapping_regions" and err["details"][0]["field"] == "zones.3.regions.1"
    body["zones"][3]["regions"] = ["650000", "*"]
    r = await office.put("/api/v1/console/freight/county", json=body)
    assert r.json()["error"]["details"][0]["field"] == "zones.3.regions.1"
    body["zones"][3]["regions"] = ["123456"]
    r = await office.put("/api/v1/console/freight/county", json=body)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "zones.3.regions.0"
    r = await office.put("/api/v1/console/freight/county", json={**body, "basis": "volume"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "basis"
    assert (await office.get("/api/v1/console/freight/county")).json() == before
    # not for anyone else
    merchant = await login_as(office.client, "merchant", merchant_id=(await make_merchant()).id)
    assert (await merchant.put("/api/v1/console/freight/county", json=county_template())).status_code == 403


async def test_merchant_own_template_within_limits(client, buyer, office):
    await set_county(office, county_template())
    sku = await make_sku(price=1000)
    mid = (await sku.product).merchant_id
    owner = await login_as(client, "merchant", merchant_id=mid)
    url = f"/api/v1/merchant/merchants/{mid}/freight"
    r = await owner.get(url)
    assert r.status_code == 200 and not r.json()["uses_own"] and r.json()["county"]["zones"][0]["first_fen"] == 300
    own = {"basis": "piece", "zones": [{"regions": ["210000"], "mode": "flat", "first_fen": 500},
                                       {"regions": ["*"], "mode": "not_served"}]}
    too_dear = {**own, "zones": [{"regions": ["210000"], "mode": "flat", "first_fen": 99999}]}
    r = await owner.put(url, json=too_dear)
    assert r.status_code == 422 and r.json()["error"]["code"] == "above_office_limit"
    assert r.json()["error"]["details"][0]["field"] == "zones.0.first_fen"
    assert not await FreightTemplate.filter(merchant_id=mid).exists()
    r = await owner.put(url, json=own)
    assert r.status_code == 200 and r.json()["uses_own"], r.text
    r = await checkout(buyer, delivery((sku.id, 2), address_id=await address_id(buyer, SHENYANG)))
    assert r.json()["shipping_fen"] == 500
    r = await checkout(buyer, delivery((sku.id, 1), address_id=await address_id(buyer, BEIJING)))
    assert r.status_code == 422 and r.json()["error"]["code"] == "region_not_served"
    # back to the county's
    assert not (await owner.delete(url)).json()["uses_own"]
    r = await checkout(buyer, delivery((sku.id, 1), address_id=await address_id(buyer, BEIJING)))
    assert r.json()["shipping_fen"] == 1500
    # another merchant's manager, or a buyer: not found / forbidden
    stranger = await login_as(client, "merchant", merchant_id=(await make_merchant()).id)
    assert (await stranger.get(url)).status_code == 404
    assert (await stranger.put(url, json=own)).status_code == 404
    assert (await buyer.get(url)).status_code == 403


IMPLS = [pytest.param("postgres", marks=pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL")), "orm"]


@pytest.mark.parametrize("impl", IMPLS)
async def test_checkout_with_address_id_on_both_writers(client, office, impl):
    await set_county(office, county_template())
    buyer = (await User.create(openid="o-fr-" + secrets.token_hex(8))).id
    from server.addresses import service as addresses
    from server.addresses.schemas import AddressBody

    aid = (await addresses.create_address(buyer, AddressBody(**saved(SHENYANG)))).id
    sku = await make_sku(price=700, stock=9)
    data = CheckoutIn.model_validate(delivery((sku.id, 4), address_id=aid))
    new = orders._NewOrder.start(buyer, data, "fr-" + secrets.token_hex(6))
    async with atomic() as conn:
        await pricing.price_shipping(new, conn)
        await orders.CHECKOUT_WRITERS[impl].place(new, conn)
    o = await Order.get(id=new.id)
    assert (o.goods_fen, o.shipping_fen, o.total_fen) == (2800, 800 + 3 * 200, 2800 + 1400)
    assert o.address["address_id"] == aid and o.address["province"] == "辽宁省"
    assert new.out().total_fen == o.total_fen and new.out().shipping_fen == 1400
    assert (await Sku.get(id=sku.id)).reserved == 4
    # another buyer's address: 404 before anything is written
    other = (await User.create(openid="o-fr-" + secrets.token_hex(8))).id
    new = orders._NewOrder.start(other, data, None)
    with pytest.raises(Exception) as exc:
        await pricing.price_shipping(new)
    assert getattr(exc.value, "status", None) == 404


async def test_freight_in_the_ledger_and_back_with_a_whole_refund(client, buyer, office, no_handoff):
    await set_county(office, county_template())
    a, b = await make_sku(price=1000, stock=5), await make_sku(price=500, stock=5)
    ma, mb = (await a.product).merchant_id, (await b.product).merchant_id
    r = await checkout(buyer, delivery((a.id, 2), (b.id, 1), address_id=await address_id(buyer, SHENYANG)))
    o = r.json()
    assert (o["goods_fen"], o["shipping_fen"], o["total_fen"]) == (2500, 1000 + 800, 4300)
    assert (await pay_and_notify(buyer, o["id"]))["delivered"]
    paid = await Order.get(id=o["id"])
    assert paid.paid_fen == 4300
    assert await ledger.check_invariant([paid.id]) == []
    ship = {(e.account_type, e.account_id): e.amount_fen for e in
            await LedgerEntry.filter(order_id=paid.id, kind="shipping")}
    assert ship == {("merchant", ma): 1000, ("merchant", mb): 800}
    # the freight reaches the merchant's settlement: settleable with the merchant's first line
    from datetime import timedelta

    from server.kit import clock
    from server.settlement import service as settlement

    await Order.filter(id=paid.id).update(completed_at=clock.now())
    due = await settlement._settleable(clock.now() + timedelta(days=30))
    kinds = {e.kind: e.amount_fen for es in due[("merchant", ma)].values() for e in es if e.order_id == paid.id}
    assert kinds["shipping"] == 1000 and kinds["merchant_share"] == 2000 - 100
    await Order.filter(id=paid.id).update(completed_at=None)
    # the merchant sees its own freight on the order
    owner = await login_as(client, "merchant", merchant_id=ma)
    mine = (await owner.get(f"/api/v1/merchant/orders/{paid.id}")).json()
    assert (mine["shipping_fen"], mine["total_fen"]) == (1000, 3000)
    # the whole order back: freight included, the order closed, the ledger at zero
    r = await buyer.post(f"/api/v1/orders/{paid.id}/refunds", json={"reason": "不要了"})
    assert r.status_code == 201 and r.json()["amount_fen"] == 4300, r.text

    async def done():
        return (await Refund.get(id=r.json()["id"])).status == "succeeded"
    assert await wait_for(done)
    closed = await Order.get(id=paid.id)
    assert (closed.refunded_fen, closed.status) == (4300, "closed")
    assert await ledger.check_invariant([paid.id]) == []
    rev = {(e.account_type, e.account_id): e.amount_fen for e in
           await LedgerEntry.filter(order_id=paid.id, kind="shipping_reversal")}
    assert rev == {("merchant", ma): -1000, ("merchant", mb): -800}
    assert sum(await LedgerEntry.filter(order_id=paid.id).values_list("amount_fen", flat=True)) == 0


async def test_a_partial_refund_keeps_the_freight(client, buyer, office, no_handoff):
    await set_county(office, county_template(), )
    sku = await make_sku(price=1000, stock=5)
    o = (await checkout(buyer, delivery((sku.id, 2), address=KAZUO_ADDR))).json()
    assert o["shipping_fen"] == 300
    await pay_and_notify(buyer, o["id"])
    line = o["lines"][0]["id"]
    r = await buyer.post(f"/api/v1/orders/{o['id']}/refunds", json={"lines": [{"line_id": line, "quantity": 1}]})
    assert r.json()["amount_fen"] == 1000
    # the rest: now nothing of the order is left, the freight goes back with it
    async def first_done():
        return (await Refund.get(id=r.json()["id"])).status == "succeeded"
    assert await wait_for(first_done)
    r = await buyer.post(f"/api/v1/orders/{o['id']}/refunds", json={})
    assert r.json()["amount_fen"] == 1000 + 300

    async def done():
        return (await Refund.get(id=r.json()["id"])).status == "succeeded"
    assert await wait_for(done)
    assert await ledger.check_invariant([o["id"]]) == []
    assert (await Order.get(id=o["id"])).status == "closed"


async def test_freight_quote_before_checkout(client, buyer, office):
    await set_county(office, county_template())
    sku = await make_sku(price=1000, stock=5)
    aid = await address_id(buyer, SHENYANG)
    r = await buyer.post("/api/v1/freight/quote", json=delivery((sku.id, 2), address_id=aid))
    assert r.status_code == 200 and r.json()["shipping_fen"] == 1000, r.text
    assert r.json()["address"]["city"] == "沈阳市"
    r = await buyer.post("/api/v1/freight/quote", json=delivery((sku.id, 2)))
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "address"
    # a saved address or an inline one, not both (checkout the same, before anything is written)
    both = delivery((sku.id, 2), address_id=aid, address=KAZUO_ADDR)
    for url in ("/api/v1/freight/quote", "/api/v1/orders"):
        r = await buyer.post(url, json=both)
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "address_id", (url, r.text)
    r = await buyer.post("/api/v1/freight/quote", json=delivery((sku.id, 2), address_id=await address_id(buyer, URUMQI)))
    assert r.status_code == 422 and r.json()["error"]["code"] == "region_not_served"
    station = await make_station()
    r = await buyer.post("/api/v1/freight/quote", json=pickup_body(station.id, (sku.id, 2)))
    assert r.json()["shipping_fen"] == 0
    assert not await Order.filter(buyer_id=buyer.id).exists()


async def test_freight_carried_by_the_platform_is_its_income_and_goes_back_from_it(client, buyer, office, no_handoff):
    """income_to platform (the office's choice for the county's template): the freight entry is the
    platform's, not the merchant's, and a whole refund reverses it there; the invariant holds."""
    await set_county(office, county_template(income_to="platform"))
    sku = await make_sku(price=1000, stock=5)
    o = (await checkout(buyer, delivery((sku.id, 1), address_id=await address_id(buyer, SHENYANG)))).json()
    assert o["shipping_fen"] == 800 and o["shipping_split"][0]["carrier"] == "platform", o
    assert (await pay_and_notify(buyer, o["id"]))["delivered"]
    ship = [(e.account_type, e.account_id, e.amount_fen) for e in
            await LedgerEntry.filter(order_id=o["id"], kind="shipping")]
    assert ship == [("platform", None, 800)]
    assert await ledger.check_invariant([o["id"]]) == []
    r = await buyer.post(f"/api/v1/orders/{o['id']}/refunds", json={"reason": "不要了"})
    assert r.status_code == 201 and r.json()["amount_fen"] == 1800, r.text

    async def done():
        return (await Refund.get(id=r.json()["id"])).status == "succeeded"
    assert await wait_for(done)
    rev = [(e.account_type, e.account_id, e.amount_fen) for e in
           await LedgerEntry.filter(order_id=o["id"], kind="shipping_reversal")]
    assert rev == [("platform", None, -800)]
    assert await ledger.check_invariant([o["id"]]) == []


async def test_a_saved_kazuo_village_address_goes_down_its_stations_leg_at_the_kazuo_price(client, buyer, office):
    """Address book → checkout → hand-off: a village of Kazuo County with an active village station is
    priced by the template's Kazuo zone and routed county → town → that village station."""
    await set_county(office, county_template())   # Kazuo County: flat 300
    county = (await f.network()).county
    town = await Station.filter(level="town", town="草场镇").order_by("id").first() or await Station.create(
        code="T-" + secrets.token_hex(4), name="草场镇服务中心", level="town", parent=county, town="草场镇")
    village = "测试村" + secrets.token_hex(3)
    st = await Station.create(code="V-" + secrets.token_hex(4), name=village + "服务站", level="village",
                              parent=town, town="草场镇", village=village, status="active")
    aid = await address_id(buyer, {"province_code": "210000", "city_code": "211300", "county_code": "211324",
                                   "town_code": "211324015", "village": village})
    sku = await make_sku(price=1000, stock=5)
    r = await checkout(buyer, delivery((sku.id, 2), address_id=aid))
    assert r.status_code == 201, r.text
    o = r.json()
    assert (o["shipping_fen"], o["address"]["station_id"], o["address"]["town"]) == (300, st.id, "草场镇")
    await pay_and_notify(buyer, o["id"])
    task_id = await fulfillment.handoff(o["id"])
    task = await FulfillmentTask.get(id=task_id)
    assert (task.mode, task.destination_station_id, task.town_station_id) == ("local", st.id, town.id)
    assert task.route == [county.id, town.id, st.id]


async def test_a_town_of_kazuo_can_have_its_own_rate(client, buyer, office):
    """The most specific code wins: a zone of one town (乡镇) beside the county's free zone."""
    await set_county(office, {"basis": "piece", "zones": [
        {"regions": ["211324009"], "mode": "flat", "first_fen": 500},   # 南公营子镇
        {"regions": ["211324"], "mode": "free"},
        {"regions": ["*"], "mode": "flat", "first_fen": 1000}]})
    sku = await make_sku(price=1000, stock=10)
    r = await checkout(buyer, delivery((sku.id, 2), address=KAZUO_ADDR))
    assert (r.status_code, r.json()["shipping_fen"]) == (201, 500), r.text
    other_town = await address_id(buyer, {"province_code": "210000", "city_code": "211300", "county_code": "211324",
                                          "town_code": "211324015"})
    assert (await checkout(buyer, delivery((sku.id, 2), address_id=other_town))).json()["shipping_fen"] == 0
    assert (await checkout(buyer, delivery((sku.id, 2), address_id=await address_id(buyer, BEIJING)))
            ).json()["shipping_fen"] == 1000
