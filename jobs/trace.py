"""Traceability jobs: one recall contact (notify + stop parcels), the live rooms after a recall, and
the sweepers (recall work whose job was lost or failed; batches sold since their last edit)."""
from __future__ import annotations

from arq import cron

from live import service as live_service
from server.trace import recall
from server.trace import service as trace


async def recall_contact(ctx, contact_id: int) -> dict:
    return await recall.process_contact(contact_id)


async def live_withdrawn(ctx, tiein_ids: list[int]) -> int:
    """Drop the flash gates of withdrawn tie-ins and show the live rooms their new product list."""
    return await live_service.show_withdrawn(tiein_ids)


async def sweep(ctx) -> dict:
    return {"recall_contacts": await recall.sweep(), "locked": await trace.lock_sold_batches()}


JOBS = [("trace.recall_contact", recall_contact), ("trace.live_withdrawn", live_withdrawn)]
CRON = [cron(sweep, name="trace.sweep", minute=set(range(3, 60, 5)), second={45}, run_at_startup=False)]
