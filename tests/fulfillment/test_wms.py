"""The WMS integration: signed outbound task webhook (retried, idempotent by event id) against a
tiny receiver on a free port, and the signed inbound status endpoint."""
import asyncio
import hashlib
import hmac
import secrets
import time

import orjson
import pytest
from arq import Retry

from jobs.fulfillment import sweep_wms, wms_deliver
from server.fulfillment import service, wms
from server.kit import clock, runtime
from server.models.fulfillment import Parcel, PickRecord, WmsOutbox
from tests.fulfillment import factories as f
from tests.fulfillment.conftest import receive_batch

URL = "/api/v1/console/warehouse/wms/events"


class Receiver:
    """A WMS stand-in: verifies our signature and dedupes by event id; fails the first N calls."""

    def __init__(self, secret: bytes, fail_first: int = 0):
        self.secret, self.fail_first = secret, fail_first
        self.calls: list[dict] = []
        self.seen: set[str] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        ts = headers.get("x-kazuo-timestamp", "")
        want = "sha256=" + hmac.new(self.secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(want, headers.get("x-kazuo-signature", ""))
        self.calls.append({"ok": ok, "event_id": headers.get("x-kazuo-event-id"), "body": orjson.loads(body)})
        if not ok:
            status = 401
        elif len(self.calls) <= self.fail_first:
            status = 503
        else:
            self.seen.add(headers["x-kazuo-event-id"])
            status = 200
        writer.write(f"HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()


@pytest.fixture
async def receiver(settings):
    rec = Receiver(runtime.settings().secret("wms_secret").encode(), fail_first=2)
    server = await asyncio.start_server(rec.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    s = runtime.settings()
    s.wms_webhook_url = f"http://127.0.0.1:{port}/kazuo/events"
    try:
        yield rec
    finally:
        s.wms_webhook_url = ""
        server.close()
        await server.wait_closed()


async def test_outbound_webhook_is_signed_retried_and_idempotent(world, receiver):
    m, (sku, _) = await f.merchant_with_skus()
    order = await f.paid_order(world.buyer.id, [(sku, 2)], station=world.net.village)
    task_id = await service.handoff(order.id)
    ev = [e for e in await WmsOutbox.filter(kind="task.created").order_by("-id").limit(20)
          if e.payload["id"] == task_id][0]
    # the after-commit job made the first attempt; the receiver answered 503 -> a backoff retry
    for _ in range(100):
        if receiver.calls:
            break
        await asyncio.sleep(0.05)
    assert receiver.calls and receiver.calls[0]["ok"]
    with pytest.raises(Retry) as retry:
        await wms_deliver({"job_try": 2}, ev.id)
    assert retry.value.defer_score == 10_000  # 5 s, 10 s, 20 s ...
    assert await wms_deliver({"job_try": 3}, ev.id) == "delivered"
    assert await wms_deliver({"job_try": 4}, ev.id) == "delivered"  # at-least-once: nothing sent again
    assert len(receiver.calls) == 3 and {c["event_id"] for c in receiver.calls} == {ev.event_id}
    assert all(c["body"]["event_id"] == ev.event_id for c in receiver.calls)
    body = receiver.calls[-1]["body"]
    assert body["type"] == "task.created" and body["data"]["order_id"] == order.id
    assert body["data"]["lines"][0]["quantity"] == 2
    assert (await WmsOutbox.get(id=ev.id)).status == "delivered"
    # the sweeper finds pending events whose job was lost
    lost = await WmsOutbox.create(event_id=secrets.token_hex(8), kind="task.created", payload={"id": 0})
    assert await sweep_wms({}) == 0  # too new
    clock.shift(__import__("datetime").timedelta(minutes=20))
    try:
        assert lost.id in await wms.pending_outbox(__import__("datetime").timedelta(minutes=15))
    finally:
        clock.shift(-__import__("datetime").timedelta(minutes=20))


def _signed(body: dict, *, ts: int | None = None, key: bytes | None = None, event_header: str | None = None):
    raw = orjson.dumps(body)
    ts_s = str(ts if ts is not None else int(clock.now().timestamp()))
    key = key or runtime.settings().secret("wms_secret").encode()
    sig = "sha256=" + hmac.new(key, ts_s.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return raw, {"Content-Type": "application/json", "X-Kazuo-Timestamp": ts_s, "X-Kazuo-Signature": sig,
                 "X-Kazuo-Event-Id": event_header or body.get("event_id", "")}


async def test_inbound_status_events_drive_pick_pack_dispatch(world, client):
    m, (sku, _) = await f.merchant_with_skus()
    order = await f.paid_order(world.buyer.id, [(sku, 2)], station=world.net.town)
    task_id = await service.handoff(order.id)
    batch = await receive_batch(world.warehouse, m.id, sku.id, 5)
    picked = {"event_id": "wms-" + secrets.token_hex(6), "type": "task.picked", "task_id": task_id,
              "picks": [{"sku_id": sku.id, "batch": batch, "quantity": 2}]}
    raw, headers = _signed(picked)
    r = await client.post(URL, content=raw, headers=headers)
    assert r.status_code == 200, r.text
    assert await PickRecord.filter(line__task_id=task_id, source="wms").count() == 1
    # the same call again (a replay) is refused and changes nothing
    r = await client.post(URL, content=raw, headers=headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "replayed"
    assert await PickRecord.filter(line__task_id=task_id).count() == 1
    packed = {"event_id": "wms-" + secrets.token_hex(6), "type": "parcel.packed", "task_id": task_id,
              "lines": [{"sku_id": sku.id, "quantity": 2}], "weight_g": 2100}
    raw, headers = _signed(packed)
    r = await client.post(URL, content=raw, headers=headers)
    assert r.status_code == 200, r.text
    label = r.json()["result"]["label"]
    sent = {"event_id": "wms-" + secrets.token_hex(6), "type": "parcel.dispatched", "label": label}
    raw, headers = _signed(sent)
    r = await client.post(URL, content=raw, headers=headers)
    assert r.status_code == 200 and r.json()["result"]["status"] == "in_transit"
    assert (await Parcel.get(label=label)).status == "in_transit"
    # a failed event can be sent again with the same id once the cause is fixed
    bad = {"event_id": "wms-" + secrets.token_hex(6), "type": "parcel.dispatched", "label": "KZNOPE"}
    raw, headers = _signed(bad)
    assert (await client.post(URL, content=raw, headers=headers)).status_code == 422
    raw, headers = _signed(bad)
    assert (await client.post(URL, content=raw, headers=headers)).status_code == 422


async def test_inbound_refuses_unsigned_forged_and_old_calls(client):
    body = {"event_id": "wms-" + secrets.token_hex(6), "type": "parcel.dispatched", "label": "KZ1"}
    raw = orjson.dumps(body)
    r = await client.post(URL, content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "signature_missing"
    _, forged = _signed(body, key=b"not-the-secret")
    r = await client.post(URL, content=raw, headers=forged)
    assert r.status_code == 401 and r.json()["error"]["code"] == "signature_invalid"
    raw2, old = _signed(body, ts=int(time.time()) - 3600)
    r = await client.post(URL, content=raw2, headers=old)
    assert r.status_code == 401 and r.json()["error"]["code"] == "signature_expired"
    # a body changed after signing
    raw3, headers = _signed(body)
    r = await client.post(URL, content=raw3.replace(b"KZ1", b"KZ2"), headers=headers)
    assert r.status_code == 401
    # signed but malformed: 422 naming the field
    raw4, headers = _signed({"event_id": "short", "type": "task.picked"})
    r = await client.post(URL, content=raw4, headers=headers)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "event_id"
    raw5, headers = _signed({**body, "event_id": "wms-" + secrets.token_hex(6)}, event_header="wms-other-id")
    r = await client.post(URL, content=raw5, headers=headers)
    assert r.status_code == 422
