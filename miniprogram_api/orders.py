"""Checkout and the buyer's orders; the merchant's view of orders holding their goods."""
from sanic import Blueprint, Request

from server.kit.auth import Role
from server.kit.http import endpoint
from server.ledger import service as ledger
from server.ledger.schemas import MerchantBalancesOut
from server.orders import receipt, refunds
from server.orders import service as orders
from server.orders.refunds import RefundOut
from server.orders.schemas import CancelIn, CheckoutIn, OrderListQuery, OrderOut, OrderPage, RefundRequestIn
from server.kit.schemas import Schema
from server.kit.errors import ValidationFailed

bp = Blueprint("mp_orders", url_prefix="/api/v1")
TAGS = ("orders",)
MERCHANT_TAGS = ("merchant: orders",)


class DecisionIn(Schema):
    note: str = ""


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    key = key.strip()
    if not (1 <= len(key) <= 64) or not key.isprintable():
        raise ValidationFailed.field("Idempotency-Key", "1-64 printable characters")
    return key


@bp.post("/orders")
@endpoint(summary="Check out: reserve stock and create an unpaid order (send an Idempotency-Key header)",
          auth="user", body=CheckoutIn, response=OrderOut, status=201, tags=TAGS, errors=(409, 429, 503),
          description="A retried request with the same Idempotency-Key returns the same order. "
                      "Prices come from the catalogue (or the live session of `source`), never the client.")
async def checkout(request: Request, principal, body: CheckoutIn):
    return await orders.create_order(principal.user_id, body, idempotency_key=_idempotency_key(request))


@bp.get("/orders")
@endpoint(summary="My orders, newest first", auth="user", query=OrderListQuery, response=OrderPage, tags=TAGS)
async def my_orders(request: Request, principal, query: OrderListQuery):
    return await orders.my_orders(principal.user_id, query)


@bp.get("/orders/<order_id:int>")
@endpoint(summary="One of my orders", auth="user", response=OrderOut, tags=TAGS)
async def my_order(request: Request, principal, order_id: int):
    return await orders.my_order(principal.user_id, order_id)


@bp.post("/orders/<order_id:int>/cancel")
@endpoint(summary="Cancel my unpaid order (stock goes back)", auth="user", body=CancelIn, response=OrderOut,
          tags=TAGS, errors=(409,))
async def cancel(request: Request, principal, order_id: int, body: CancelIn):
    return await orders.cancel_by_buyer(principal.user_id, order_id, body.reason)


@bp.post("/orders/<order_id:int>/confirm-receipt")
@endpoint(summary="Confirm receipt of my courier order (确认收货): it is completed", auth="user",
          response=OrderOut, tags=TAGS, errors=(404, 409),
          description="Idempotent: a completed order is answered as it is. 409 order_not_shipped until a "
                      "courier has the order. Unconfirmed courier orders complete by themselves "
                      "KAZUO_AUTO_CONFIRM_DAYS days after the courier took them.")
async def confirm_receipt(request: Request, principal, order_id: int):
    return await receipt.confirm_receipt(principal.user_id, order_id)


@bp.post("/orders/<order_id:int>/refunds")
@endpoint(summary="Ask for a refund of some lines or the whole order", auth="user", body=RefundRequestIn,
          response=RefundOut, status=201, tags=TAGS, errors=(409,),
          description="Before fulfilment the refund is approved at once; later the merchant or an admin decides.")
async def request_refund(request: Request, principal, order_id: int, body: RefundRequestIn):
    lines = None
    if body.lines is not None:
        lines = {}
        for i, x in enumerate(body.lines):
            if x.line_id in lines:
                raise ValidationFailed.field(f"lines.{i}.line_id", "the same line appears twice")
            lines[x.line_id] = x.quantity
    return await refunds.my_refund_request(principal.user_id, order_id, lines, body.reason)


@bp.get("/orders/<order_id:int>/refunds")
@endpoint(summary="Refunds of my order", auth="user", response=list[RefundOut], tags=TAGS)
async def my_refunds(request: Request, principal, order_id: int):
    await orders.my_order(principal.user_id, order_id)
    return [r.model_dump(mode="json") for r in await refunds.order_refunds(order_id, buyer_view=True)]


# ---- merchant ------------------------------------------------------------------------------------
@bp.get("/merchant/orders")
@endpoint(summary="Orders holding my goods (only my lines)", roles=(Role.merchant,), query=OrderListQuery,
          response=OrderPage, tags=MERCHANT_TAGS)
async def merchant_orders(request: Request, principal, query: OrderListQuery):
    return await orders.merchant_orders(principal.merchant_ids, query)


@bp.get("/merchant/orders/<order_id:int>")
@endpoint(summary="One order holding my goods (only my lines)", roles=(Role.merchant,), response=OrderOut,
          tags=MERCHANT_TAGS)
async def merchant_order(request: Request, principal, order_id: int):
    return await orders.merchant_order(principal.merchant_ids, order_id)


@bp.post("/merchant/refunds/<refund_id:int>/approve")
@endpoint(summary="Approve a refund of my goods", roles=(Role.merchant,), body=DecisionIn, response=RefundOut,
          tags=MERCHANT_TAGS, errors=(409,))
async def merchant_approve(request: Request, principal, refund_id: int, body: DecisionIn):
    return await refunds.decide(refund_id, approve=True, actor_id=principal.user_id,
                                merchant_ids=principal.merchant_ids, note=body.note)


@bp.post("/merchant/refunds/<refund_id:int>/reject")
@endpoint(summary="Reject a refund of my goods", roles=(Role.merchant,), body=DecisionIn, response=RefundOut,
          tags=MERCHANT_TAGS, errors=(409,))
async def merchant_reject(request: Request, principal, refund_id: int, body: DecisionIn):
    return await refunds.decide(refund_id, approve=False, actor_id=principal.user_id,
                                merchant_ids=principal.merchant_ids, note=body.note)


@bp.get("/merchant/balance")
@endpoint(summary="My settlement balance (fen)", roles=(Role.merchant,), response=MerchantBalancesOut,
          tags=MERCHANT_TAGS)
async def merchant_balance(request: Request, principal):
    out = []
    for mid in sorted(principal.merchant_ids):
        rows = await ledger.balances("merchant", mid)
        out.append({"merchant_id": mid, "balance_fen": rows[0]["balance_fen"] if rows else 0})
    return {"items": out}
