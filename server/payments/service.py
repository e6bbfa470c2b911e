"""WeChat Pay (JSAPI for the mini-program, NATIVE for station 代购) and cash at the counter.

A payment is applied exactly once: the payment row is locked and moved created -> paid by a guarded
update, and the order pending_payment -> paid by the orders service's guarded transition, in one
transaction that also posts the ledger and enqueues the warehouse hand-off. Money that arrives for an
order that can no longer take it (cancelled by the timeout, or already paid another way) is NOT lost:
the payment is recorded as `stray` and refunded in full automatically. We chose refunding over
reviving the order because the stock and any live quota were already given back to other buyers."""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from server.integrations.wechatpay import (SUCCESS_XML, InvalidNotification, PayGatewayError, fail_xml,
                                           gateway)
from server.kit import audit, clock, runtime
from server.kit import redis as kr
from server.kit.db import atomic
from server.kit.errors import Conflict, NotFound
from server.kit.jobs import enqueue, sweep_window
from server.kit.schemas import Out
from server.ledger import service as ledger
from server.models.accounts import User
from server.models.orders import Order, OrderStatus
from server.models.payments import Payment, PaymentNotification, PaymentStatus, Refund, RefundStatus
from server.orders import refunds
from server.orders import service as orders_service

log = logging.getLogger("kazuo.payments")
P = PaymentStatus
S = OrderStatus
CLOSE_NOT_BEFORE = timedelta(minutes=5)  # WeChat refuses closeorder sooner


class JsapiParamsOut(Out):
    order_id: int
    out_trade_no: str
    timeStamp: str
    nonceStr: str
    package: str
    signType: str
    paySign: str


class NativeOut(Out):
    order_id: int
    out_trade_no: str
    code_url: str
    total_fen: int
    expires_at: datetime


class PaymentOut(Out):
    id: int
    order_id: int
    method: str
    out_trade_no: str
    amount_fen: int
    status: str
    transaction_id: str | None
    station_id: int | None
    created_at: datetime
    paid_at: datetime | None


class NotificationOut(Out):
    id: int
    kind: str
    out_trade_no: str
    transaction_id: str
    out_refund_no: str
    verified: bool
    outcome: str
    error: str
    received_count: int
    created_at: datetime
    body: str


def notify_url() -> str:
    s = runtime.settings()
    return s.base_url + s.wechat_pay_notify_path


def refund_notify_url() -> str:
    s = runtime.settings()
    return s.base_url + s.wechat_pay_refund_notify_path


async def _payable(order_id: int, buyer_id: int | None = None) -> Order:
    qs = Order.filter(id=order_id)
    if buyer_id is not None:
        qs = qs.filter(buyer_id=buyer_id)
    order = await qs.first()
    if order is None:
        raise NotFound("order not found")
    if order.status != S.PENDING_PAYMENT:
        raise Conflict(f"the order is {order.status}; it cannot be paid", code="invalid_transition")
    # WeChat wants a prepay order to live at least a minute (time_expire - time_start).
    if order.expires_at and order.expires_at <= clock.now() + timedelta(seconds=70):
        raise Conflict("the order has expired", code="order_expired")
    return order


async def _prepay(order: Order, method: str, trade_type: str, *, openid: str | None, client_ip: str,
                  actor_id: int | None) -> Payment:
    out_trade_no = order.order_no + ("N" if method == "wechat_native" else "")
    try:
        payment, _ = await Payment.get_or_create(out_trade_no=out_trade_no, defaults=dict(
            order_id=order.id, method=method, amount_fen=order.total_fen, actor_id=actor_id))
    except IntegrityError:
        payment = await Payment.get(out_trade_no=out_trade_no)
    if payment.status != P.CREATED:
        raise Conflict("this payment is already " + payment.status, code="invalid_transition")
    if payment.prepay_id:  # a retried /pay returns the open prepay order (WeChat keeps it 2 hours)
        return payment
    resp = await gateway().unified_order(
        trade_type=trade_type, body=f"喀左特色馆-订单{order.order_no}", out_trade_no=out_trade_no,
        total_fee=order.total_fen, notify_url=notify_url(), client_ip=client_ip, time_expire=order.expires_at,
        openid=openid, product_id=str(order.id) if trade_type == "NATIVE" else None)
    prepay_id = resp.get("prepay_id") or ""
    if not prepay_id or (trade_type == "NATIVE" and not resp.get("code_url")):
        raise PayGatewayError("WeChat Pay returned no prepay_id", err_code="BAD_RESPONSE")
    await Payment.filter(id=payment.id, prepay_id="").update(prepay_id=prepay_id, code_url=resp.get("code_url") or "")
    enqueue("payments.query", order.id, job_id=kr.key("job", f"payments.query:{payment.id}"),
            defer=timedelta(seconds=runtime.settings().wechat_pay_query_after_seconds))
    return await Payment.get(id=payment.id)


