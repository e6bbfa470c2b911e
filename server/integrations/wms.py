"""The warehouse's own WMS, if it runs one: signed webhooks both ways.

Signature: hex HMAC-SHA256 with the shared secret (KAZUO_WMS_SECRET) over `timestamp + "." + body`,
sent as `X-Kazuo-Signature: sha256=<hex>` with `X-Kazuo-Timestamp: <unix seconds>` and
`X-Kazuo-Event-Id`. A receiver refuses a missing or wrong signature, a timestamp further than
KAZUO_WMS_MAX_SKEW_SECONDS from its clock (replay of an old call) and an event id it has seen."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging

import httpx

from server.kit import clock, pools, runtime
from server.kit.errors import KitCode, Unauthorized, UpstreamError
from server.integrations.errors import IntegrationCode

log = logging.getLogger("kazuo.wms")
SIG_HEADER = "X-Kazuo-Signature"
TS_HEADER = "X-Kazuo-Timestamp"
EVENT_HEADER = "X-Kazuo-Event-Id"


def secret() -> bytes:
    return runtime.settings().secret("wms_secret").encode()


def sign(key: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(headers, body: bytes) -> None:
    """Refuse (401) an unsigned, wrongly signed or stale call."""
    try:
        key = secret()
    except Exception:  # noqa: BLE001 - no secret configured: nothing can be verified
        raise Unauthorized("the WMS integration is not configured",
                           code=IntegrationCode.WMS_NOT_CONFIGURED) from None
    sig = headers.get(SIG_HEADER.lower()) or headers.get(SIG_HEADER) or ""
    ts = headers.get(TS_HEADER.lower()) or headers.get(TS_HEADER) or ""
    if not sig or not ts:
        raise Unauthorized("missing signature", code=KitCode.SIGNATURE_MISSING)
    if not ts.isdigit() or len(ts) > 12:
        raise Unauthorized("bad timestamp", code=KitCode.SIGNATURE_INVALID)
    if not hmac.compare_digest(sign(key, ts, body), sig):
        raise Unauthorized("bad signature", code=KitCode.SIGNATURE_INVALID)
    skew = abs(clock.now().timestamp() - int(ts))
    if skew > runtime.settings().wms_max_skew_seconds:
        raise Unauthorized("the call is too old (replayed?)", code=KitCode.SIGNATURE_EXPIRED)


def signed_headers(event_id: str, body: bytes) -> dict[str, str]:
    ts = str(int(clock.now().timestamp()))
    return {"Content-Type": "application/json", TS_HEADER: ts, EVENT_HEADER: event_id,
            SIG_HEADER: sign(secret(), ts, body)}


async def post(url: str, event_id: str, body: bytes) -> int:
    """POST one event; returns the status, raises UpstreamError when the WMS cannot be reached."""
    timeout = runtime.settings().wms_timeout_seconds
    try:
        # At most as many calls at once as a vendor pool has threads; the deadline counts the wait.
        async with pools.slot(pools.WMS, deadline=2 * timeout + 1):
            async with httpx.AsyncClient(timeout=timeout) as client:
                r = await client.post(url, content=body, headers=signed_headers(event_id, body))
    except (httpx.HTTPError, asyncio.TimeoutError) as exc:
        raise UpstreamError(f"the WMS is unreachable: {type(exc).__name__}") from None
    return r.status_code
