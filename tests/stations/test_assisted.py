"""代购 and 代卖 at the station counter."""
import secrets

from server.models.accounts import User
from server.models.audit import AuditLog
from server.models.ledger import LedgerEntry
from server.models.orders import Order, OrderStatus
from server.models.stations import StationVillager
from tests.stations.conftest import make_sku


def phone() -> str:
    return "139" + f"{secrets.randbelow(10**8):08d}"


async def add(staff, station, number, name="张大娘"):
    r = await staff.post(f"/api/v1/station/{station.id}/villagers", json={"phone": number, "name": name})
    assert r.status_code == 200, r.text
    return r.json()


async def test_villager_light_account_is_found_by_phone(net, staff_a, staff_b):
    number = phone()
    v1 = await add(staff_a, net["a"], number)
    v2 = await add(staff_a, net["a"], number)
    assert v1["id"] == v2["id"] and v1["bound_at"] is None
    user = await User.get(id=v1["user_id"])
    assert user.openid is None and user.phone == number
    other = await add(staff_b, net["b"], number)
    assert other["id"] != v1["id"] and other["user_id"] == v1["user_id"]
    listed = (await staff_a.get(f"/api/v1/station/{net['a'].id}/villagers")).json()["items"]
    assert v1["id"] in [v["id"] for v in listed] and other["id"] not in [v["id"] for v in listed]
    for bad in ({"phone": "12345"}, {"phone": "1391234567８"}, {}, {"phone": number, "name": "x" * 33},
                {"phone": number, "user_id": 1}):
        r = await staff_a.post(f"/api/v1/station/{net['a'].id}/villagers", json=bad)
        assert r.status_code == 422, (bad, r.text)


async def test_bind_by_sms_code(client, net, staff_a):
    number = phone()
    v = await add(staff_a, net["a"], number)
    base = f"/api/v1/station/{net['a'].id}/villagers/{v['id']}"
    r = await staff_a.post(f"{base}/sms-code")
    assert r.status_code == 200, r.text
    sms = (await client.get("/__sim__/aliyun/sms", params={"phone": number})).json()["messages"]
    code = sms[0]["params"]["code"]
    wrong = "000000" if code != "000000" else "111111"
    r = await staff_a.post(f"{base}/bind", json={"code": wrong})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "code"
    assert (await StationVillager.get(id=v["id"])).bound_at is None
    r = await staff_a.post(f"{base}/bind", json={"code": code})
    assert r.status_code == 200 and r.json()["bound_via"] == "sms"
    r = await staff_a.post(f"{base}/bind", json={"code": code, "confirm_at_counter": True})
    assert r.status_code == 422


async def test_assisted_order_paid_in_cash_once(net, staff_a):
    number = phone()
    v = await add(staff_a, net["a"], number)
    sku = await make_sku(price=1880)
    base = f"/api/v1/station/{net['a'].id}"
    body = {"villager_id": v["id"], "lines": [{"sku_id": sku.id, "quantity": 2}]}
    r = await staff_a.post(f"{base}/assisted-orders", json=body)
    assert r.status_code == 409 and r.json()["error"]["code"] == "villager_not_bound"
    r = await staff_a.post(f"{base}/villagers/{v['id']}/bind", json={"confirm_at_counter": True})
    assert r.status_code == 200 and r.json()["bound_via"] == "counter"
    key = {"Idempotency-Key": secrets.token_hex(8)}
    r = await staff_a.post(f"{base}/assisted-orders", json=body, headers=key)
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["buyer_id"] == v["user_id"] and order["assisted_by_id"] == staff_a.id
    assert order["fulfilment"] == "pickup" and order["station_id"] == net["a"].id and order["total_fen"] == 3760
    again = await staff_a.post(f"{base}/assisted-orders", json=body, headers=key)
    assert again.json()["id"] == order["id"]
    # clients never set price or status
    r = await staff_a.post(f"{base}/assisted-orders", json={**body, "total_fen": 1})
    assert r.status_code == 422
    listed = (await staff_a.get(f"{base}/assisted-orders")).json()["items"]
    assert [o["id"] for o in listed][:1] == [order["id"]]
    r = await staff_a.post(f"{base}/assisted-orders/{order['id']}/cash-payment")
    assert r.status_code == 200, r.text
    assert r.json()["method"] == "cash" and r.json()["amount_fen"] == 3760
    twice = await staff_a.post(f"{base}/assisted-orders/{order['id']}/cash-payment")
    assert twice.status_code == 409
    assert await AuditLog.filter(action="assisted.cash_refused", object_id=str(order["id"])).count() == 1
    o = await Order.get(id=order["id"])
    assert o.status in (OrderStatus.PAID, OrderStatus.IN_FULFILMENT)  # the warehouse may have picked it up
    assert o.paid_fen == 3760 and o.payment_method == "cash"
    ws = (await staff_a.get(f"{base}/workspace")).json()
    assert ws["cash_to_hand_over_fen"] >= 3760
    custody = await LedgerEntry.filter(order_id=o.id, account_type="station", kind="cash_custody").count()
    assert custody == 1


