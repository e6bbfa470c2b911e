"""Aliyun Live API calls through aliyun-python-sdk-live's typed requests, sent by the platform's
Aliyun gateway client (server/integrations/aliyun.py) so the endpoint, credentials and simulator
routing are the same as for every Aliyun call. The SDK is synchronous: calls run in the Aliyun Live
pool (server/kit/pools.py)."""
from __future__ import annotations

import logging
from datetime import datetime

import orjson
from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
from aliyunsdklive.request.v20161101.DescribeLiveStreamsOnlineListRequest import (
    DescribeLiveStreamsOnlineListRequest)

from server.integrations.aliyun import LIVE_DOMAIN, AliyunError
from server.kit import pools, runtime

log = logging.getLogger("kazuo.live.aliyun")
PAGE_SIZE = 300


def _send(gw, req) -> dict:
    req.set_endpoint(gw.endpoint or LIVE_DOMAIN)
    req.set_protocol_type(gw.protocol)
    req.set_accept_format("json")
    try:
        raw = gw.client.do_action_with_exception(req)
    except ServerException as exc:
        raise AliyunError(f"Aliyun refused {req.get_action_name()}: {exc.get_error_code()}",
                          aliyun_code=exc.get_error_code(), answered=True,
                          http_status=exc.get_http_status()) from None
    except ClientException as exc:
        raise AliyunError("Aliyun is unreachable", aliyun_code=exc.get_error_code(), answered=False) from None
    return orjson.loads(raw)


def _parse_time(raw: str) -> datetime:
    return datetime.fromisoformat(raw.replace("Z", "+00:00"))


async def online_streams() -> dict[str, datetime]:
    """DescribeLiveStreamsOnlineList for our push domain and app: {stream name: publish time}."""
    s = runtime.settings()
    gw = runtime.get().extras["aliyun"]
    out: dict[str, datetime] = {}
    page = 1
    while True:
        req = DescribeLiveStreamsOnlineListRequest()
        req.set_DomainName(s.live_push_domain)
        req.set_AppName(s.live_app_name)
        req.set_PageNum(page)
        req.set_PageSize(PAGE_SIZE)
        body = await gw.run(pools.ALIYUN_LIVE, _send, gw, req)
        rows = ((body.get("OnlineInfo") or {}).get("LiveStreamOnlineInfo")) or []
        for r in rows:
            if r.get("AppName") == s.live_app_name and r.get("StreamName"):
                out[r["StreamName"]] = _parse_time(r.get("PublishTime") or "1970-01-01T00:00:00Z")
        total = int(body.get("TotalNum") or 0)
        if page * PAGE_SIZE >= total or not rows:
            return out
        page += 1
