"""Audit trail: who did what to which object, with the request id."""
from __future__ import annotations

from typing import Any

from server.kit.context import request_id
from server.models.audit import AuditLog


async def record(actor_id: int | None, action: str, object_type: str, object_id: Any,
                 data: dict | None = None, conn: Any = None) -> None:
    """Append one audit entry (inside the caller's transaction when conn is given)."""
    await AuditLog.create(actor_id=actor_id, action=action, object_type=object_type,
                          object_id=str(object_id), data=data or {}, request_id=request_id(),
                          using_db=conn)
