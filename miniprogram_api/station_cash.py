"""Station cash hand-over (现金解缴) for station staff: what the station owes, recording cash handed to
the county centre, and its hand-overs (its own station only; others are a 404)."""
from sanic import Blueprint, Request

from server.cash import service as cash
from server.cash.schemas import CashSummaryOut, HandoverIn, HandoverOut, HandoversQuery
from server.kit.auth import Role
from server.kit.http import endpoint
from server.kit.schemas import Page

bp = Blueprint("mp_station_cash", url_prefix="/api/v1/station/<station_id:int>/cash")
STAFF = (Role.station_staff,)
TAGS = ("station staff",)


@bp.get("")
@endpoint(summary="What my station owes in cash today (taken, waiting for the centre, to hand over)",
          roles=STAFF, response=CashSummaryOut, tags=TAGS, errors=(404,))
async def summary(request: Request, principal, station_id: int):
    return await cash.summary(principal, station_id)


@bp.post("/handovers")
@endpoint(summary="Record cash handed to the county centre (the balance moves when the centre confirms)",
          roles=STAFF, body=HandoverIn, response=HandoverOut, status=201, tags=TAGS, errors=(404, 422))
async def record(request: Request, principal, station_id: int, body: HandoverIn):
    return await cash.record(principal, station_id, body)


@bp.get("/handovers")
@endpoint(summary="My station's cash hand-overs, newest first", roles=STAFF, query=HandoversQuery,
          response=Page[HandoverOut], tags=TAGS, errors=(404, 422))
async def handovers(request: Request, principal, station_id: int, query: HandoversQuery):
    return await cash.station_handovers(principal, station_id, query)
