"""The county office's desk and the office-wide audit feed."""
from datetime import datetime

from pydantic import Field
from sanic import Blueprint, Request

from server.kit import audit
from server.kit.audit import AuditEntryOut
from server.kit.auth import Role
from server.kit.http import endpoint
from server.kit.schemas import Page, QuerySchema
from server.office import service as office
from server.office.service import TodayOut

bp = Blueprint("console_office", url_prefix="/api/v1/console")
ADMIN = (Role.admin,)
TAGS = ("console: office",)


class AuditFeedQuery(QuerySchema):
    actor_id: int | None = Field(None, ge=1, le=2**63 - 1)
    object_type: str | None = Field(None, pattern=r"^[a-z_]{1,32}$")
    object_id: str | None = Field(None, max_length=64)
    action: str | None = Field(None, pattern=r"^[a-z_.]{1,64}$", description="an action or its prefix (merchant.)")
    since: datetime | None = None
    until: datetime | None = None
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(50, ge=1, le=200)



@bp.get("/today")
@endpoint(summary="The office's queues (counts) and today's figures", roles=ADMIN, response=TodayOut, tags=TAGS)
async def today(request: Request, principal):
    return await office.today()


@bp.get("/audit")
@endpoint(summary="The office-wide audit feed, newest first (who, what, which object, when, from where)",
          roles=ADMIN, query=AuditFeedQuery, response=Page[AuditEntryOut], tags=TAGS)
async def audit_feed(request: Request, principal, query: AuditFeedQuery):
    rows, next_cursor = await audit.feed(actor_id=query.actor_id, object_type=query.object_type,
                                         object_id=query.object_id, action=query.action, since=query.since,
                                         until=query.until, cursor=query.cursor, limit=query.limit)
    return Page[AuditEntryOut](items=[AuditEntryOut.model_validate(r) for r in rows], next_cursor=next_cursor)
