"""WeChat calls as production meets them (issue #20): every call through the WeChat vendor pool;
mini-program codes with check_path=false and env_version from a setting (wechatpy 1.8.18 cannot send
them: a direct httpx call with the shared access token); unsigned Aliyun Live callbacks and inbound
SMS pushes refused in production at run time, not only at start."""
from __future__ import annotations

import threading

import pytest

from live import signing
from server.kit import runtime
from server.kit.errors import UpstreamError

PAGE = "pages/live/session"


async def test_wechat_calls_run_in_the_wechat_pool(client):
    wechat = runtime.get().extras["wechat"]
    assert (await wechat.call(lambda: threading.current_thread().name)).startswith("kz-wechat")


async def test_wxacode_is_made_with_check_path_false_and_the_env_version(client, monkeypatch):
    wechat = runtime.get().extras["wechat"]
    # Not published yet: with check_path=true WeChat refuses the page (41030) ...
    token = await wechat.call(lambda: wechat.client.access_token)
    r = await client.post("/__sim__/wechat/wxa/getwxacodeunlimit", params={"access_token": token},
                          json={"scene": "sid=1&v=code", "page": "pages/never/published"})
    assert r.json()["errcode"] == 41030
    # ... our codes say check_path=false, so they work before the release
    png = await wechat.wxacode_unlimited("sid=1&v=code", "pages/never/published")
    assert png.startswith(b"\x89PNG")
    monkeypatch.setattr(wechat, "wxacode_env_version", "trial")
    trial = await wechat.wxacode_unlimited("sid=1&v=code", "pages/never/published")
    assert trial.startswith(b"\x89PNG") and trial != png  # the code encodes the version it opens
    monkeypatch.setattr(wechat, "wxacode_env_version", "beta")
    with pytest.raises(UpstreamError) as err:
        await wechat.wxacode_unlimited("sid=1&v=code", PAGE)
    assert err.value.details["errcode"] == 40097
    # after publishing, check_path=true finds the page
    assert (await client.post("/__sim__/wechat/published-pages", json={"pages": [PAGE]})).status_code == 200
    r = await client.post("/__sim__/wechat/wxa/getwxacodeunlimit", params={"access_token": token},
                          json={"scene": "sid=1", "page": PAGE, "check_path": True})
    assert r.headers["content-type"] == "image/png"


@pytest.mark.parametrize("body,errcode", [
    ({"scene": "x" * 33}, 40169), ({"scene": "中文"}, 40169), ({"scene": "a", "page": "/pages/a"}, 41030),
    ({"scene": "a", "page": "pages/a?x=1"}, 41030), ({"scene": "a", "width": 200}, 40159),
    ({"scene": "a", "check_path": "false"}, 47001), ({"scene": "a", "env_version": "prod"}, 40097),
])
async def test_wxacode_simulator_checks_the_documented_params(client, body, errcode):
    wechat = runtime.get().extras["wechat"]
    token = await wechat.call(lambda: wechat.client.access_token)
    r = await client.post("/__sim__/wechat/wxa/getwxacodeunlimit", params={"access_token": token}, json=body)
    assert r.json()["errcode"] == errcode


async def test_wxacode_fetches_a_new_token_when_wechat_refuses_the_stored_one(client):
    wechat = runtime.get().extras["wechat"]
    await wechat.call(lambda: wechat.client.access_token)
    key = wechat.client.access_token_key
    await wechat.call(wechat.client.session.set, key, "a-token-wechat-no-longer-knows", 7200)
    assert (await wechat.wxacode_unlimited("sid=9", PAGE)).startswith(b"\x89PNG")
    assert await wechat.call(wechat.client.session.get, key) != "a-token-wechat-no-longer-knows"


@pytest.fixture
def production(settings, monkeypatch):
    """This process's settings as production without the inbound keys (what start-up refuses)."""
    prod = settings.model_copy(update={"env": "production", "simulators": "off", "live_callback_key": None,
                                       "trace_sms_inbound_key": None})
    monkeypatch.setattr(runtime.get(), "settings", prod)
    return prod


async def test_unsigned_live_callback_refused_in_production(client, production):
    assert signing.verify_callback(production, {}, 0) == "KAZUO_LIVE_CALLBACK_KEY is not set"
    r = await client.get("/api/v1/live/aliyun/stream-callback",
                         params={"action": "publish_done", "id": "s1", "app": "kazuo", "appname": "kazuo", "time": "1"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "live_callback_refused"


async def test_unsigned_sms_push_refused_in_production(client, production):
    r = await client.post("/api/v1/trace/sms/inbound",
                          json=[{"phone_number": "13800000000", "content": "CX123", "sequence_id": 1}])
    assert r.status_code == 401 and r.json()["error"]["code"] == "signature_invalid"
    assert "KAZUO_TRACE_SMS_INBOUND_KEY" in r.json()["error"]["message"]


def test_outside_production_no_key_means_not_checked(settings):
    dev = settings.model_copy(update={"env": "development", "simulators": "off", "live_callback_key": None})
    assert signing.verify_callback(dev, {}, 0) is None