async def create_jsapi_payment(buyer_id: int, order_id: int, *, client_ip: str) -> JsapiParamsOut:
    """Prepay (JSAPI, the buyer's openid) and the wx.requestPayment parameters."""
    order = await _payable(order_id, buyer_id)
    user = await User.get(id=buyer_id).only("id", "openid")
    if not user.openid:
        raise Conflict("this account has no WeChat openid; pay at a station", code="no_openid")
    payment = await _prepay(order, "wechat_jsapi", "JSAPI", openid=user.openid, client_ip=client_ip,
                            actor_id=buyer_id)
    params = gateway().jsapi_params(payment.prepay_id)
    return JsapiParamsOut(order_id=order.id, out_trade_no=payment.out_trade_no, **params)


async def create_native_payment(order_id: int, *, actor_id: int | None, client_ip: str = "127.0.0.1") -> NativeOut:
    """Prepay (NATIVE): a code_url the villager scans at the station counter (代购)."""
    order = await _payable(order_id)
    payment = await _prepay(order, "wechat_native", "NATIVE", openid=None, client_ip=client_ip, actor_id=actor_id)
    return NativeOut(order_id=order.id, out_trade_no=payment.out_trade_no, code_url=payment.code_url,
                     total_fen=payment.amount_fen, expires_at=order.expires_at)


async def record_cash_payment(order_id: int, *, station_id: int, actor_id: int | None) -> PaymentOut:
    """Cash taken at a station counter: the order is paid and the station owes the cash (ledger)."""
    async with atomic() as conn:
        order = await Order.filter(id=order_id).using_db(conn).select_for_update().first()
        if order is None:
            raise NotFound("order not found")
        if await Payment.filter(order_id=order_id, method="cash").using_db(conn).exists():
            raise Conflict("cash was already recorded for this order", code="already_paid")
        if order.status != S.PENDING_PAYMENT:
            raise Conflict(f"the order is {order.status}; it cannot be paid", code="invalid_transition")
        now = clock.now()
        try:
            payment = await Payment.create(order_id=order_id, method="cash", out_trade_no="CASH" + order.order_no,
                                           amount_fen=order.total_fen, status=P.PAID, station_id=station_id,
                                           actor_id=actor_id, paid_at=now, using_db=conn)
        except IntegrityError:
            raise Conflict("cash was already recorded for this order", code="already_paid") from None
        await _mark_paid(order, payment, order.total_fen, actor_id, conn)
        await audit.record(actor_id, "payment.cash", "order", order_id,
                           {"station_id": station_id, "amount_fen": order.total_fen}, conn=conn)
    return PaymentOut.model_validate(payment)


async def _mark_paid(order: Order, payment: Payment, amount: int, actor_id: int | None, conn: Any) -> None:
    await orders_service.transition(order.id, [S.PENDING_PAYMENT], S.PAID, conn=conn, actor_id=actor_id,
                                    paid_fen=amount, paid_at=payment.paid_at or clock.now(),
                                    payment_method=payment.method)
    await ledger.post_sale(order.id, conn)
    enqueue("fulfillment.handoff", order.id, job_id=kr.key("job", f"fulfillment.handoff:{order.id}"))
    # Any other open prepay order of this order (JSAPI vs NATIVE) is closed at WeChat.
    if await Payment.filter(order_id=order.id, status=P.CREATED).exclude(id=payment.id).using_db(conn).exists():
        enqueue("payments.close", order.id, job_id=kr.key("job", f"payments.close:{order.id}"))


