"""The county office's pre-sale desk (JSON, issue #28): review offers, see their orders, give a deposit back."""
from sanic import Blueprint, Request

from server.kit.auth import Role
from server.kit.http import endpoint
from server.presale import service as presale
from server.presale.schemas import DepositRefundIn, OfferOut, OfferQuery, OffersOut, PresaleOrderOut, ReviewIn

bp = Blueprint("console_presale", url_prefix="/api/v1/console")
ADMIN = (Role.admin,)
TAGS = ("console: presale",)


@bp.get("/presales")
@endpoint(summary="Pre-sale offers, newest first (status=pending: waiting for review)", roles=ADMIN,
          query=OfferQuery, response=OffersOut, tags=TAGS)
async def offers(request: Request, principal, query: OfferQuery):
    return OffersOut(items=await presale.office_offers(query.status))


@bp.post("/presales/<offer_id:int>/review")
@endpoint(summary="Approve or reject a pending pre-sale offer", roles=ADMIN, body=ReviewIn, response=OfferOut,
          tags=TAGS, errors=(404, 409))
async def review(request: Request, principal, offer_id: int, body: ReviewIn):
    return await presale.review(offer_id, approve=body.approve, note=body.note, actor_id=principal.user_id)


@bp.get("/presales/<offer_id:int>/orders")
@endpoint(summary="A pre-sale's orders with their stage", roles=ADMIN, response=list[PresaleOrderOut], tags=TAGS,
          errors=(404,))
async def offer_orders(request: Request, principal, offer_id: int):
    return await presale.offer_orders(offer_id)


@bp.post("/presale/orders/<order_id:int>/deposit/refund")
@endpoint(summary="Give a deposit back before the balance (the order is cancelled, stock released)", roles=ADMIN,
          body=DepositRefundIn, response=PresaleOrderOut, tags=TAGS, errors=(404, 409))
async def refund_deposit(request: Request, principal, order_id: int, body: DepositRefundIn):
    return await presale.refund_deposit(order_id, buyer_id=None, actor_id=principal.user_id, reason=body.reason)
