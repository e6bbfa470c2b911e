"""Rooms, sessions, stream URLs, Aliyun callbacks (signature, idempotency, order) and reconcile."""
import hashlib
import time
from datetime import timedelta

from server.kit import clock
from tests.conftest import login, login_as
from tests.live.conftest import attach, go_live, make_goods, make_session, make_streamer


async def _session(sid):
    from server.models.live import LiveSession

    return await LiveSession.get(id=sid)


def _signed(settings, ts):
    key = "kazuo-sim-live-callback-key"
    return {"ALI-LIVE-TIMESTAMP": str(ts),
            "ALI-LIVE-SIGNATURE": hashlib.md5(f"{settings.live_push_domain}|{ts}|{key}".encode()).hexdigest()}


async def _callback(client, settings, action, stream, ts, headers=None):
    params = {"action": action, "id": stream, "app": settings.live_push_domain, "appname": settings.live_app_name,
              "time": str(ts), "usrargs": ""}
    return await client.get("/api/v1/live/aliyun/stream-callback", params=params,
                            headers=_signed(settings, int(time.time())) if headers is None else headers)


async def test_session_goes_live_and_ends_through_the_simulator(client, streamer, settings):
    s = await make_session(streamer)
    assert s["status"] == "scheduled" and s["commission_bp"] == 1000
    push = await go_live(streamer, s["id"])
    assert push["push_url"].startswith(f"rtmp://{settings.live_push_domain}/{settings.live_app_name}/")
    assert (await _session(s["id"])).status == "live"
    viewer = await login(client)
    play = (await viewer.get(f"/api/v1/live/sessions/{s['id']}/play-urls")).json()
    from live import signing

    for k in ("rtmp", "flv", "hls"):
        assert signing.verify_url(play[k], signing.play_keys(settings), int(time.time()))
    # only the session's livestreamer gets its push URL
    other = await make_streamer(client)
    assert (await other.get(f"/api/v1/live/sessions/{s['id']}/push-url")).status_code == 404
    assert (await viewer.get(f"/api/v1/live/sessions/{s['id']}/push-url")).status_code == 403
    r = await client.post("/__sim__/aliyun-live/publish_done", json={"stream": push["stream_name"]})
    assert r.json()["callback_status"] == 200
    sess = await _session(s["id"])
    assert sess.status == "ended" and sess.ended_by == "stream"


async def test_simulator_refuses_a_forged_push_url(client, streamer):
    s = await make_session(streamer)
    push = (await streamer.get(f"/api/v1/live/sessions/{s['id']}/push-url")).json()
    forged = push["push_url"][:-4] + ("0000" if not push["push_url"].endswith("0000") else "1111")
    r = await client.post("/__sim__/aliyun-live/publish", json={"push_url": forged})
    assert r.status_code == 403
    assert (await _session(s["id"])).status == "scheduled"


async def test_callback_signature_is_checked_and_nothing_changes(client, streamer, settings):
    s = await make_session(streamer)
    stream = (await _session(s["id"])).stream_name
    now = int(time.time())
    bad = {**_signed(settings, now), "ALI-LIVE-SIGNATURE": "0" * 32}
    for headers in (bad, {}, _signed(settings, now - 3600)):
        r = await _callback(client, settings, "publish", stream, now, headers=headers)
        assert r.status_code == 403 and r.json()["error"]["code"] == "live_callback_refused"
    assert (await _session(s["id"])).status == "scheduled"
    from server.models.live import LiveStreamEvent

    assert not await LiveStreamEvent.filter(stream_name=stream).exists()
    r = await _callback(client, settings, "unpublish", stream, now)
    assert r.status_code == 400
    r = await _callback(client, settings, "publish", "bad stream!", now)
    assert r.status_code == 400


async def test_callbacks_are_idempotent_and_order_independent(client, streamer, settings):
    s = await make_session(streamer)
    stream = (await _session(s["id"])).stream_name
    t0 = int(time.time())
    # publish_done (t0+60) arrives before publish (t0): the session ends and stays ended
    r = await _callback(client, settings, "publish_done", stream, t0 + 60)
    assert r.json()["outcome"] == "ended"
    r = await _callback(client, settings, "publish", stream, t0)
    assert r.json()["outcome"] == "stale"
    sess = await _session(s["id"])
    assert sess.status == "ended" and sess.started_at is not None
    assert int(sess.started_at.timestamp()) == t0 and int(sess.ended_at.timestamp()) == t0 + 60
    # the same callback again (Aliyun retries) is a no-op
    r = await _callback(client, settings, "publish_done", stream, t0 + 60)
    assert r.json()["outcome"] == "duplicate"
    # a second session: publish twice (retry), then done
    s2 = await make_session(streamer)
    stream2 = (await _session(s2["id"])).stream_name
    assert (await _callback(client, settings, "publish", stream2, t0)).json()["outcome"] == "live"
    assert (await _callback(client, settings, "publish", stream2, t0)).json()["outcome"] == "duplicate"
    assert (await _callback(client, settings, "publish", stream2, t0 + 5)).json()["outcome"] == "no_change"
    assert (await _session(s2["id"])).status == "live"
    assert (await _callback(client, settings, "publish", "sunknownstream", t0)).json()["outcome"] == "unknown_stream"