async def apply_wechat_payment(out_trade_no: str, transaction_id: str, total_fee: int) -> str:
    """Apply a verified WeChat payment exactly once: applied | duplicate | stray; InvalidNotification if unknown."""
    async with atomic() as conn:
        payment = await Payment.filter(out_trade_no=out_trade_no).using_db(conn).select_for_update().first()
        if payment is None or payment.method == "cash":
            raise InvalidNotification("unknown out_trade_no")
        if total_fee != payment.amount_fen:
            raise InvalidNotification("total_fee does not match the order")
        now = clock.now()
        n = await Payment.filter(id=payment.id, status__in=[P.CREATED, P.CLOSED]).using_db(conn).update(
            status=P.PAID, transaction_id=transaction_id, paid_at=now)
        if n == 0:
            return "duplicate"
        payment.paid_at, payment.status = now, P.PAID
        order = await Order.get(id=payment.order_id, using_db=conn)
        try:
            await _mark_paid(order, payment, total_fee, None, conn)
        except Conflict:
            # The order was cancelled (timeout) or paid another way: keep the money's trace and refund it.
            await Payment.filter(id=payment.id).using_db(conn).update(status=P.STRAY)
            await refunds.create_stray_refund(payment, total_fee, conn)
            log.warning("payment for a closed order refunded", extra={"order_id": order.id})
            return "stray"
    return "applied"


async def _store_notification(kind: str, body: bytes) -> int:
    digest = hashlib.sha256(body).hexdigest()
    text = body.decode("utf-8", "replace")[:20000]
    try:
        async with atomic() as conn:
            row = await PaymentNotification.create(kind=kind, body_hash=digest, body=text,
                                                   last_received_at=clock.now(), using_db=conn)
            return row.id
    except IntegrityError:
        await PaymentNotification.filter(body_hash=digest).update(
            received_count=F("received_count") + 1, last_received_at=clock.now())
        return (await PaymentNotification.get(body_hash=digest).only("id")).id


async def _note(nid: int, **fields: Any) -> None:
    outcome = fields.get("outcome")
    qs = PaymentNotification.filter(id=nid)
    if outcome == "duplicate":  # a retry of an applied notification keeps saying "applied"
        qs = qs.filter(outcome__in=["received", "failed"])
    await qs.update(**{k: (v[:200] if k == "error" else v) for k, v in fields.items()})


async def handle_pay_notification(body: bytes) -> str:
    """The notify_url: store raw, verify, apply once; answer WeChat's SUCCESS/FAIL XML."""
    nid = await _store_notification("pay", body)
    try:
        data = gateway().parse_payment(body)
    except InvalidNotification as exc:
        await _note(nid, verified=False, outcome="rejected", error=str(exc))
        log.warning("pay notification rejected: %s", exc)
        return fail_xml(str(exc))
    await _note(nid, verified=True, out_trade_no=str(data["out_trade_no"])[:64],
                transaction_id=str(data["transaction_id"])[:64])
    try:
        outcome = await apply_wechat_payment(str(data["out_trade_no"]), str(data["transaction_id"]),
                                             int(data["total_fee"]))
    except InvalidNotification as exc:
        await _note(nid, outcome="rejected", error=str(exc))
        return fail_xml(str(exc))
    except Exception as exc:  # noqa: BLE001 - answer FAIL so WeChat retries; the sweeper queries too
        log.exception("applying a payment failed")
        await _note(nid, outcome="failed", error=type(exc).__name__)
        return fail_xml("retry later")
    await _note(nid, outcome=outcome)
    return SUCCESS_XML


