"""Tie-ins (live price, quota from stock, scope), selling on air through the orders checkout (live
price, quota, per-buyer limit, attribution, commission), quota give-back, gate repair, figures."""
import asyncio
from datetime import timedelta

import pytest

from server.kit import clock
from server.kit.errors import Conflict, ValidationFailed
from tests.conftest import login, login_as
from tests.live.conftest import attach, buy, go_live, make_goods, make_session, make_streamer


async def _sku(sku_id):
    from server.models.catalog import Sku

    return await Sku.get(id=sku_id)


async def _tiein(tid):
    from server.models.live import LiveTieIn

    return await LiveTieIn.get(id=tid)


async def test_tiein_rules(client, streamer):
    goods = await make_goods(list_price=3500, stock=20)
    s = await make_session(streamer)
    url = f"/api/v1/live/sessions/{s['id']}/tieins"
    cases = [({"sku_id": goods.sku_id, "live_price": 3501, "quota": 1}, "live_price"),
             ({"sku_id": goods.sku_id, "live_price": 1000, "quota": 21}, "quota"),
             ({"sku_id": goods.sku_id, "live_price": 0, "quota": 1}, "live_price"),
             ({"sku_id": goods.sku_id, "live_price": 1000, "quota": 0}, "quota"),
             ({"sku_id": goods.sku_id, "live_price": 10**20, "quota": 1}, "live_price"),
             ({"sku_id": goods.sku_id, "live_price": 1000, "quota": 1, "remaining": 5}, "remaining"),
             ({"sku_id": str(goods.sku_id), "live_price": 1000, "quota": 1}, "sku_id"),
             ({"sku_id": 99999999, "live_price": 1000, "quota": 1}, "sku_id")]
    for body, field in cases:
        r = await streamer.post(url, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["details"][0]["field"] == field, (body, r.text)
    assert (await _sku(goods.sku_id)).stock == 20  # nothing changed
    t = await attach(streamer, s["id"], goods.sku_id, live_price=3500, quota=20)
    assert t["remaining"] == 20 and (await _sku(goods.sku_id)).stock == 0
    r = await streamer.post(url, json={"sku_id": goods.sku_id, "live_price": 1000, "quota": 1})
    assert r.status_code == 409
    # someone else's session and tie-in are not found
    other = await make_streamer(client)
    assert (await other.post(url, json={"sku_id": goods.sku_id, "live_price": 1, "quota": 1})).status_code == 404
    assert (await other.patch(f"/api/v1/live/tieins/{t['id']}", json={"live_price": 1})).status_code == 404
    assert (await other.delete(f"/api/v1/live/tieins/{t['id']}")).status_code == 404
    r = await other.post(f"/api/v1/live/sessions/{s['id']}/on-air", json={"tiein_id": t["id"]})
    assert r.status_code == 404
    # patch: price above list refused, top-up above stock refused, detach returns the quota
    r = await streamer.patch(f"/api/v1/live/tieins/{t['id']}", json={"live_price": 3600})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "live_price"
    r = await streamer.patch(f"/api/v1/live/tieins/{t['id']}", json={"add_quota": 1})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "add_quota"
    assert (await streamer.delete(f"/api/v1/live/tieins/{t['id']}")).status_code == 204
    assert (await _sku(goods.sku_id)).stock == 20


async def test_merchant_ties_in_its_own_goods(client, streamer):
    goods = await make_goods()
    theirs = await make_goods()
    s = await make_session(streamer, merchant_id=goods.merchant_id)
    member = await login_as(client, "merchant", merchant_id=goods.merchant_id)
    t = await attach(member, s["id"], goods.sku_id)
    r = await member.post(f"/api/v1/live/sessions/{s['id']}/tieins",
                          json={"sku_id": theirs.sku_id, "live_price": 100, "quota": 1})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "sku_id"
    # a merchant sees its own products' figures of the session, not the session's other takings
    r = await member.get(f"/api/v1/live/sessions/{s['id']}/figures")
    assert r.status_code == 200 and [p["tiein_id"] for p in r.json()["per_product"]] == [t["id"]]
    stranger = await login_as(client, "merchant", merchant_id=theirs.merchant_id)
    assert (await stranger.get(f"/api/v1/live/sessions/{s['id']}/figures")).status_code == 404


async def test_on_air_switch_and_poll(client, streamer):
    g1, g2 = await make_goods(), await make_goods()
    s = await make_session(streamer)
    t1 = await attach(streamer, s["id"], g1.sku_id)
    t2 = await attach(streamer, s["id"], g2.sku_id, sort=1)
    r = await streamer.post(f"/api/v1/live/sessions/{s['id']}/on-air", json={"tiein_id": t2["id"]})
    assert r.status_code == 200 and r.json()["on_air"]["id"] == t2["id"]
    view = (await client.get(f"/api/v1/live/sessions/{s['id']}")).json()
    assert view["on_air"]["id"] == t2["id"] and [t["id"] for t in view["tieins"]] == [t1["id"], t2["id"]]
    r = await streamer.post(f"/api/v1/live/sessions/{s['id']}/on-air", json={"tiein_id": 987654321})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "tiein_id"
    r = await streamer.post(f"/api/v1/live/sessions/{s['id']}/on-air", json={"tiein_id": None})
    assert r.json()["on_air"] is None


async def test_selling_on_air(client, streamer, station_id):
    from server.models.orders import Order, OrderLine

    goods = await make_goods(price=2800, list_price=3500, stock=50)
    s = await make_session(streamer, commission_bp=800)
    t = await attach(streamer, s["id"], goods.sku_id, live_price=1990, quota=3, limit=2, commission_bp=1200)
    buyer = await login(client)
    # before the session goes live the source is refused, nothing taken
    with pytest.raises(ValidationFailed) as e:
        await buy(buyer.id, goods.sku_id, s["id"], station_id)
    assert e.value.details[0]["field"] == "source.session_id"
    await go_live(streamer, s["id"])
    order = await buy(buyer.id, goods.sku_id, s["id"], station_id, qty=2)
    o = await Order.get(id=order.id)
    line = await OrderLine.get(order_id=o.id)
    assert o.live_session_id == s["id"] and o.livestreamer_id == streamer.id and o.source == "live"
    assert line.unit_price == 1990 and line.amount == 3980 and line.commission_bp == 1200
    sku, tie = await _sku(goods.sku_id), await _tiein(t["id"])
    assert (tie.remaining, tie.sold) == (1, 2)
    assert (sku.stock, sku.reserved) == (47, 2)  # the quota was taken out at attach; the order holds 2
    # per-buyer limit (2): a third unit is refused, nothing changes
    with pytest.raises(Conflict) as e:
        await buy(buyer.id, goods.sku_id, s["id"], station_id)
    assert e.value.code == "live_buyer_limit"
    other = await login(client)
    with pytest.raises(Conflict) as e:
        await buy(other.id, goods.sku_id, s["id"], station_id, qty=2)  # only 1 left
    assert e.value.code == "live_sold_out"
    assert (await _tiein(t["id"])).remaining == 1
    # cancelling the unpaid order while live gives the quota back to the session
    from server.orders import service as orders

    assert await orders.cancel_unpaid(order.id, reason="test")
    tie, sku = await _tiein(t["id"]), await _sku(goods.sku_id)
    assert (tie.remaining, tie.sold, sku.stock, sku.reserved) == (3, 0, 47, 0)
    o2 = await buy(other.id, goods.sku_id, s["id"], station_id, qty=2)
    # a product not tied to the session sells at its shelf price with no commission, still attributed
    plain = await make_goods(price=1000, list_price=1000)
    o3 = await buy(other.id, plain.sku_id, s["id"], station_id)
    l3 = await OrderLine.get(order_id=o3.id)
    assert l3.unit_price == 1000 and l3.commission_bp == 0
    assert (await Order.get(id=o3.id)).live_session_id == s["id"]
    figs = (await streamer.get(f"/api/v1/live/sessions/{s['id']}/figures")).json()
    assert figs["live"] and figs["units"] == 2 and figs["gmv_fen"] == 3980 and figs["cancelled_units"] == 2
    assert figs["orders"] == 2 and figs["buyers"] == 2
    # the session ends: the unsold unit goes back to the shelf, figures are stored
    r = await streamer.post(f"/api/v1/live/sessions/{s['id']}/end")
    assert r.status_code == 200 and r.json()["status"] == "ended"
    tie, sku = await _tiein(t["id"]), await _sku(goods.sku_id)
    assert (tie.remaining, tie.returned, sku.stock, sku.reserved) == (0, 1, 48, 2)
    from live import service

    await service.store_figures(s["id"])
    stored = (await streamer.get(f"/api/v1/live/sessions/{s['id']}/figures")).json()
    assert not stored["live"] and stored["units"] == 2 and stored["gmv_fen"] == 3980
    # an unpaid order cancelled after the end: its units go to the shelf
    assert await orders.cancel_unpaid(o2.id, reason="test")
    tie, sku = await _tiein(t["id"]), await _sku(goods.sku_id)
    assert (tie.remaining, sku.stock, sku.reserved) == (0, 50, 0)
    # within the attribution window: attributed, commission, shelf price
    late = await buy(buyer.id, goods.sku_id, s["id"], station_id)
    ll = await OrderLine.get(order_id=late.id)
    assert ll.unit_price == 2800 and ll.commission_bp == 1200
    assert (await Order.get(id=late.id)).livestreamer_id == streamer.id
    # after it: refused, nothing changed
    from server.kit import runtime

    clock.shift(timedelta(hours=runtime.settings().live_attribution_window_hours, minutes=1))
    try:
        with pytest.raises(ValidationFailed) as e:
            await buy(buyer.id, goods.sku_id, s["id"], station_id)
    finally:
        clock.reset()
    assert e.value.details[0]["field"] == "source.session_id"
    assert (await _sku(goods.sku_id)).stock == 49


async def test_the_database_wins_and_the_gate_is_repaired(client, streamer, station_id):
    from live import gate

    goods = await make_goods(stock=10)
    s = await make_session(streamer)
    t = await attach(streamer, s["id"], goods.sku_id, quota=5, limit=5)
    await go_live(streamer, s["id"])
    buyer = await login(client)
    await buy(buyer.id, goods.sku_id, s["id"], station_id)
    assert await gate.remaining(t["id"]) == 4
    # the gate is behind (says sold out while the database has 4): repaired, and the buyer gets in
    from server.kit import redis as kr

    await kr.redis().set(gate._keys(t["id"])[0], 0)
    await kr.redis().delete(kr.key("live", "gate", t["id"], "checked"))
    gate._repair_after.clear()
    with pytest.raises(Conflict):
        await buy(buyer.id, goods.sku_id, s["id"], station_id)
    # the sold-out answer does not wait for the repair: it follows at once, in the background
    from server.kit import db as kdb

    await asyncio.gather(*list(kdb._detached))
    assert await gate.remaining(t["id"]) == 4
    await buy(buyer.id, goods.sku_id, s["id"], station_id)
    # the gate is ahead (says 50 left while the database has 3): the database refuses, gate reloaded
    from server.models.live import LiveTieIn

    await LiveTieIn.filter(id=t["id"]).update(remaining=0)
    await kr.redis().set(gate._keys(t["id"])[0], 50)
    with pytest.raises(Conflict) as e:
        await buy(buyer.id, goods.sku_id, s["id"], station_id)
    assert e.value.code == "live_sold_out"
    assert await gate.remaining(t["id"]) == 0
    # a cold gate (Redis lost it) loads itself from the database
    await LiveTieIn.filter(id=t["id"]).update(remaining=3)
    await gate.drop(t["id"])
    await buy(buyer.id, goods.sku_id, s["id"], station_id)
    assert await gate.remaining(t["id"]) == 2
    # the per-buyer count came back from the database too (2 bought, limit 5)
    with pytest.raises(Conflict) as e:
        await buy(buyer.id, goods.sku_id, s["id"], station_id, qty=3)
    assert e.value.code == "live_buyer_limit"


async def test_a_sale_in_flight_is_not_taken_for_a_gate_behind(client, streamer, station_id, monkeypatch):
    """Sold out in the gate while the winners' orders are still being written: the database has
    their units, the gate's open holds account for them, so nothing is reloaded."""
    from live import gate
    from server.kit import redis as kr

    goods = await make_goods(stock=10)
    s = await make_session(streamer)
    t = await attach(streamer, s["id"], goods.sku_id, quota=3, limit=1)
    await go_live(streamer, s["id"])
    for buyer_id in (1001, 1002, 1003):  # three buyers admitted, their orders not written yet
        assert (await gate.take(t["id"], buyer_id, 1, 1))[0] == gate.TAKEN
    loads = []
    monkeypatch.setattr(gate, "load", lambda tid: loads.append(tid))
    await kr.redis().delete(kr.key("live", "gate", t["id"], "checked"))
    assert await gate.maybe_repair(t["id"]) is False
    assert loads == [] and await gate.remaining(t["id"]) == 0
    # without the holds the gate would be behind: reloaded
    await kr.redis().delete(gate._keys(t["id"])[3], kr.key("live", "gate", t["id"], "checked"))
    monkeypatch.undo()
    assert await gate.maybe_repair(t["id"]) is True
    assert await gate.remaining(t["id"]) == 3


async def test_the_database_holds_the_buyer_to_the_limit_when_the_gate_forgot(client, streamer, station_id):
    from live import gate
    from server.kit import redis as kr
    from server.models.live import LivePurchase

    goods = await make_goods(stock=10)
    s = await make_session(streamer, commission_bp=500)
    t = await attach(streamer, s["id"], goods.sku_id, quota=5, limit=2)
    await go_live(streamer, s["id"])
    buyer = await login(client)
    await buy(buyer.id, goods.sku_id, s["id"], station_id, qty=2)
    # the gate lost the buyer's count (it admits them again): the database refuses, takes nothing
    await kr.redis().hdel(gate._keys(t["id"])[1], str(buyer.id))
    with pytest.raises(Conflict) as e:
        await buy(buyer.id, goods.sku_id, s["id"], station_id)
    assert e.value.code == "live_buyer_limit"
    tie, sku = await _tiein(t["id"]), await _sku(goods.sku_id)
    assert (tie.remaining, tie.sold, sku.stock, sku.reserved) == (3, 2, 5, 2)
    def held(buyer_id):
        return LivePurchase.filter(tiein_id=t["id"], buyer_id=buyer_id).values_list("quantity", flat=True)

    assert await held(buyer.id) == [2]
    # the gate was reloaded from the database: its unit is back and it knows the buyer again
    assert await gate.remaining(t["id"]) == 3
    r, _ = await gate.take(t["id"], buyer.id, 1, 2)
    assert r == gate.OVER_LIMIT
    # another buyer's first purchase creates their row, within the limit
    other = await login(client)
    await buy(other.id, goods.sku_id, s["id"], station_id)
    assert await held(other.id) == [1]
    assert (await _tiein(t["id"])).remaining == 2


async def test_a_rolled_back_checkout_gives_its_hold_back(client, streamer, station_id):
    from live import gate
    goods = await make_goods(stock=10)
    s = await make_session(streamer)
    t = await attach(streamer, s["id"], goods.sku_id, quota=2, limit=2)
    await go_live(streamer, s["id"])
    buyer = await login(client)
    # the resolver takes the hold, then the checkout fails on another line (out of stock): rolled back
    empty = await make_goods(stock=0)
    from server.orders import service as orders
    from server.orders.schemas import CheckoutIn

    data = CheckoutIn.model_validate({"lines": [{"sku_id": goods.sku_id, "quantity": 1},
                                                {"sku_id": empty.sku_id, "quantity": 1}],
                                      "fulfilment": "pickup", "station_id": station_id,
                                      "source": {"kind": "live", "session_id": s["id"]}})
    with pytest.raises(Conflict) as e:
        await orders.create_order(buyer.id, data, idempotency_key=None)
    assert e.value.code == "out_of_stock"
    assert await gate.remaining(t["id"]) == 2 and (await _tiein(t["id"])).remaining == 2
    # an unconfirmed hold (a crashed checkout) is given back by the sweeper
    r, hold = await gate.take(t["id"], buyer.id, 1, 2)
    assert r == gate.TAKEN and await gate.remaining(t["id"]) == 1
    assert await gate.expire_holds(t["id"], older_than_ms=-1000) == 1
    assert await gate.remaining(t["id"]) == 2
    await buy(buyer.id, goods.sku_id, s["id"], station_id, qty=2)
    assert (await _tiein(t["id"])).remaining == 0


async def test_profile_and_trainee_link(client, streamer, station_id, admin):
    s = await make_session(streamer)
    r = await client.get(f"/api/v1/live/livestreamers/{streamer.id}")
    assert r.status_code == 200 and r.json()["commission_fen"] is None and r.json()["trainee_id"] is None
    mine = (await streamer.get(f"/api/v1/live/livestreamers/{streamer.id}")).json()
    assert mine["commission_fen"] == 0 and mine["recent_sessions"][0]["id"] == s["id"]
    r = await admin.put(f"/api/v1/live/livestreamers/{streamer.id}/trainee",
                        json={"trainee_id": 99999999, "incubation_base": True})
    assert r.status_code in (200, 422)  # 422 when the training capability is present and has no such trainee
    r = await admin.put(f"/api/v1/live/livestreamers/{streamer.id}/trainee", json={"incubation_base": True})
    assert r.status_code == 200 and r.json()["incubation_base"] is True
    assert (await streamer.put(f"/api/v1/live/livestreamers/{streamer.id}/trainee", json={})).status_code == 403
    assert (await client.get("/api/v1/live/livestreamers/99999999")).status_code == 404


async def test_share_code(client, streamer):
    s = await make_session(streamer)
    info = (await client.get(f"/api/v1/live/sessions/{s['id']}/share")).json()
    assert info["path"].endswith(f"sid={s['id']}&v=share") and len(info["scene"]) <= 32
    r = await client.get(info["wxacode_url"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content.startswith(b"\x89PNG")
