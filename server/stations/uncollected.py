"""After a parcel arrives: tell the buyer (WeChat subscribe message + SMS), remind them at 24 h and
48 h, and after N days send the parcel back (a return task for logistics) and refund the buyer
through the orders refund path. Every function takes ids and is safe to run twice."""
from __future__ import annotations

import logging
from datetime import timedelta

from server.kit import audit, clock, jobs, runtime
from server.kit.db import atomic, lock_rows
from server.kit.errors import AppError
from server.models.accounts import User
from server.models.orders import Order, OrderStatus
from server.models.pickup import Pickup, PickupReturn, PickupStatus
from server.models.stations import Station
from server.notify import outbox as notify_outbox
from server.stations.codes import jid
from server.orders import refunds
from server.accounts import sms

log = logging.getLogger("kazuo.stations")
SWEEP_BATCH = 500


async def _send(p: Pickup, kind: str) -> dict:
    """Send the WeChat subscribe message and the SMS for one pickup; returns what was sent."""
    s = runtime.settings()
    buyer = await User.get_or_none(id=p.buyer_id)
    station = await Station.get_or_none(id=p.station_id)
    if buyer is None or station is None:
        return {}
    deadline = p.deadline_at.astimezone(clock.SHANGHAI).strftime("%Y-%m-%d %H:%M")
    note = "包裹已到站，请凭提货码自提" if kind == "ready" else "包裹待取，逾期将退回"
    sent: dict = {}
    if buyer.openid:
        # a template the buyer declined is not sent (#29's rule, shared with the outbox's moments)
        outcome = await notify_outbox.send_subscribed("pickup_ready", buyer.id, buyer.openid,
                                                      {"thing1": station.name, "character_string2": p.code,
                                                       "time3": p.deadline_at, "thing4": note},
                                                      page_query=f"id={p.order_id}")
        sent["wechat"] = outcome == "sent"
    # SMS only when no subscribe message reached the buyer (no openid, the template declined or refused):
    # the buyer must act, but a text on top of a delivered message is noise (#29).
    if buyer.phone and not sent.get("wechat"):
        if hasattr(sms, "send_notice"):
            await sms.send_notice(buyer.phone, s.aliyun_sms_pickup_template_code,
                                  {"station": station.name, "code": p.code, "deadline": deadline},
                                  f"pickup-{kind}-{p.id}")
            sent["sms"] = True
    return sent


async def notify_ready(pickup_id: int) -> dict:
    """Tell the buyer the parcel is at the station (once; a failed send is retried by arq)."""
    now = clock.now()
    # Claim first so two deliveries of the job do not both message the buyer.
    claimed = await Pickup.filter(id=pickup_id, status=PickupStatus.READY, notified_wechat_at=None).update(
        notified_wechat_at=now)
    if not claimed:
        return {}
    p = await Pickup.get(id=pickup_id)
    try:
        sent = await _send(p, "ready")
    except Exception:
        await Pickup.filter(id=pickup_id).update(notified_wechat_at=None)
        raise
    if sent.get("sms"):
        await Pickup.filter(id=pickup_id).update(notified_sms_at=clock.now())
    return sent


def due_reminders(p_received_at, now) -> int:
    hours = sorted(runtime.settings().pickup_reminder_hours)
    return sum(1 for h in hours if p_received_at + timedelta(hours=h) <= now)


async def remind(pickup_id: int, n: int) -> dict:
    """Reminder number n (24 h, 48 h ...) for a parcel still waiting; skipped if stale or done."""
    now = clock.now()
    p = await Pickup.get_or_none(id=pickup_id)
    if p is None or p.status != PickupStatus.READY or due_reminders(p.received_at, now) < n:
        return {}
    claimed = await Pickup.filter(id=pickup_id, status=PickupStatus.READY, reminders_sent__lt=n).update(
        reminders_sent=n, last_reminded_at=now)
    if not claimed:
        return {}
    try:
        return await _send(p, "remind")
    except Exception:
        await Pickup.filter(id=pickup_id, reminders_sent=n).update(reminders_sent=n - 1)
        raise


async def return_uncollected(pickup_id: int) -> int | None:
    """Past the deadline and still waiting: close the pickup, open a return task, queue the refund."""
    now = clock.now()
    async with atomic() as conn:
        rows = await lock_rows(Pickup, [pickup_id], conn)
        if not rows or rows[0].status != PickupStatus.READY or rows[0].deadline_at > now:
            return None
        p = rows[0]
        await lock_rows(Order, [p.order_id], conn)
        await Pickup.filter(id=p.id).using_db(conn).update(
            status=PickupStatus.RETURNED, open_code=None, returned_at=now, closed_reason="uncollected")
        ret = await PickupReturn.create(pickup_id=p.id, order_id=p.order_id, station_id=p.station_id,
                                        using_db=conn)
        await audit.record(None, "pickup.returned", "order", p.order_id,
                           {"pickup_id": p.id, "return_id": ret.id, "station_id": p.station_id}, conn=conn)
        jobs.enqueue("stations.refund_return", ret.id, job_id=jid(f"pickup-return-refund:{ret.id}"))
    return ret.id


