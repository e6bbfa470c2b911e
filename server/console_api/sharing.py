"""The county office's view of share attribution (分享归因): which shares brought orders, by sharer; and
what the buyer of an order was told (subscribe messages and SMS, #29)."""
from sanic import Blueprint, Request

from server.kit.auth import Role
from server.kit.http import endpoint
from server.notify import outbox
from server.notify.schemas import OrderMessagesOut
from server.sharing import service as sharing
from server.sharing.schemas import AttributionQuery, AttributionReport, OrderShareOut

bp = Blueprint("console_sharing", url_prefix="/api/v1/console")
TAGS = ("console: sharing",)


@bp.get("/shares/attribution")
@endpoint(summary="Orders brought by shares in a date range, by sharer, and the latest ones", roles=(Role.admin,),
          query=AttributionQuery, response=AttributionReport, tags=TAGS, errors=(422,))
async def attribution(request: Request, principal, query: AttributionQuery):
    return await sharing.report(query.from_, query.to)


@bp.get("/orders/<order_id:int>/share")
@endpoint(summary="The share that brought one order (null when none)", roles=(Role.admin,),
          response=OrderShareOut, tags=TAGS)
async def order_share(request: Request, principal, order_id: int):
    return await sharing.order_attribution(order_id)


@bp.get("/orders/<order_id:int>/messages")
@endpoint(summary="What the buyer of an order was told: each moment's subscribe message and SMS", roles=(Role.admin,),
          response=OrderMessagesOut, tags=("console: notify",))
async def order_messages(request: Request, principal, order_id: int):
    return await outbox.sent_for(order_id)