async def handle_refund_notification(body: bytes) -> str:
    """The refund notify_url: decrypt req_info, apply the refund result once."""
    nid = await _store_notification("refund", body)
    try:
        data = gateway().parse_refund(body)
    except InvalidNotification as exc:
        await _note(nid, verified=False, outcome="rejected", error=str(exc))
        return fail_xml(str(exc))
    await _note(nid, verified=True, out_trade_no=str(data.get("out_trade_no", ""))[:64],
                transaction_id=str(data.get("transaction_id", ""))[:64],
                out_refund_no=str(data["out_refund_no"])[:64])
    status = data.get("refund_status")
    try:
        outcome = await refunds.complete(
            str(data["out_refund_no"]), success=status == "SUCCESS", refund_fee=int(data.get("refund_fee") or 0),
            wechat_refund_id=str(data.get("refund_id") or ""), error=f"WeChat refund {status}")
    except Exception as exc:  # noqa: BLE001
        log.exception("applying a refund failed")
        await _note(nid, outcome="failed", error=type(exc).__name__)
        return fail_xml("retry later")
    if outcome in ("unknown", "amount_mismatch"):
        await _note(nid, outcome="rejected", error=outcome)
        return fail_xml(outcome)
    await _note(nid, outcome=outcome)
    return SUCCESS_XML


# ---- jobs: query, close, refund --------------------------------------------------------------
async def sync_with_wechat(order_id: int) -> str:
    """Ask WeChat about the order's open prepay orders and apply a payment we missed."""
    result = "unpaid"
    for payment in await Payment.filter(order_id=order_id, status=P.CREATED).exclude(prepay_id=""):
        try:
            resp = await gateway().query(payment.out_trade_no)
        except PayGatewayError as exc:
            if exc.err_code == "ORDERNOTEXIST":
                continue
            raise
        await Payment.filter(id=payment.id).update(last_queried_at=clock.now())
        if resp.get("trade_state") == "SUCCESS":
            result = await apply_wechat_payment(payment.out_trade_no, str(resp.get("transaction_id")),
                                                int(resp.get("total_fee") or 0))
    return result


async def close_open_payments(order_id: int) -> str:
    """Close the order's unpaid prepay orders at WeChat; 'later' when one is younger than 5 minutes."""
    order = await Order.get_or_none(id=order_id)
    if order is None:
        return "none"
    later = False
    for payment in await Payment.filter(order_id=order_id, status=P.CREATED):
        if not payment.prepay_id:
            await Payment.filter(id=payment.id, status=P.CREATED).update(status=P.CLOSED, closed_at=clock.now())
            continue
        if clock.now() - payment.created_at < CLOSE_NOT_BEFORE:
            later = True
            continue
        try:
            await gateway().close(payment.out_trade_no)
        except PayGatewayError as exc:
            if exc.err_code == "ORDERPAID":  # paid after all: apply it (refunded if the order is gone)
                await sync_with_wechat(order_id)
                continue
            if exc.err_code not in ("ORDERCLOSED", "ORDERNOTEXIST"):
                raise
        await Payment.filter(id=payment.id, status=P.CREATED).update(status=P.CLOSED, closed_at=clock.now())
    return "later" if later else "closed"


async def submit_refund(refund_id: int) -> str:
    """Send an approved refund to WeChat (same out_refund_no on every retry) or pay it back in cash."""
    refund = await Refund.get_or_none(id=refund_id)
    if refund is None or refund.status not in (RefundStatus.APPROVED, RefundStatus.PROCESSING):
        return "skip"
    payment = await Payment.get_or_none(id=refund.payment_id) if refund.payment_id else None
    if payment is None or payment.method == "cash":
        # Cash goes back over the station counter; no payment at all means nothing was collected.
        return await refunds.complete(refund.refund_no, success=True, refund_fee=refund.amount_fen)
    try:
        resp = await gateway().refund(out_trade_no=payment.out_trade_no, out_refund_no=refund.refund_no,
                                      total_fee=payment.amount_fen, refund_fee=refund.amount_fen,
                                      notify_url=refund_notify_url())
    except PayGatewayError as exc:
        if exc.err_code in ("NETWORK", "SYSTEMERROR", "BAD_RESPONSE", "SIGN_MISMATCH", "FREQUENCY_LIMITED"):
            raise  # transient: the job retries
        await Refund.filter(id=refund.id, status=RefundStatus.APPROVED).update(
            status=RefundStatus.FAILED, error=f"{exc.err_code}: {exc.message}"[:200])
        return "failed"
    await Refund.filter(id=refund.id, status=RefundStatus.APPROVED).update(
        status=RefundStatus.PROCESSING, submitted_at=clock.now(), wechat_refund_id=str(resp.get("refund_id") or "")[:64])
    return "submitted"


