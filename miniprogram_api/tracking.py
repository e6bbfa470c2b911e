"""The buyer's tracking timeline (物流跟踪) of their own order."""
from sanic import Blueprint, Request

from server.fulfillment import scans
from server.fulfillment.schemas import TrackingOut
from server.kit.http import endpoint

bp = Blueprint("mp_tracking", url_prefix="/api/v1")


@bp.get("/orders/<order_id:int>/tracking")
@endpoint(summary="Tracking timeline of the caller's order: parcels, promises, scans", auth="user",
          response=TrackingOut, tags=("orders",), errors=(404,))
async def tracking(request: Request, principal, order_id: int):
    return await scans.tracking(principal.user_id, order_id)
