"""Every station endpoint acts only within the caller's stations: another station, or an order,
pickup or villager of another station, is a 404. The route list comes from the app itself, so a new
station endpoint without a case here fails this test."""
import re

from server.models.orders import OrderStatus
from tests.conftest import login, login_as
from tests.collection.conftest import household_merchant
from tests.stations.conftest import make_order, make_sku, with_code


async def _objects(client, net, staff_a):
    """One of everything at station a."""
    buyer = await login(client)
    order = await make_order(buyer.id, net["a"].id)
    pickup = await with_code((await staff_a.post(f"/api/v1/station/{net['a'].id}/receive",
                                                 json={"order_no": order.order_no})).json())
    v = (await staff_a.post(f"/api/v1/station/{net['a'].id}/villagers", json={"phone": "13700000001"})).json()
    await staff_a.post(f"/api/v1/station/{net['a'].id}/villagers/{v['id']}/bind", json={"confirm_at_counter": True})
    sku = await make_sku()
    assisted = (await staff_a.post(f"/api/v1/station/{net['a'].id}/assisted-orders",
                                   json={"villager_id": v["id"], "lines": [{"sku_id": sku.id, "quantity": 1}]})).json()
    other = await make_order(buyer.id, net["a"].id, status=OrderStatus.PAID)
    producer, produce = await household_merchant(net["a"].id)
    collection = {"merchant_id": producer.id, "sku_id": produce.id, "quantity": 5, "weight_g": 2500, "grade": "first",
                  "plot": "东山坡3号地", "harvested_on": "2026-10-01", "photos": []}
    r = await staff_a.post(f"/api/v1/station/{net['a'].id}/collections", json=collection)
    assert r.status_code == 201, r.text
    complaint = {"kind": "delivery", "text": "包裹晚到三天", "reporter_phone": "13700001234"}
    c = await staff_a.post(f"/api/v1/station/{net['a'].id}/complaints", json=complaint)
    assert c.status_code == 201, c.text
    return {"pickup_id": pickup["id"], "villager_id": v["id"], "order_id": assisted["id"], "pickup": pickup,
            "order_no": other.order_no, "sku_id": sku.id, "collection_id": r.json()["id"], "collection": collection,
            "complaint_id": c.json()["id"], "complaint": complaint}


def _body(path: str, method: str, obj: dict):
    if method != "POST":
        return None
    if path.endswith("/receive"):
        return {"order_no": obj["order_no"]}
    if path.endswith("/verify"):
        return {"code": obj["pickup"]["code"]}
    if path.endswith("/villagers"):
        return {"phone": "13700000001"}
    if path.endswith("/bind"):
        return {"confirm_at_counter": True}
    if path.endswith("/assisted-orders"):
        return {"villager_id": obj["villager_id"], "lines": [{"sku_id": obj["sku_id"], "quantity": 1}]}
    if path.endswith("/cash/handovers"):
        return {"amount_fen": 1}
    if path.endswith("/collections"):
        return obj["collection"]
    if path.endswith("/complaints"):
        return obj["complaint"]
    if path.endswith("/answer"):
        return {"text": "已核实"}
    return None


def station_routes(app):
    out = []
    for route in app.router.routes:
        if route.path.startswith("api/v1/station/<station_id:int>"):
            for m in route.methods:
                if m not in ("HEAD", "OPTIONS"):
                    out.append((m, "/" + route.path))
    return sorted(out)


async def test_every_station_endpoint_is_scoped(app, client, net, staff_a, staff_b):
    obj = await _objects(client, net, staff_a)
    routes = station_routes(app)
    # workspace, receive, verify, pickups x2, villagers x4, assisted x4, 代卖 x2, staff, cash x3,
    # collections x5 (#26), complaints x4 (#26)
    assert len(routes) == 28, routes
    consumer = await login(client)
    for method, template in routes:
        def url(station_id):
            path = template.replace("<station_id:int>", str(station_id))
            path = re.sub(r"<(\w+):int>", lambda m: str(obj[m.group(1)]), path)
            if path.endswith("/open-batches"):
                path += f"?merchant_id={obj['collection']['merchant_id']}&sku_id={obj['collection']['sku_id']}"
            return path
        body = _body(template, method, obj)
        # staff of station b, at station a (not theirs)
        r = await staff_b.client.request(method, url(net["a"].id), json=body, headers=staff_b.headers)
        assert r.status_code == 404, (method, template, r.status_code, r.text)
        # staff of station b at their own station, naming station a's objects
        if "<" in template.replace("<station_id:int>", ""):
            r = await staff_b.client.request(method, url(net["b"].id), json=body, headers=staff_b.headers)
            assert r.status_code == 404, ("own station, other's object", method, template, r.text)
        # a consumer has no station role
        r = await consumer.client.request(method, url(net["a"].id), json=body, headers=consumer.headers)
        assert r.status_code == 403, (method, template, r.text)
    # nothing above changed station a's pickup
    from server.models.pickup import Pickup

    assert (await Pickup.get(id=obj["pickup_id"])).status == "ready"


async def test_staff_of_several_stations_act_at_each(client, net, buyer):
    from server.accounts import service as accounts

    staff = await login_as(client, "station_staff", station_id=net["a"].id)
    await accounts.grant_role(staff.id, "station_staff", station_id=net["b"].id)
    for st in (net["a"], net["b"]):
        order = await make_order(buyer.id, st.id)
        r = await staff.post(f"/api/v1/station/{st.id}/receive", json={"order_no": order.order_no})
        assert r.status_code == 200, r.text
    assert (await staff.get(f"/api/v1/station/{net['town'].id}/workspace")).status_code == 404
