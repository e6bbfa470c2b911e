"""Which subscribe-message templates a mini-program screen asks the buyer for (wx.requestSubscribeMessage),
what the buyer answered, and live-preview bookings (a reminder when the session starts)."""
from sanic import Blueprint, Request

from server.kit.http import endpoint
from server.notify import live_booking, registry, subscriptions
from server.notify.schemas import (LiveBookingOut, SubscribeChoicesOut, SubscribeQuery, SubscribeResultsIn,
                                   SubscribeTemplatesOut)

bp = Blueprint("mp_subscribe", url_prefix="/api/v1")


@bp.get("/subscribe-templates")
@endpoint(summary="The template ids to request with wx.requestSubscribeMessage on a screen", query=SubscribeQuery,
          response=SubscribeTemplatesOut, tags=("notify",), errors=(422,))
async def subscribe_templates(request: Request, query: SubscribeQuery):
    return registry.templates_for(query.scene)


@bp.post("/subscriptions")
@endpoint(summary="Report what wx.requestSubscribeMessage answered ({template_id: accept|reject|ban|filter})",
          auth="user", body=SubscribeResultsIn, response=SubscribeChoicesOut, tags=("notify",), errors=(422,),
          description="Each accept allows one message of that template; reject or ban stops them.")
async def report_subscriptions(request: Request, principal, body: SubscribeResultsIn):
    return await subscriptions.record(principal.user_id, body)


@bp.get("/subscriptions")
@endpoint(summary="My subscribe choices, one per template", auth="user", response=SubscribeChoicesOut,
          tags=("notify",))
async def my_subscriptions(request: Request, principal):
    return await subscriptions.choices(principal.user_id)


@bp.get("/live/sessions/<session_id:int>/booking")
@endpoint(summary="Whether I booked this live preview (预约)", auth="user", response=LiveBookingOut,
          tags=("notify",))
async def booking_status(request: Request, principal, session_id: int):
    return await live_booking.status(principal.user_id, session_id)


@bp.put("/live/sessions/<session_id:int>/booking")
@endpoint(summary="Book a live preview: one reminder when it is about to start (ask for scene live_preview)",
          auth="user", response=LiveBookingOut, tags=("notify",), errors=(409,))
async def book_live(request: Request, principal, session_id: int):
    return await live_booking.book(principal.user_id, session_id)


@bp.delete("/live/sessions/<session_id:int>/booking")
@endpoint(summary="Cancel my live preview booking", auth="user", response=LiveBookingOut, tags=("notify",))
async def cancel_live_booking(request: Request, principal, session_id: int):
    return await live_booking.cancel(principal.user_id, session_id)
