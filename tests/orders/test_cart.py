from server.models.catalog import Product, Sku
from tests.conftest import login
from tests.orders.conftest import make_sku


async def test_cart_recomputes_prices_and_flags_unavailable_lines(client):
    me = await login(client)
    a, b, c = await make_sku(price=100, stock=5), await make_sku(price=200, stock=1), await make_sku(price=300)
    assert (await me.post("/api/v1/cart/items", json={"sku_id": a.id, "quantity": 2})).status_code == 200
    await me.post("/api/v1/cart/items", json={"sku_id": a.id, "quantity": 1})
    await me.put(f"/api/v1/cart/items/{b.id}", json={"quantity": 3})
    cart = (await me.put(f"/api/v1/cart/items/{c.id}", json={"quantity": 1})).json()
    assert {x["sku_id"]: x["quantity"] for x in cart["lines"]} == {a.id: 3, b.id: 3, c.id: 1}
    await Sku.filter(id=a.id).update(price=150)  # prices always come from the catalogue
    await Product.filter(id=c.product_id).update(status="off_shelf")
    cart = (await me.get("/api/v1/cart")).json()
    by = {x["sku_id"]: x for x in cart["lines"]}
    assert by[a.id]["amount"] == 450 and by[a.id]["available"]
    assert by[b.id]["problem"] == "insufficient_stock" and by[c.id]["problem"] == "off_sale"
    assert cart["total_fen"] == 450 and cart["available_count"] == 1
    await Sku.filter(id=b.id).update(stock=0)
    assert {x["sku_id"]: x["problem"] for x in (await me.get("/api/v1/cart")).json()["lines"]}[b.id] == "out_of_stock"
    cart = (await me.delete(f"/api/v1/cart/items/{b.id}")).json()
    assert b.id not in [x["sku_id"] for x in cart["lines"]]
    other = await login(client)
    assert (await other.get("/api/v1/cart")).json()["lines"] == []


async def test_cart_bad_input(client):
    me = await login(client)
    assert (await me.post("/api/v1/cart/items", json={"sku_id": 99999999, "quantity": 1})).status_code == 404
    off = await make_sku(product_status="off_shelf")
    assert (await me.post("/api/v1/cart/items", json={"sku_id": off.id, "quantity": 1})).status_code == 409
    for body, field in [({"sku_id": "x"}, "sku_id"), ({"sku_id": 1, "quantity": 0}, "quantity"),
                        ({"sku_id": 2**64}, "sku_id"), ({"sku_id": 1, "price": 1}, "price")]:
        r = await me.post("/api/v1/cart/items", json=body)
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == field
    sku = await make_sku()
    r = await me.put(f"/api/v1/cart/items/{sku.id}", json={"quantity": 100})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "quantity"
