"""WMS integration: the outbound task webhook (outbox, retried with backoff, idempotent by event id)
and the inbound status endpoint (signed, replay-proof) that drives the same pick/pack/dispatch steps
as our own operations API."""
from __future__ import annotations

import logging
from datetime import timedelta

import orjson
from pydantic import ValidationError
from tortoise.exceptions import IntegrityError

from server.fulfillment import scans, service
from server.fulfillment.schemas import WmsEventIn, WmsResultOut
from server.integrations import wms as gateway
from server.kit import audit, clock, runtime
from server.kit.errors import AppError, BadRequest, Conflict, KitCode, UpstreamError, ValidationFailed
from server.models.fulfillment import Parcel, WmsInbox, WmsOutbox
from server.fulfillment.errors import FulfillmentCode
from server.kit.http import validation_details

log = logging.getLogger("kazuo.wms")
MAX_ATTEMPTS = 8


def backoff(attempt: int) -> timedelta:
    """5 s, 10 s, 20 s ... capped at 10 minutes."""
    return timedelta(seconds=min(5 * 2 ** max(attempt - 1, 0), 600))


async def deliver(outbox_id: int) -> str:
    """Send one outbox event to the WMS; raises UpstreamError so the job retries with backoff."""
    ev = await WmsOutbox.get_or_none(id=outbox_id)
    if ev is None or ev.status != "pending":
        return ev.status if ev else "missing"
    url = runtime.settings().wms_webhook_url
    if not url:
        return "disabled"
    n = await WmsOutbox.filter(id=ev.id, status="pending").update(attempts=ev.attempts + 1)
    if not n:
        return "done"
    body = orjson.dumps({"event_id": ev.event_id, "type": ev.kind, "created_at": ev.created_at.isoformat(),
                         "data": ev.payload})
    try:
        status = await gateway.post(url, ev.event_id, body)
    except UpstreamError as exc:
        await _failed(ev, exc.message)
        raise
    if 200 <= status < 300:
        await WmsOutbox.filter(id=ev.id, status="pending").update(status="delivered", delivered_at=clock.now(),
                                                                  last_error="")
        return "delivered"
    await _failed(ev, f"HTTP {status}")
    raise UpstreamError(f"the WMS answered {status}")


async def _failed(ev: WmsOutbox, why: str) -> None:
    fields = {"last_error": why[:200]}
    if ev.attempts + 1 >= MAX_ATTEMPTS:
        fields["status"] = "failed"
        log.error("WMS event %s given up after %s attempts: %s", ev.event_id, ev.attempts + 1, why)
    await WmsOutbox.filter(id=ev.id, status="pending").update(**fields)


async def pending_outbox(older_than: timedelta, limit: int = 200) -> list[int]:
    """Outbox events still pending (their delivery job was lost)."""
    before = clock.now() - older_than
    return list(await WmsOutbox.filter(status="pending", created_at__lte=before).order_by("id").limit(limit)
                .values_list("id", flat=True))


async def _county() -> int:
    return await scans.county_id()


async def handle_inbound(headers, raw: bytes) -> WmsResultOut:
    """A signed status event from the WMS: verified, claimed once by event id, then applied."""
    gateway.verify(headers, raw)
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("the body is not valid JSON", code=KitCode.INVALID_JSON) from None
    if not isinstance(data, dict):
        raise ValidationFailed.field("body", "a JSON object is required")
    try:
        ev = WmsEventIn.model_validate(data)
    except ValidationError as exc:
        d = validation_details(exc, "body")
        raise ValidationFailed(f"{d[0]['field']}: {d[0]['message']}", details=d) from None
    header_id = headers.get(gateway.EVENT_HEADER.lower()) or headers.get(gateway.EVENT_HEADER)
    if header_id and header_id != ev.event_id:
        raise ValidationFailed.field("event_id", "does not match the X-Kazuo-Event-Id header")
    try:
        await WmsInbox.create(event_id=ev.event_id, kind=ev.type)
    except IntegrityError:
        await audit.record(None, "wms.replay_refused", "wms_event", ev.event_id, {"type": ev.type})
        raise Conflict("this event id was already received", code=FulfillmentCode.REPLAYED) from None
    try:
        result = await _apply(ev)
    except AppError:
        # Not applied: the WMS may fix the cause and send the same event id again.
        await WmsInbox.filter(event_id=ev.event_id).delete()
        raise
    return WmsResultOut(event_id=ev.event_id, accepted=True, result=result)


async def _apply(ev: WmsEventIn) -> dict:
    if ev.type == "task.picked":
        if not ev.task_id or not ev.picks:
            raise ValidationFailed.field("picks", "task_id and picks are required")
        for p in ev.picks:
            await service.pick(ev.task_id, p.sku_id, p.batch, p.quantity, actor_id=None, source="wms")
        return {"task_id": ev.task_id}
    if ev.type == "parcel.packed":
        if not ev.task_id or not ev.lines or not ev.weight_g:
            raise ValidationFailed.field("lines", "task_id, lines and weight_g are required")
        parcel = await service.pack_by_sku(ev.task_id, [(x.sku_id, x.quantity) for x in ev.lines], ev.weight_g)
        return {"parcel_id": parcel.id, "label": parcel.label, "qr_payload": parcel.qr_payload}
    if not ev.label:
        raise ValidationFailed.field("label", "required")
    if not await Parcel.exists(label=ev.label):
        raise ValidationFailed.field("label", "no such parcel")
    res = await scans.record_scan(ev.label, "dispatched", await _county(), actor_id=None, source="wms")
    return {"label": ev.label, "status": res.parcel.status, "duplicate": res.duplicate}
