"""The viewer websocket: snapshot first, then changes fanned out through Redis pub/sub; presence."""
import asyncio

import orjson
import websockets

from tests.live.conftest import attach, buy, go_live, make_goods, make_session


async def _next(ws, kind, timeout=5):
    while True:
        msg = orjson.loads(await asyncio.wait_for(ws.recv(), timeout))
        if msg["type"] == kind:
            return msg


async def test_websocket_pushes_snapshot_and_changes(client, streamer, settings, consumer):
    goods = await make_goods()
    s = await make_session(streamer)
    t = await attach(streamer, s["id"], goods.sku_id)
    base = settings.base_url.replace("http://", "ws://") + f"/api/v1/live/sessions/{s['id']}/ws"
    async with websockets.connect(base + f"?token={consumer.token}") as ws, websockets.connect(base) as ws2:
        snap = await _next(ws, "snapshot")
        assert snap["data"]["session"]["id"] == s["id"] and snap["data"]["tieins"][0]["id"] == t["id"]
        await _next(ws2, "snapshot")
        r = await streamer.post(f"/api/v1/live/sessions/{s['id']}/on-air", json={"tiein_id": t["id"]})
        assert r.status_code == 200
        for w in (ws, ws2):  # both sockets get it
            ev = await _next(w, "on_air")
            assert ev["data"]["on_air"]["id"] == t["id"]
        view = (await client.get(f"/api/v1/live/sessions/{s['id']}")).json()
        assert view["viewers"] == 2
        figs = (await streamer.get(f"/api/v1/live/sessions/{s['id']}/figures")).json()
        assert figs["viewers_now"] == 2 and figs["peak_viewers"] == 2 and figs["viewers"] == 2
    for _ in range(50):  # the server notices the close and drops the presence
        if (await client.get(f"/api/v1/live/sessions/{s['id']}")).json()["viewers"] == 0:
            break
        await asyncio.sleep(0.05)
    assert (await client.get(f"/api/v1/live/sessions/{s['id']}")).json()["viewers"] == 0
    async with websockets.connect(base.replace(f"/{s['id']}/", "/99999999/")) as bad:
        try:
            await asyncio.wait_for(bad.recv(), 5)
            raise AssertionError("expected a close")
        except websockets.ConnectionClosed as exc:
            assert exc.rcvd.code == 4404
    async with websockets.connect(base + "?token=nonsense") as bad:
        try:
            await asyncio.wait_for(bad.recv(), 5)
            raise AssertionError("expected a close")
        except websockets.ConnectionClosed as exc:
            assert exc.rcvd.code == 4401


async def test_an_order_pushes_the_stock_left_and_counts_in_the_figures(client, streamer, settings, consumer,
                                                                        station_id):
    goods = await make_goods(stock=10)
    s = await make_session(streamer)
    t = await attach(streamer, s["id"], goods.sku_id, live_price=990, quota=5, limit=2)
    await go_live(streamer, s["id"])
    base = settings.base_url.replace("http://", "ws://") + f"/api/v1/live/sessions/{s['id']}/ws"
    async with websockets.connect(base) as ws:
        await _next(ws, "snapshot")
        await buy(consumer.id, goods.sku_id, s["id"], station_id, qty=2)
        ev = await _next(ws, "stock")
        assert ev["data"] == {"tiein_id": t["id"], "remaining": 3}
    figs = (await streamer.get(f"/api/v1/live/sessions/{s['id']}/figures")).json()
    assert (figs["orders"], figs["units"], figs["gmv_fen"], figs["buyers"]) == (1, 2, 1980, 1)
    per = [(p["tiein_id"], p["orders"], p["units"], p["gmv_fen"]) for p in figs["per_product"]]
    assert per == [(t["id"], 1, 2, 1980)]