async def refund_return(return_id: int) -> int | None:
    """Refund the buyer of a returned parcel in full through the orders refund path (once)."""
    async with atomic() as conn:
        rows = await lock_rows(PickupReturn, [return_id], conn)
        if not rows or rows[0].refund_requested_at is not None:
            return None
        ret = rows[0]
        try:
            refund = await refunds.create_refund(ret.order_id, lines=None, reason="逾期未取退回 (uncollected)",
                                                 requested_by=None, auto_approve=True)
        except AppError as exc:
            # Already fully refunded (e.g. by the buyer first): nothing left to do, keep why.
            log.warning("refund of returned pickup refused", extra={"return_id": return_id, "code": exc.code})
            await PickupReturn.filter(id=ret.id).using_db(conn).update(
                refund_requested_at=clock.now(), refund_error=exc.code[:200])
            return None
        refund_id = getattr(refund, "id", None)
        await PickupReturn.filter(id=ret.id).using_db(conn).update(
            refund_requested_at=clock.now(), refund_id=refund_id)
        await audit.record(None, "pickup.return_refund", "order", ret.order_id,
                           {"return_id": ret.id, "refund_id": refund_id}, conn=conn)
    return refund_id


async def cancel_closed(pickup_id: int) -> bool:
    """The order was refunded or closed while its parcel waited: close the open code."""
    p = await Pickup.get_or_none(id=pickup_id)
    if p is None or p.status != PickupStatus.READY:
        return False
    status = await Order.filter(id=p.order_id).values_list("status", flat=True)
    if status and status[0] in (OrderStatus.CLOSED, OrderStatus.CANCELLED):
        n = await Pickup.filter(id=pickup_id, status=PickupStatus.READY).update(
            status=PickupStatus.CANCELLED, open_code=None, closed_reason=f"order {status[0]}")
        return bool(n)
    return False


async def sweep() -> dict:
    """Re-find work whose job was lost: notifications, reminders, returns, refunds, closed orders.
    Each query asks for due work only, so a large backlog of waiting parcels costs nothing."""
    now = clock.now()
    bucket = int(now.timestamp()) // 600  # distinct job ids per sweep window: never deduped away
    counts = {"notify": 0, "remind": 0, "return": 0, "refund": 0, "cancel": 0}
    ready = Pickup.filter(status=PickupStatus.READY)
    for pid in await (ready.filter(order__status__in=(OrderStatus.CLOSED, OrderStatus.CANCELLED))
                      .order_by("id").limit(SWEEP_BATCH).values_list("id", flat=True)):
        jobs.enqueue("stations.cancel_closed", pid, job_id=jid(f"pickup-cancel:{pid}:{bucket}"))
        counts["cancel"] += 1
    for pid in await (ready.filter(deadline_at__lte=now).order_by("deadline_at")
                      .limit(SWEEP_BATCH).values_list("id", flat=True)):
        jobs.enqueue("stations.return_uncollected", pid, job_id=jid(f"pickup-return:{pid}:{bucket}"))
        counts["return"] += 1
    for pid in await (ready.filter(notified_wechat_at=None, received_at__lte=now - timedelta(minutes=5))
                      .order_by("id").limit(SWEEP_BATCH).values_list("id", flat=True)):
        jobs.enqueue("stations.notify_ready", pid, job_id=jid(f"pickup-ready:{pid}:{bucket}"))
        counts["notify"] += 1
    hours = sorted(runtime.settings().pickup_reminder_hours)
    for n in range(len(hours), 0, -1):
        # The latest reminder due wins; remind() skips the ones in between.
        for pid in await (ready.filter(reminders_sent__lt=n, received_at__lte=now - timedelta(hours=hours[n - 1]),
                                       deadline_at__gt=now)
                          .order_by("id").limit(SWEEP_BATCH).values_list("id", flat=True)):
            jobs.enqueue("stations.remind", pid, n, job_id=jid(f"pickup-remind:{pid}:{n}:{bucket}"))
            counts["remind"] += 1
    for rid in await PickupReturn.filter(refund_requested_at=None).order_by("id").limit(SWEEP_BATCH) \
            .values_list("id", flat=True):
        jobs.enqueue("stations.refund_return", rid, job_id=jid(f"pickup-return-refund:{rid}:{bucket}"))
        counts["refund"] += 1
    return counts
