"""County office (admins): search orders, see payments, notifications and refunds, decide refunds,
ledger balances, and trigger a reconciliation with WeChat Pay."""
from typing import Annotated, Literal

from pydantic import Field, StringConstraints
from sanic import Blueprint, Request

from server.kit.auth import Role
from server.kit.http import endpoint
from server.kit.schemas import Out, Page, QuerySchema, Schema
from server.ledger import service as ledger
from server.ledger.schemas import BalancesOut
from server.orders import refunds
from server.orders import service as orders
from server.orders.refunds import RefundOut
from server.orders.schemas import AdminOrderQuery, OrderEventOut, OrderOut, OrderPage
from server.payments import service as payments
from server.payments.service import NotificationOut, PaymentOut

bp = Blueprint("console_orders", url_prefix="/api/v1/console")
ADMIN = (Role.admin,)
TAGS = ("console: orders",)


class DecisionIn(Schema):
    note: Annotated[str, StringConstraints(max_length=200)] = ""


class SettleIn(Schema):
    method: Literal["cash", "bank", "other"] = Field(description="how the money went back: 现金, 银行转账, 其他")
    note: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="who paid it back and where it is recorded")


class ReconcileIn(Schema):
    order_id: Annotated[int, Field(ge=1, le=2**63 - 1)] | None = None


class NotificationQuery(QuerySchema):
    out_trade_no: Annotated[str, StringConstraints(max_length=64)] | None = None
    limit: int = Field(50, ge=1, le=200)


class RefundQuery(QuerySchema):
    status: Literal["requested", "approved", "processing", "succeeded", "rejected", "failed"] = "requested"
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(20, ge=1, le=100)


class OrderDetailOut(Out):
    order: OrderOut
    events: list[OrderEventOut]
    payments: list[PaymentOut]
    refunds: list[RefundOut]
    notifications: list[NotificationOut]


class NotificationsOut(Out):
    items: list[NotificationOut]


class LedgerBreak(Out):
    order_id: int
    expected: int = Field(description="paid - refunded (fen)")
    entries: int = Field(description="what the order's ledger entries sum to (fen)")


class ReconcileOut(Out):
    queried: dict[str, str] = Field(description="order id -> what WeChat said (applied, paid, unpaid, error)")
    ledger_broken: list[LedgerBreak]


class BalanceQuery(QuerySchema):
    account_type: Literal["merchant", "platform", "station", "livestreamer"] | None = None
    account_id: Annotated[int, Field(ge=1, le=2**63 - 1)] | None = None


@bp.get("/refunds")
@endpoint(summary="Refunds by state, oldest first (requested = waiting for a decision)", roles=ADMIN,
          query=RefundQuery, response=Page[RefundOut], tags=TAGS)
async def refund_list(request: Request, principal, query: RefundQuery):
    return await refunds.list_refunds(query.status, query.cursor, query.limit)


@bp.get("/orders")
@endpoint(summary="Search orders", roles=ADMIN, query=AdminOrderQuery, response=OrderPage, tags=TAGS)
async def search(request: Request, principal, query: AdminOrderQuery):
    return await orders.search_orders(query)


@bp.get("/orders/<order_id:int>")
@endpoint(summary="An order with its events, payments, refunds and notifications", roles=ADMIN,
          response=OrderDetailOut, tags=TAGS)
async def detail(request: Request, principal, order_id: int):
    order = await orders.order_out(order_id)
    pays = await payments.order_payments(order_id)
    notes = []
    for p in pays:
        notes += await payments.notifications(p.out_trade_no)
    return {"order": order.model_dump(mode="json"),
            "events": [e.model_dump(mode="json") for e in await orders.order_events(order_id)],
            "payments": [p.model_dump(mode="json") for p in pays],
            "refunds": [r.model_dump(mode="json") for r in await refunds.order_refunds(order_id)],
            "notifications": [n.model_dump(mode="json") for n in notes]}


@bp.get("/payment-notifications")
@endpoint(summary="Raw WeChat Pay notifications as received, newest first", roles=ADMIN,
          query=NotificationQuery, response=NotificationsOut, tags=TAGS)
async def notification_list(request: Request, principal, query: NotificationQuery):
    return {"items": [n.model_dump(mode="json") for n in await payments.notifications(query.out_trade_no, query.limit)]}


@bp.post("/refunds/<refund_id:int>/approve")
@endpoint(summary="Approve a refund", roles=ADMIN, body=DecisionIn, response=RefundOut, tags=TAGS, errors=(409,))
async def approve(request: Request, principal, refund_id: int, body: DecisionIn):
    return await refunds.decide(refund_id, approve=True, actor_id=principal.user_id, merchant_ids=None,
                                note=body.note)


@bp.post("/refunds/<refund_id:int>/reject")
@endpoint(summary="Reject a refund", roles=ADMIN, body=DecisionIn, response=RefundOut, tags=TAGS, errors=(409,))
async def reject(request: Request, principal, refund_id: int, body: DecisionIn):
    return await refunds.decide(refund_id, approve=False, actor_id=principal.user_id, merchant_ids=None,
                                note=body.note)


@bp.post("/refunds/<refund_id:int>/retry")
@endpoint(summary="Send a failed refund to WeChat Pay again (audited; again: the refund as it is)", roles=ADMIN,
          response=RefundOut, tags=TAGS, errors=(409,))
async def retry_refund(request: Request, principal, refund_id: int):
    return await refunds.retry_failed(refund_id, actor_id=principal.user_id)


@bp.post("/refunds/<refund_id:int>/settle")
@endpoint(summary="Record that a failed refund was paid back another way (cash, bank; audited)", roles=ADMIN,
          body=SettleIn, response=RefundOut, tags=TAGS, errors=(409,))
async def settle_refund(request: Request, principal, refund_id: int, body: SettleIn):
    return await refunds.settle_elsewhere(refund_id, method=body.method, note=body.note, actor_id=principal.user_id)


@bp.get("/ledger/balances")
@endpoint(summary="Settlement balances per account (fen)", roles=ADMIN, query=BalanceQuery,
          response=BalancesOut, tags=TAGS)
async def balances(request: Request, principal, query: BalanceQuery):
    return {"items": await ledger.balances(query.account_type, query.account_id)}


@bp.post("/reconcile")
@endpoint(summary="Ask WeChat about open payments and check the ledger invariant", roles=ADMIN,
          body=ReconcileIn, response=ReconcileOut, tags=TAGS, errors=(502,))
async def reconcile(request: Request, principal, body: ReconcileIn):
    return await payments.reconcile(body.order_id)
