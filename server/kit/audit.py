"""Audit trail: who did what to which object, with the request id, the client address and browser."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from server.kit.context import KzRequest, request_id
from server.kit.db import id_page
from server.kit.schemas import Out
from server.models.audit import AuditLog

UA_MAX = 256


class AuditEntryOut(Out):
    """One audit entry as the office reads it."""
    id: int
    actor_id: int | None
    action: str
    object_type: str
    object_id: str
    data: dict
    request_id: str
    ip: str
    user_agent: str
    created_at: datetime


def client_ip(request: Any) -> str:
    """The caller's address as Sanic sees it (the proxy's forwarded address when configured)."""
    return request.remote_addr or request.ip or ""


def _origin() -> tuple[str, str]:
    req = KzRequest._current.get(None)
    if not isinstance(req, KzRequest):
        return "", ""
    return client_ip(req)[:45], (req.headers.get("user-agent") or "")[:UA_MAX]


def origin() -> tuple[str, str, str]:
    """(request id, client address, user agent) of the request being handled ("" outside one): what
    an entry records besides the action, for a hot write that inserts its entry in its own SQL."""
    ip, ua = _origin()
    return request_id(), ip, ua


async def record(actor_id: int | None, action: str, object_type: str, object_id: Any,
                 data: dict | None = None, conn: Any = None) -> None:
    """Append one audit entry (inside the caller's transaction when conn is given); the request's
    client address and user agent are taken from the request being handled."""
    rid, ip, ua = origin()
    await AuditLog.create(actor_id=actor_id, action=action, object_type=object_type,
                          object_id=str(object_id), data=data or {}, request_id=rid,
                          ip=ip, user_agent=ua, using_db=conn)


async def feed(*, actor_id: int | None = None, object_type: str | None = None, object_id: str | None = None,
               action: str | None = None, since: datetime | None = None, until: datetime | None = None,
               cursor: str | None = None, limit: int = 50) -> tuple[list[AuditLog], str | None]:
    """The office-wide audit feed, newest first, keyset-paged; each filter optional (action matches
    a prefix: "merchant." finds every merchant action)."""
    qs = AuditLog.all()
    if actor_id is not None:
        qs = qs.filter(actor_id=actor_id)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=object_id)
    if action:
        qs = qs.filter(action__startswith=action)
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    if until is not None:
        qs = qs.filter(created_at__lt=until)
    return await id_page(qs, cursor, limit, newest_first=True)
