"""The county centre's cash desk: station cash hand-overs to confirm (what was counted) or reject."""
from sanic import Blueprint, Request

from server.cash import service as cash
from server.cash.schemas import ConfirmIn, HandoverOut, HandoversQuery, RejectIn, StationOwesOut
from server.kit.auth import Role
from server.kit.http import endpoint
from server.kit.schemas import Page

bp = Blueprint("console_cash", url_prefix="/api/v1/console/cash-handovers")
ADMIN = (Role.admin,)
TAGS = ("console: settlement",)


@bp.get("")
@endpoint(summary="Station cash hand-overs (filter: status, station, flagged), newest first", roles=ADMIN,
          query=HandoversQuery, response=Page[HandoverOut], tags=TAGS, errors=(422,))
async def handovers(request: Request, principal, query: HandoversQuery):
    return await cash.all_handovers(query)


@bp.get("/owed")
@endpoint(summary="Stations that owe cash or have hand-overs waiting, the most owed first", roles=ADMIN,
          response=list[StationOwesOut], tags=TAGS)
async def owed(request: Request, principal):
    return [x.model_dump(mode="json") for x in await cash.stations_owing()]


@bp.get("/<handover_id:int>")
@endpoint(summary="One hand-over", roles=ADMIN, response=HandoverOut, tags=TAGS, errors=(404,))
async def handover(request: Request, principal, handover_id: int):
    return await cash.get_handover(principal, handover_id)


@bp.post("/<handover_id:int>/confirm")
@endpoint(summary="Confirm the cash counted: the station's balance moves by it; a difference is flagged",
          roles=ADMIN, body=ConfirmIn, response=HandoverOut, tags=TAGS, errors=(404, 409, 422))
async def confirm(request: Request, principal, handover_id: int, body: ConfirmIn):
    return await cash.confirm(handover_id, body, actor_id=principal.user_id)


@bp.post("/<handover_id:int>/reject")
@endpoint(summary="Reject a hand-over (nothing arrived): nothing moves", roles=ADMIN, body=RejectIn,
          response=HandoverOut, tags=TAGS, errors=(404, 409, 422))
async def reject(request: Request, principal, handover_id: int, body: RejectIn):
    return await cash.reject(handover_id, body, actor_id=principal.user_id)
