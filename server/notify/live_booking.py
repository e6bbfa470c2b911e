"""Live-preview bookings (直播预约): a buyer books a scheduled session (预告) and is reminded once, by a
subscribe message, shortly before it starts (live_reminder_lead_minutes) or as soon as it goes live,
whichever comes first. The reminder is an outbox row (server/notify/outbox.py) keyed by the booking,
so it is sent at most once however often the sweep runs."""
from __future__ import annotations

from datetime import timedelta

from tortoise.expressions import Q

from server.kit import clock, runtime
from server.kit.db import atomic
from server.kit.errors import Conflict, NotFound
from server.models.live import LiveSession, SessionStatus
from server.models.notify import LiveBooking
from server.notify import outbox
from server.notify.errors import NotifyCode
from server.notify.schemas import LiveBookingOut

BATCH = 500


def _out(b: LiveBooking, s: LiveSession) -> LiveBookingOut:
    return LiveBookingOut(session_id=s.id, title=s.title, scheduled_at=s.scheduled_at, status=s.status,
                          booked=b.cancelled_at is None, reminded=b.reminded_at is not None)


async def _session(session_id: int) -> LiveSession:
    s = await LiveSession.get_or_none(id=session_id)
    if s is None or s.status == SessionStatus.CANCELLED:
        raise NotFound("session not found")
    return s


async def book(user_id: int, session_id: int) -> LiveBookingOut:
    """Book a scheduled session's reminder (again after a cancel); booking twice is the same booking."""
    s = await _session(session_id)
    if s.status != SessionStatus.SCHEDULED:
        raise Conflict("only a scheduled session (预告) can be booked", code=NotifyCode.SESSION_NOT_BOOKABLE,
                       details={"session_id": s.id, "status": s.status})
    async with atomic() as conn:
        await LiveBooking.bulk_create([LiveBooking(session_id=s.id, user_id=user_id)], ignore_conflicts=True,
                                      using_db=conn)
        await LiveBooking.filter(session_id=s.id, user_id=user_id, reminded_at=None).using_db(conn).update(
            cancelled_at=None)
        b = await LiveBooking.get(session_id=s.id, user_id=user_id, using_db=conn)
    return _out(b, s)


async def cancel(user_id: int, session_id: int) -> LiveBookingOut:
    """Cancel the caller's booking (no reminder will be sent); 404 when they had none."""
    s = await _session(session_id)
    b = await LiveBooking.get_or_none(session_id=s.id, user_id=user_id)
    if b is None:
        raise NotFound("booking not found")
    await LiveBooking.filter(id=b.id, cancelled_at=None).update(cancelled_at=clock.now())
    b = await LiveBooking.get(id=b.id)
    return _out(b, s)


async def status(user_id: int, session_id: int) -> LiveBookingOut:
    """Whether the caller booked this session (and was reminded)."""
    s = await _session(session_id)
    b = await LiveBooking.get_or_none(session_id=s.id, user_id=user_id)
    if b is None:
        return LiveBookingOut(session_id=s.id, title=s.title, scheduled_at=s.scheduled_at, status=s.status,
                              booked=False, reminded=False)
    return _out(b, s)


async def remind_due() -> int:
    """Put the reminders of sessions about to start (or already live) in the outbox, once per booking."""
    now = clock.now()
    lead = timedelta(minutes=runtime.settings().live_reminder_lead_minutes)
    sessions = LiveSession.filter(Q(status=SessionStatus.SCHEDULED, scheduled_at__lte=now + lead)
                                  | Q(status=SessionStatus.LIVE)).values_list("id", flat=True)
    rows = await (LiveBooking.filter(reminded_at=None, cancelled_at=None, session_id__in=await sessions)
                  .order_by("id").limit(BATCH).values_list("id", "user_id"))
    n = 0
    for booking_id, user_id in rows:
        async with atomic() as conn:
            claimed = await LiveBooking.filter(id=booking_id, reminded_at=None, cancelled_at=None).using_db(
                conn).update(reminded_at=now)
            if claimed:
                await outbox.add("live_starting", f"booking:{booking_id}", user_id=user_id, conn=conn)
                n += 1
    return n
