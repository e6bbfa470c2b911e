"""Which subscribe-message templates a mini-program screen asks the buyer for (wx.requestSubscribeMessage)."""
from sanic import Blueprint, Request

from server.kit.http import endpoint
from server.notify import registry
from server.notify.schemas import SubscribeQuery, SubscribeTemplatesOut

bp = Blueprint("mp_subscribe", url_prefix="/api/v1")


@bp.get("/subscribe-templates")
@endpoint(summary="The template ids to request with wx.requestSubscribeMessage on a screen", query=SubscribeQuery,
          response=SubscribeTemplatesOut, tags=("notify",), errors=(422,))
async def subscribe_templates(request: Request, query: SubscribeQuery):
    return registry.templates_for(query.scene)