async def test_assisted_order_native_payment(net, staff_a):
    v = await add(staff_a, net["a"], phone())
    base = f"/api/v1/station/{net['a'].id}"
    await staff_a.post(f"{base}/villagers/{v['id']}/bind", json={"confirm_at_counter": True})
    sku = await make_sku(price=990)
    r = await staff_a.post(f"{base}/assisted-orders",
                           json={"villager_id": v["id"], "lines": [{"sku_id": sku.id, "quantity": 1}]})
    assert r.status_code == 201, r.text
    order = r.json()
    r = await staff_a.post(f"{base}/assisted-orders/{order['id']}/native-payment")
    assert r.status_code == 200, r.text
    assert r.json()["code_url"].startswith("weixin://") and r.json()["total_fen"] == 990


async def test_an_ordinary_order_is_not_an_assisted_one(net, staff_a, buyer):
    from tests.stations.conftest import make_order

    o = await make_order(buyer.id, net["a"].id, status=OrderStatus.PENDING_PAYMENT)
    r = await staff_a.post(f"/api/v1/station/{net['a'].id}/assisted-orders/{o.id}/cash-payment")
    assert r.status_code == 404
    assert (await Order.get(id=o.id)).status == OrderStatus.PENDING_PAYMENT


async def test_operated_merchants_and_their_sales(net, staff_a, staff_b, buyer):
    from tests.stations.conftest import make_paid_order

    sku = await make_sku(price=2580, merchant_kw={"operated_by_station_id": net["a"].id})
    await make_sku(price=100)  # not operated by the station
    await make_paid_order(buyer.id, net["a"].id, quantity=3, sku=sku)
    base = f"/api/v1/station/{net['a'].id}"
    ms = (await staff_a.get(f"{base}/operated-merchants")).json()
    mine = [m for m in ms if m["id"] == (await sku.product).merchant_id]
    assert len(mine) == 1 and mine[0]["products_on_sale"] == 1
    sales = (await staff_a.get(f"{base}/operated-sales")).json()
    row = next(p for p in sales["by_product"] if p["product_id"] == sku.product_id)
    assert row["quantity"] == 3 and row["amount_fen"] == 7740 and row["orders"] == 1
    r = await staff_a.get(f"{base}/operated-sales", params={"merchant_id": 999999999})
    assert r.status_code == 404
    # another station's staff see none of it
    assert (await staff_b.get(f"/api/v1/station/{net['b'].id}/operated-merchants")).json() == []
    # and manage the goods through the merchant API (the catalog allows the operating station)
    r = await staff_a.get(f"/api/v1/merchant/merchants/{mine[0]['id']}/products")
    assert r.status_code == 200, r.text
    r = await staff_b.get(f"/api/v1/merchant/merchants/{mine[0]['id']}/products")
    assert r.status_code == 404
