"""Aliyun Live simulator for livestream commerce (simulator mode only).

* DescribeLiveStreamsOnlineList (live 2016-11-01) joins the Aliyun RPC simulator's ACTIONS registry:
  signed, checked and answered like the real gateway, from the online streams kept in Redis.
* `POST /__sim__/aliyun-live/publish {"push_url", "callback"?}` plays an encoder starting to push:
  the push URL's type-A auth_key is checked against the primary and backup push keys (403 like the
  CDN otherwise), the stream goes online, and unless callback=false the publish callback is sent to
  our callback URL signed with ALI-LIVE-SIGNATURE, as Aliyun does. `POST .../publish_done
  {"stream", "callback"?}` plays it stopping. callback=false plays a lost callback (reconcile's case).

(wxacode.getUnlimited is answered by server/integrations/simulators/wechat_codes.py.)"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from urllib.parse import urlsplit

import httpx
import orjson
from sanic import Blueprint, Request
from sanic.response import json

from live import signing
from server.integrations.simulators import aliyun as sim_aliyun
from server.kit import runtime
from server.kit import redis as kr

LIVE_VERSION = "2016-11-01"
bp_live = Blueprint("sim_aliyun_live", url_prefix="/__sim__/aliyun-live")
bp = bp_live


def _online_key() -> str:
    return kr.key("sim", "aliyun", "live", "online")


@sim_aliyun.action("DescribeLiveStreamsOnlineList", version=LIVE_VERSION, product="live",
                   host="live.aliyuncs.com")
async def describe_online(params: dict[str, str], request_id: str) -> dict:
    sim_aliyun.require(params, "DomainName")
    s = runtime.settings()
    if params["DomainName"] != s.live_push_domain:
        raise sim_aliyun.SimError(400, "InvalidDomain.NotFound", "The domain provided does not belong to you.")
    try:
        page = int(params.get("PageNum") or 1)
        size = int(params.get("PageSize") or 2000)
    except ValueError:
        raise sim_aliyun.SimError(400, "InvalidParameter", "PageNum/PageSize must be integers.") from None
    if page < 1 or not (1 <= size <= 3000):
        raise sim_aliyun.SimError(400, "InvalidParameter", "PageNum/PageSize out of range.")
    raw = await kr.redis().hgetall(_online_key())
    rows = []
    for k, v in sorted(raw.items()):
        info = orjson.loads(v)
        if params.get("AppName") and info["AppName"] != params["AppName"]:
            continue
        if params.get("StreamName") and info["StreamName"] != params["StreamName"]:
            continue
        rows.append(info)
    chunk = rows[(page - 1) * size: page * size]
    return {"PageNum": page, "PageSize": size, "TotalNum": len(rows),
            "TotalPage": (len(rows) + size - 1) // size,
            "OnlineInfo": {"LiveStreamOnlineInfo": chunk}}


async def _callback(action: str, stream: str, app_name: str, ts: int) -> int:
    s = runtime.settings()
    headers = {}
    key = signing.setting_secret(s, "live_callback_key")
    if key:
        headers = {"ALI-LIVE-TIMESTAMP": str(ts),
                   "ALI-LIVE-SIGNATURE": signing.callback_signature(s.live_push_domain, str(ts), key)}
    params = {"action": action, "ip": "127.0.0.1", "id": stream, "app": s.live_push_domain,
              "appname": app_name, "time": str(ts), "usrargs": "", "node": "sim"}
    async with httpx.AsyncClient(timeout=5) as c:  # Aliyun waits 5 s for the callback
        r = await c.get(s.base_url + "/api/v1/live/aliyun/stream-callback", params=params, headers=headers)
    return r.status_code


def _bad(status: int, msg: str):
    return json({"error": {"code": "sim_refused", "message": msg}}, status=status)


@bp_live.post("/publish")
async def publish(request: Request):
    """An encoder connects with a push URL: check type-A auth, go online, send the callback."""
    data = request.json if request.body else None
    if not isinstance(data, dict) or not isinstance(data.get("push_url"), str):
        return _bad(422, "push_url is required")
    s = runtime.settings()
    url = data["push_url"]
    parts = urlsplit(url)
    segs = parts.path.strip("/").split("/")
    if parts.scheme != "rtmp" or parts.hostname != s.live_push_domain or len(segs) != 2:
        return _bad(400, "not a push URL of this domain")
    # The CDN's own clock is wall-clock time.
    if not signing.verify_url(url, signing.push_keys(s), int(time.time())):
        return _bad(403, "auth_key refused")
    app_name, stream = segs
    ts = int(data.get("time") or time.time())
    info = {"DomainName": s.live_push_domain, "AppName": app_name, "StreamName": stream,
            "PublishUrl": f"rtmp://{s.live_push_domain}/{app_name}/{stream}",
            "PublishTime": datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "PublishDomain": s.live_push_domain, "PublishType": "edge", "ClientIp": "127.0.0.1",
            "ServerIp": "127.0.0.1"}
    await kr.redis().hset(_online_key(), f"{app_name}/{stream}", orjson.dumps(info))
    status = await _callback("publish", stream, app_name, ts) if data.get("callback", True) else None
    return json({"online": True, "stream": stream, "callback_status": status})


@bp_live.post("/publish_done")
async def publish_done(request: Request):
    """The encoder stops: the stream leaves the online list, the callback is sent."""
    data = request.json if request.body else None
    if not isinstance(data, dict) or not isinstance(data.get("stream"), str):
        return _bad(422, "stream is required")
    s = runtime.settings()
    app_name = data.get("app_name") or s.live_app_name
    removed = await kr.redis().hdel(_online_key(), f"{app_name}/{data['stream']}")
    ts = int(data.get("time") or time.time())
    status = None
    if removed and data.get("callback", True):
        status = await _callback("publish_done", data["stream"], app_name, ts)
    return json({"online": False, "was_online": bool(removed), "callback_status": status})
