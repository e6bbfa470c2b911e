"""Notification jobs: deliver one owed message (server/notify/outbox.py), and the minutely sweep that
re-finds lost deliveries and puts booked live sessions' reminders in the outbox."""
from __future__ import annotations

from arq import cron

from server.notify import live_booking, outbox


async def deliver(ctx, moment: str, ref: str) -> dict:
    return await outbox.deliver(moment, ref)


async def sweep(ctx) -> dict:
    return {"live_reminders": await live_booking.remind_due(), **await outbox.sweep()}


JOBS = [("notify.deliver", deliver)]
CRON = [cron(sweep, name="notify.sweep", second={25}, run_at_startup=False)]
