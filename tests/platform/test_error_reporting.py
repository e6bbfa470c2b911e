"""Error reporting: an unhandled error reaches Sentry (a fake transport here) with the request id
and without personal data."""
from __future__ import annotations

import sentry_sdk
from pydantic import SecretStr
from sentry_sdk.transport import Transport

from server.accounts import service as accounts
from server.kit import error_reporting
from tests.conftest import login

PHONE, OPENID = "13912345678", "oAbCdEfGhIjKlMnOpQrStUvWxYz1"


class FakeTransport(Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.events: list[dict] = []

    def capture_envelope(self, envelope):
        for item in envelope.items:
            if item.type == "event":
                self.events.append(item.payload.json)


def test_off_without_a_dsn(settings):
    assert error_reporting.setup(settings) is False


async def test_an_unhandled_error_is_reported_with_the_request_id_and_no_personal_data(
        client, settings, monkeypatch):
    buyer = await login(client)
    transport = FakeTransport()
    configured = settings.model_copy(update={"sentry_dsn": SecretStr("https://public@sentry.invalid/1")})
    assert error_reporting.setup(configured, transport=transport)

    async def broken(principal):
        raise RuntimeError(f"lookup failed for {PHONE} ({OPENID}) at 喀左县大城子镇")

    monkeypatch.setattr(accounts, "me", broken)
    try:
        r = await client.get("/api/v1/me", headers={**buyer.headers, "X-Request-ID": "rid-sentry-1"})
        assert r.status_code == 500 and r.json()["error"]["code"] == "internal_error"
        sentry_sdk.flush(2)
    finally:
        sentry_sdk.get_client().close()
        error_reporting._installed.clear()
    (event,) = [e for e in transport.events if e.get("tags", {}).get("request_id") == "rid-sentry-1"]
    text = str(event)
    assert "RuntimeError" in text and "lookup failed for" in text
    assert PHONE not in text and OPENID not in text
    assert "request" not in event and set(event.get("user", {})) <= {"id"}


def test_the_scrubber_masks_personal_keys_and_patterns():
    event = {"extra": {"phone": "13800001111", "receiver_name": "王小明", "address": "大城子镇3号",
                       "order_id": 42, "note": "call +86 13800002222 or o-simbuyer01"},
             "user": {"id": 7, "username": "王小明", "ip_address": "203.0.113.1"},
             "request": {"headers": {"Authorization": "Bearer x"}},
             "exception": {"values": [{"type": "ValueError", "value": "openid oAbCdEfGhIjKlMnOpQrStUvWxYz1"}]}}
    out = error_reporting.scrub(event, {})
    assert out["extra"]["phone"] == out["extra"]["receiver_name"] == out["extra"]["address"] == "[Filtered]"
    assert out["extra"]["order_id"] == 42
    assert "13800002222" not in out["extra"]["note"] and "o-simbuyer01" not in out["extra"]["note"]
    assert out["user"] == {"id": 7} and "request" not in out
    assert out["exception"]["values"][0]["type"] == "ValueError"
    assert "oAbCdEf" not in out["exception"]["values"][0]["value"]