async def query_refund(refund_id: int) -> str:
    """refundquery for a refund whose notification did not come."""
    refund = await Refund.get_or_none(id=refund_id)
    if refund is None or refund.status != RefundStatus.PROCESSING:
        return "skip"
    resp = await gateway().refund_query(refund.refund_no)
    status = resp.get("refund_status_0")
    if status == "SUCCESS":
        return await refunds.complete(refund.refund_no, success=True, refund_fee=int(resp.get("refund_fee_0") or 0),
                                      wechat_refund_id=str(resp.get("refund_id_0") or ""))
    if status in ("REFUNDCLOSE", "CHANGE"):
        return await refunds.complete(refund.refund_no, success=False, refund_fee=None, error=f"WeChat {status}")
    return "processing"


async def sweep() -> dict:
    """Re-find lost work: unqueried prepay orders, approved/processing refunds, due cancellations."""
    s = runtime.settings()
    now = clock.now()
    query_before = now - timedelta(seconds=s.wechat_pay_query_after_seconds)
    to_query = await (Payment.filter(status=P.CREATED, created_at__lt=query_before).exclude(prepay_id="")
                      .filter(order__status=S.PENDING_PAYMENT).order_by("id").limit(200)
                      .values_list("order_id", flat=True))
    for oid in set(to_query):
        enqueue("payments.query", oid)
    approved = await Refund.filter(status=RefundStatus.APPROVED, decided_at__lt=now - timedelta(minutes=2)) \
        .order_by("id").limit(200).values_list("id", flat=True)
    for rid in approved:
        enqueue("payments.refund", rid)
    processing = await Refund.filter(status=RefundStatus.PROCESSING, submitted_at__lt=now - timedelta(minutes=2)) \
        .order_by("id").limit(200).values_list("id", flat=True)
    for rid in processing:
        enqueue("payments.refund_query", rid)
    closable = await (Payment.filter(status=P.CREATED, created_at__lt=now - CLOSE_NOT_BEFORE)
                      .filter(order__status__in=[S.CANCELLED, S.CLOSED]).limit(200)
                      .values_list("order_id", flat=True))
    for oid in set(closable):
        enqueue("payments.close", oid)
    due = await orders_service.due_unpaid()
    window = sweep_window()
    for oid in due:
        enqueue("orders.cancel_unpaid", oid, job_id=kr.key("job", f"orders.cancel:{oid}:sweep:{window}"))
    return {"query": len(set(to_query)), "refund": len(approved), "refund_query": len(processing),
            "close": len(set(closable)), "cancel": len(due)}


# ---- admin views -----------------------------------------------------------------------------
async def order_payments(order_id: int) -> list[PaymentOut]:
    return [PaymentOut.model_validate(p) for p in await Payment.filter(order_id=order_id).order_by("id")]


async def notifications(out_trade_no: str | None, limit: int = 50) -> list[NotificationOut]:
    qs = PaymentNotification.all()
    if out_trade_no:
        qs = qs.filter(out_trade_no=out_trade_no)
    return [NotificationOut.model_validate(n) for n in await qs.order_by("-id").limit(limit)]


async def reconcile(order_id: int | None = None) -> dict:
    """Admin-triggered reconciliation: ask WeChat about open payments and check the ledger invariant."""
    ids = [order_id] if order_id else await (Payment.filter(status=P.CREATED).exclude(prepay_id="")
                                             .order_by("-id").limit(100).values_list("order_id", flat=True))
    synced = {}
    for oid in ids:
        try:
            synced[oid] = await sync_with_wechat(oid)
        except PayGatewayError as exc:
            synced[oid] = "error: " + exc.err_code
    broken = await ledger.check_invariant([order_id] if order_id else None)
    return {"queried": synced, "ledger_broken": broken}
