"""County office (admins): the alerts that need a person now, and the daily reconciliation with
WeChat Pay's trade bill (its differences, marking one resolved, running a day again)."""
from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints
from sanic import Blueprint, Request

from server.alerts import service as alerts
from server.alerts.service import AlertOut
from server.kit.auth import Role
from server.kit.http import endpoint
from server.kit.schemas import Limit, Page, QuerySchema, Schema
from server.reconcile import service as reconcile
from server.reconcile.service import DifferenceOut, RunOut

bp = Blueprint("console_operations", url_prefix="/api/v1/console")
ADMIN = (Role.admin,)
TAGS = ("console: operations",)


class AlertsOut(BaseModel):
    items: list[AlertOut]


class DifferenceQuery(QuerySchema):
    resolved: bool | None = Field(None, description="false: still open; true: resolved; absent: all")
    bill_date: date | None = None
    cursor: Annotated[str, StringConstraints(max_length=200)] | None = None
    limit: Limit = 20


class ResolveIn(Schema):
    note: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="what was found and done")


class RunIn(Schema):
    bill_date: date | None = Field(None, description="an Asia/Shanghai day before today, within the last 90 "
                                                     "days; default yesterday")


@bp.get("/alerts")
@endpoint(summary="What needs a person now (alerts as data)", roles=ADMIN, response=AlertsOut, tags=TAGS)
async def alert_list(request: Request, principal):
    return AlertsOut(items=await alerts.current_alerts())


@bp.get("/reconciliation/differences")
@endpoint(summary="Differences found between our payments/refunds and WeChat Pay's trade bill", roles=ADMIN,
          query=DifferenceQuery, response=Page[DifferenceOut], tags=TAGS)
async def differences(request: Request, principal, query: DifferenceQuery):
    return await reconcile.differences(resolved=query.resolved, bill_date=query.bill_date, cursor=query.cursor,
                                       limit=query.limit)


@bp.post("/reconciliation/differences/<difference_id:int>/resolve")
@endpoint(summary="Mark a reconciliation difference resolved (audited; again: the same answer)", roles=ADMIN,
          body=ResolveIn, response=DifferenceOut, tags=TAGS)
async def resolve(request: Request, principal, difference_id: int, body: ResolveIn):
    return await reconcile.resolve(difference_id, note=body.note, actor_id=principal.user_id)


@bp.post("/reconciliation/run")
@endpoint(summary="Reconcile one day with WeChat Pay's trade bill now (the daily job does yesterday)",
          roles=ADMIN, body=RunIn, response=RunOut, tags=TAGS, errors=(409, 422, 502))
async def run(request: Request, principal, body: RunIn):
    return await reconcile.run(body.bill_date)
