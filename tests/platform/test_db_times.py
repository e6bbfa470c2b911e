"""Times in filters: a bound given in Asia/Shanghai finds rows stored in UTC, on both backends (SQLite
compares datetimes as text; server/kit/db.py sends every aware datetime to it in UTC)."""
from __future__ import annotations

from datetime import timedelta

from server.kit import clock
from server.models.audit import AuditLog


async def test_a_bound_in_asia_shanghai_finds_a_row_written_in_utc(client):
    row = await AuditLog.create(actor_id=None, action="test.times", object_type="test", object_id="1", data={})
    local_bound = (clock.now() - timedelta(minutes=1)).astimezone(clock.SHANGHAI)   # +08:00
    assert await AuditLog.filter(id=row.id, created_at__gte=local_bound).exists()
    assert not await AuditLog.filter(id=row.id, created_at__gte=local_bound + timedelta(hours=1)).exists()
