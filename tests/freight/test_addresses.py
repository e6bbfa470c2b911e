"""The address book: CRUD with one default, masked phones in lists, regions from the dataset,
another buyer's address a 404 everywhere (checkout included)."""
from server.models.addresses import Address
from server.models.orders import Order
from tests.conftest import login
from tests.freight.conftest import SHENYANG, saved
from tests.orders.conftest import checkout, make_sku


async def test_address_book_crud_default_and_masking(client, buyer):
    r = await buyer.post("/api/v1/addresses", json=saved(SHENYANG))
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["is_default"] and first["phone"] == "13800138000" and first["region"] == "辽宁省 沈阳市 和平区"
    kazuo = saved({"province_code": "210000", "city_code": "211300", "county_code": "211324",
                   "town_code": "211324009"}, village="八家子村", phone="13904210002")
    r = await buyer.post("/api/v1/addresses", json=kazuo)
    assert r.status_code == 201, r.text
    second = r.json()
    assert not second["is_default"] and second["region"].endswith("喀喇沁左翼蒙古族自治县 南公营子镇")
    listed = (await buyer.get("/api/v1/addresses")).json()
    assert [a["id"] for a in listed] == [first["id"], second["id"]]
    assert [a["phone"] for a in listed] == ["138****8000", "139****0002"]
    assert (await buyer.get(f"/api/v1/addresses/{second['id']}")).json()["phone"] == "13904210002"
    r = await buyer.post(f"/api/v1/addresses/{second['id']}/default")
    assert r.status_code == 200 and r.json()["is_default"]
    assert await Address.filter(user_id=buyer.id, is_default=True).values_list("id", flat=True) == [second["id"]]
    r = await buyer.put(f"/api/v1/addresses/{first['id']}", json=saved(SHENYANG, detail="新地址2号"))
    assert r.status_code == 200 and r.json()["detail"] == "新地址2号" and not r.json()["is_default"]
    # deleting the default makes the other one the default
    assert (await buyer.delete(f"/api/v1/addresses/{second['id']}")).status_code == 204
    listed = (await buyer.get("/api/v1/addresses")).json()
    assert [(a["id"], a["is_default"]) for a in listed] == [(first["id"], True)]


async def test_bad_regions_are_refused_with_the_field(client, buyer):
    cases = [({"province_code": "999999", "city_code": "210100", "county_code": "210102"}, "province_code"),
             ({"province_code": "210000", "city_code": "110100", "county_code": "110101"}, "city_code"),
             ({"province_code": "210000", "city_code": "211300", "county_code": "210102"}, "county_code"),
             ({"province_code": "210000", "city_code": "211300", "county_code": "211324"}, "town_code"),
             ({"province_code": "210000", "city_code": "211300", "county_code": "211324", "town_code": "abc"},
              "town_code")]
    for region, field in cases:
        r = await buyer.post("/api/v1/addresses", json=saved(region))
        assert r.status_code == 422, (region, r.text)
        assert r.json()["error"]["details"][0]["field"] == field, r.text
    r = await buyer.post("/api/v1/addresses", json=saved(SHENYANG, phone="12345"))
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "phone"
    assert not await Address.filter(user_id=buyer.id).exists()


async def test_regions_picker(client):
    provinces = (await client.get("/api/v1/regions")).json()
    assert {"code": "210000", "name": "辽宁省"} in provinces and len(provinces) == 34
    towns = (await client.get("/api/v1/regions/211324")).json()
    assert {"code": "211324009", "name": "南公营子镇"} in towns
    assert (await client.get("/api/v1/regions/000001")).status_code == 404


async def test_another_buyers_address_is_a_404(client, buyer):
    mine = (await buyer.post("/api/v1/addresses", json=saved(SHENYANG))).json()
    other = await login(client)
    url = f"/api/v1/addresses/{mine['id']}"
    assert (await other.get(url)).status_code == 404
    assert (await other.put(url, json=saved(SHENYANG))).status_code == 404
    assert (await other.post(url + "/default")).status_code == 404
    assert (await other.delete(url)).status_code == 404
    assert (await other.get("/api/v1/addresses")).json() == []
    sku = await make_sku(stock=5)
    r = await checkout(other, {"fulfilment": "delivery", "address_id": mine["id"],
                               "lines": [{"sku_id": sku.id, "quantity": 1}]})
    assert r.status_code == 404, r.text
    assert not await Order.filter(buyer_id=other.id).exists()
    assert await Address.filter(id=mine["id"], detail="幸福路1号").exists()
    # address and address_id together, or address_id for pickup: 422 naming address_id
    r = await checkout(buyer, {"fulfilment": "delivery", "address_id": mine["id"], "lines": [
        {"sku_id": sku.id, "quantity": 1}], "address": {"name": "a", "phone": "13800138000", "town": "x",
                                                       "detail": "y"}})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "address_id"


async def test_a_kazuo_village_with_a_station_is_served_by_its_leg(client, buyer):
    import secrets

    from server.models.stations import Station

    village = "测试村" + secrets.token_hex(2)
    town = await Station.create(code="T-" + secrets.token_hex(4), name="十二德堡乡服务中心", level="town",
                                town="十二德堡乡", status="active")
    st = await Station.create(code="T-" + secrets.token_hex(4), name=village + "服务站", level="village",
                              parent_id=town.id, town="十二德堡乡", village=village, status="active")
    body = saved({"province_code": "210000", "city_code": "211300", "county_code": "211324",
                  "town_code": "211324022"}, village=village)
    r = await buyer.post("/api/v1/addresses", json=body)
    assert r.status_code == 201 and r.json()["station_id"] == st.id, r.text
    sku = await make_sku(stock=5)
    r = await checkout(buyer, {"fulfilment": "delivery", "address_id": r.json()["id"],
                               "lines": [{"sku_id": sku.id, "quantity": 1}]})
    assert r.status_code == 201, r.text
    addr = r.json()["address"]
    assert (addr["town"], addr["village"], addr["station_id"]) == ("十二德堡乡", village, st.id)
    # a suspended station serves no leg
    await Station.filter(id=st.id).update(status="suspended")
    assert (await buyer.get("/api/v1/addresses")).json()[0]["station_id"] is None