async def test_reconcile_fixes_missed_callbacks(client, streamer, settings):
    from live import jobs

    s = await make_session(streamer)
    push = await go_live(streamer, s["id"], callback=False)  # the publish callback is lost
    assert (await _session(s["id"])).status == "scheduled"
    res = await jobs.reconcile({})
    assert res["started"] >= 1
    assert (await _session(s["id"])).status == "live"
    await client.post("/__sim__/aliyun-live/publish_done", json={"stream": push["stream_name"], "callback": False})
    assert (await jobs.reconcile({}))["ended"] == 0  # within the grace period: a reconnect may follow
    assert (await _session(s["id"])).status == "live"
    clock.shift(timedelta(seconds=settings.live_reconcile_grace_seconds + 5))
    try:
        res = await jobs.reconcile({})
    finally:
        clock.reset()
    sess = await _session(s["id"])
    assert res["ended"] >= 1 and sess.status == "ended" and sess.ended_by == "reconcile"


async def test_session_input_is_checked(client, streamer):
    r = await streamer.post("/api/v1/live/rooms", json={"title": "x", "on_behalf": "merchant"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "merchant_id"
    r = await streamer.post("/api/v1/live/rooms", json={"title": "x", "default_commission_bp": 10**30})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "default_commission_bp"
    r = await streamer.post("/api/v1/live/rooms", json={"title": "a\x00b"})
    assert r.status_code == 422
    room = (await streamer.post("/api/v1/live/rooms", json={"title": "间"})).json()
    for body, field in (({"title": "t"}, "scheduled_at"),
                        ({"title": "t", "scheduled_at": "2020-01-01T00:00:00+00:00"}, "scheduled_at"),
                        ({"title": "t", "scheduled_at": "2030-01-01T00:00:00"}, "scheduled_at"),
                        ({"title": "", "scheduled_at": "2030-01-01T00:00:00Z"}, "title"),
                        ({"title": "t", "scheduled_at": "2030-01-01T00:00:00Z", "status": "live"}, "status")):
        r = await streamer.post(f"/api/v1/live/rooms/{room['id']}/sessions", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["details"][0]["field"] == field
    other = await make_streamer(client)
    r = await other.post(f"/api/v1/live/rooms/{room['id']}/sessions",
                         json={"title": "t", "scheduled_at": "2030-01-01T00:00:00Z"})
    assert r.status_code == 404
    consumer = await login(client)
    assert (await consumer.post("/api/v1/live/rooms", json={"title": "x"})).status_code == 403
    assert (await streamer.get("/api/v1/live/sessions/99999999999999999999")).status_code == 404
    no_profile = await login_as(client, "livestreamer")
    r = await no_profile.post("/api/v1/live/rooms", json={"title": "x"})
    assert r.status_code == 409


async def test_session_list_and_poll(client, streamer):
    goods = await make_goods()
    s = await make_session(streamer)
    await attach(streamer, s["id"], goods.sku_id)
    r = await client.get("/api/v1/live/sessions", params={"limit": 1})
    assert r.status_code == 200 and len(r.json()["items"]) == 1
    if r.json()["next_cursor"]:
        r2 = await client.get("/api/v1/live/sessions", params={"limit": 1, "cursor": r.json()["next_cursor"]})
        assert r2.status_code == 200 and r2.json()["items"][0]["id"] != r.json()["items"][0]["id"]
    assert (await client.get("/api/v1/live/sessions", params={"cursor": "!!"})).status_code == 422
    mine = (await streamer.get("/api/v1/live/sessions", params={"mine": "true"})).json()["items"]
    assert [x["id"] for x in mine] == [s["id"]]
    view = (await client.get(f"/api/v1/live/sessions/{s['id']}")).json()
    assert view["session"]["livestreamer_name"] == "喀左小醋娘"
    assert view["tieins"][0]["live_price"] == 1990 and view["on_air"] is None
