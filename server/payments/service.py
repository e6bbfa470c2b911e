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
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import orjson
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q

from config.settings import ORDER_PAY_MARGIN_SECONDS
from server.integrations.wechatpay import InvalidNotification, PayGatewayError, Reply
from server.integrations.wechatpay_gateway import gateway
from server.kit import audit, clock, metrics, runtime
from server.kit import redis as kr
from server.kit.db import atomic
from server.kit.errors import Conflict, KitCode, NotFound
from server.kit.jobs import enqueue, sweep_window
from server.kit.schemas import Out
from server.ledger import service as ledger
from server.payouts import service as payouts
from server.models.accounts import User
from server.models.orders import Order, OrderLine, OrderStatus
from server.models.payments import Payment, PaymentNotification, PaymentStatus, Refund, RefundStatus
from server.orders import refunds
from server.orders import service as orders_service
from server.payments.errors import PaymentCode
from server.presale import service as presale
from server.presale.errors import PresaleCode

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
    return s.base_url + (s.wechat_pay_v3_notify_path if gateway().version == "v3" else s.wechat_pay_notify_path)


def refund_notify_url() -> str:
    s = runtime.settings()
    return s.base_url + (s.wechat_pay_v3_refund_notify_path if gateway().version == "v3"
                         else s.wechat_pay_refund_notify_path)


async def _payable(order_id: int, buyer_id: int | None = None) -> tuple[Order, presale.Due]:
    """The order and what its next payment collects (a pre-sale order: its deposit or balance)."""
    qs = Order.filter(id=order_id)
    if buyer_id is not None:
        qs = qs.filter(buyer_id=buyer_id)
    order = await qs.first()
    if order is None:
        raise NotFound("order not found")
    due = presale.Due("", order.total_fen, order.expires_at)
    if order.source == presale.SOURCE:
        due = await presale.due(order)
        if due.part == "balance":  # its window was checked; the order's own expiry is the deposit's
            return order, due
    if order.status != S.PENDING_PAYMENT:
        raise Conflict(f"the order is {order.status}; it cannot be paid", code=KitCode.INVALID_TRANSITION)
    # WeChat wants a prepay order to live at least a minute (time_expire - time_start).
    if order.expires_at and order.expires_at <= clock.now() + timedelta(seconds=ORDER_PAY_MARGIN_SECONDS):
        raise Conflict("the order has expired", code=PaymentCode.ORDER_EXPIRED)
    return order, due


# What a payment of a part of an order says at WeChat (the buyer's bill).
PART_TITLES = {"": "订单", "deposit": "预售定金-订单", "balance": "预售尾款-订单"}


async def _prepay(order: Order, due: presale.Due, method: str, trade_type: str, *, openid: str | None,
                  client_ip: str, actor_id: int | None) -> Payment:
    # A pre-sale's balance is a second WeChat order of its own (…B); the deposit keeps the order's number.
    out_trade_no = order.order_no + ("B" if due.part == "balance" else "") + ("N" if method == "wechat_native" else "")
    try:
        payment, _ = await Payment.get_or_create(out_trade_no=out_trade_no, defaults=dict(
            order_id=order.id, method=method, amount_fen=due.amount_fen, actor_id=actor_id, part=due.part))
    except IntegrityError:
        payment = await Payment.get(out_trade_no=out_trade_no)
    if payment.status != P.CREATED:
        raise Conflict("this payment is already " + payment.status, code=KitCode.INVALID_TRANSITION)
    if payment.prepay_id:  # a retried /pay returns the open prepay order (WeChat keeps it 2 hours)
        return payment
    prepay = await gateway().prepay(
        trade_type=trade_type, description=f"喀左特色馆-{PART_TITLES[due.part]}{order.order_no}",
        out_trade_no=out_trade_no, amount_fen=due.amount_fen, notify_url=notify_url(), client_ip=client_ip,
        time_expire=due.expires_at,
        openid=openid, product_id=str(order.id) if trade_type == "NATIVE" else None)
    if not prepay.prepay_id or (trade_type == "NATIVE" and not prepay.code_url):
        raise PayGatewayError("WeChat Pay returned no prepay_id", err_code="BAD_RESPONSE")
    await Payment.filter(id=payment.id, prepay_id="").update(prepay_id=prepay.prepay_id, code_url=prepay.code_url)
    enqueue("payments.query", order.id, job_id=kr.key("job", f"payments.query:{payment.id}"),
            defer=timedelta(seconds=runtime.settings().wechat_pay_query_after_seconds))
    return await Payment.get(id=payment.id)


async def create_jsapi_payment(buyer_id: int, order_id: int, *, client_ip: str) -> JsapiParamsOut:
    """Prepay (JSAPI, the buyer's openid) and the wx.requestPayment parameters."""
    order, due = await _payable(order_id, buyer_id)
    user = await User.get(id=buyer_id).only("id", "openid")
    if not user.openid:
        raise Conflict("this account has no WeChat openid; pay at a station", code=PaymentCode.NO_OPENID)
    payment = await _prepay(order, due, "wechat_jsapi", "JSAPI", openid=user.openid, client_ip=client_ip,
                            actor_id=buyer_id)
    params = gateway().request_payment_params(payment.prepay_id)
    return JsapiParamsOut(order_id=order.id, out_trade_no=payment.out_trade_no, **params)


async def create_native_payment(order_id: int, *, actor_id: int | None, client_ip: str = "127.0.0.1") -> NativeOut:
    """Prepay (NATIVE): a code_url the villager scans at the station counter (代购)."""
    order, due = await _payable(order_id)
    payment = await _prepay(order, due, "wechat_native", "NATIVE", openid=None, client_ip=client_ip, actor_id=actor_id)
    return NativeOut(order_id=order.id, out_trade_no=payment.out_trade_no, code_url=payment.code_url,
                     total_fen=payment.amount_fen, expires_at=due.expires_at)


async def record_cash_payment(order_id: int, *, station_id: int, actor_id: int | None) -> PaymentOut:
    """Cash taken at a station counter: the order is paid and the station owes the cash (ledger)."""
    async with atomic() as conn:
        order = await Order.filter(id=order_id).using_db(conn).select_for_update().first()
        if order is None:
            raise NotFound("order not found")
        if order.source == presale.SOURCE:
            raise Conflict("a pre-sale order is paid with WeChat Pay", code=PresaleCode.PRESALE_CASH_NOT_ACCEPTED)
        if await Payment.filter(order_id=order_id, method="cash").using_db(conn).exists():
            raise Conflict("cash was already recorded for this order", code=PaymentCode.ALREADY_PAID)
        if order.status != S.PENDING_PAYMENT:
            raise Conflict(f"the order is {order.status}; it cannot be paid", code=KitCode.INVALID_TRANSITION)
        now = clock.now()
        try:
            payment = await Payment.create(order_id=order_id, method="cash", out_trade_no="CASH" + order.order_no,
                                           amount_fen=order.total_fen, status=P.PAID, station_id=station_id,
                                           actor_id=actor_id, paid_at=now, using_db=conn)
        except IntegrityError:
            raise Conflict("cash was already recorded for this order",
                           code=PaymentCode.ALREADY_PAID) from None
        await _mark_paid(order, payment, order.total_fen, actor_id, conn)
        await audit.record(actor_id, "payment.cash", "order", order_id,
                           {"station_id": station_id, "amount_fen": order.total_fen}, conn=conn)
    return PaymentOut.model_validate(payment)


async def _mark_paid(order: Order, payment: Payment, amount: int, actor_id: int | None, conn: Any) -> None:
    if order.source == presale.SOURCE:  # a deposit, a balance or a full pre-sale payment
        whole = await presale.apply_payment(order, payment, amount, actor_id, conn)
    else:
        await orders_service.transition(order.id, [S.PENDING_PAYMENT], S.PAID, conn=conn, actor_id=actor_id,
                                        paid_fen=amount, paid_at=payment.paid_at or clock.now(),
                                        payment_method=payment.method)
        await ledger.post_sale(order.id, conn)
        whole = True
    if whole:
        lines = await OrderLine.filter(order_id=order.id).using_db(conn).values_list("id", "quantity")
        await orders_service.count_sales(dict(lines), conn)  # behind the guarded transition above: once
        enqueue("fulfillment.handoff", order.id, job_id=kr.key("job", f"fulfillment.handoff:{order.id}"))
    # Any other open prepay order of this order (JSAPI vs NATIVE) is closed at WeChat.
    if await Payment.filter(order_id=order.id, status=P.CREATED, part=payment.part).exclude(
            id=payment.id).using_db(conn).exists():
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


def _notification_key(version: str, body: bytes) -> bytes:
    """v3 notifications are kept by their id (WeChat's retries of one event share it); v2 by the body."""
    if version == "v3":
        try:
            nid = orjson.loads(body).get("id")
        except (orjson.JSONDecodeError, AttributeError):
            nid = None
        if isinstance(nid, str) and nid:
            return b"wechatpay-v3:" + nid.encode()
    return body


async def _store_notification(kind: str, body: bytes, key: bytes | None = None) -> int:
    metrics.NOTIFICATIONS.labels(kind).inc()
    digest = hashlib.sha256(body if key is None else key).hexdigest()
    # PostgreSQL text holds no NUL character: a body with one is kept readable, not refused by the database.
    text = body.decode("utf-8", "replace").replace("\x00", "\ufffd")[:20000]
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


# WeChat's notifications are 1-3 KB; anything far bigger is not one, and is never stored.
NOTIFY_MAX_BYTES = 64 * 1024


def _seen_key(replay_key: str) -> str:
    return kr.key("wxpay", "seen", hashlib.sha256(replay_key.encode()).hexdigest())


async def _first_sight(replay_key: str) -> bool:
    """Replay protection (v3): the first copy of a signed message claims its nonce for twice the
    timestamp window (older copies fail the window check anyway)."""
    ttl = 2 * runtime.settings().wechat_pay_notify_max_skew_seconds + 60
    return bool(await kr.redis().set(_seen_key(replay_key), b"1", nx=True, ex=ttl))


async def _forget(replay_key: str) -> None:
    """Applying failed: WeChat's retry of the same message must be processed, not taken for a replay."""
    if replay_key:
        await kr.redis().delete(_seen_key(replay_key))


async def _receive(kind: str, version: str, body: bytes, headers: Mapping[str, str] | None):
    """Store the raw notification (keyed), verify it with the deployment's gateway, refuse replays.
    Returns (row id, gateway, notice) or (row id, gateway, the Reply to answer at once)."""
    gw = gateway()
    nid = await _store_notification(kind, body, _notification_key(version, body))
    if gw.version != version:
        await _note(nid, verified=False, outcome="rejected", error=f"this deployment speaks WeChat Pay {gw.version}")
        return nid, gw, gw.reply(False, f"WeChat Pay {version} is not in use", 404)
    parse = {"pay": gw.parse_payment, "refund": gw.parse_refund}.get(kind) or getattr(gw, "parse_transfer")
    try:
        notice = await parse(body, headers or {})
    except InvalidNotification as exc:
        await _note(nid, verified=False, outcome="rejected", error=str(exc))
        log.warning("%s notification rejected: %s", kind, exc)
        if kind == "pay":
            metrics.PAYMENTS_REJECTED.labels(metrics.reason_label(exc)).inc()
        return nid, gw, gw.reply(False, str(exc), exc.status)
    except PayGatewayError as exc:  # the platform certificates could not be fetched: WeChat retries
        await _note(nid, outcome="failed", error=exc.err_code)
        return nid, gw, gw.reply(False, "retry later", 503)
    if notice.replay_key and not await _first_sight(notice.replay_key):
        row = await PaymentNotification.get(id=nid)
        if row.outcome in ("received", "failed"):
            return nid, gw, gw.reply(False, "the same notification is being processed", 429)
        if row.outcome == "rejected":
            return nid, gw, gw.reply(False, row.error or "rejected", 400)
        return nid, gw, gw.reply(True)  # applied before: acknowledged, never applied again
    return nid, gw, notice


async def handle_pay_notification(body: bytes, headers: Mapping[str, str] | None = None,
                                  version: str = "v2") -> Reply:
    """The notify_url (v2 XML, v3 JSON): store raw, verify, apply once; answer as that version expects."""
    nid, gw, notice = await _receive("pay", version, body, headers)
    if isinstance(notice, Reply):
        return notice
    await _note(nid, verified=True, out_trade_no=notice.out_trade_no[:64], transaction_id=notice.transaction_id[:64])
    try:
        outcome = await apply_wechat_payment(notice.out_trade_no, notice.transaction_id, notice.amount_fen)
    except InvalidNotification as exc:
        await _note(nid, outcome="rejected", error=str(exc))
        metrics.PAYMENTS_REJECTED.labels(metrics.reason_label(exc)).inc()
        return gw.reply(False, str(exc), exc.status)
    except Exception as exc:  # noqa: BLE001 - answer FAIL so WeChat retries; the sweeper queries too
        log.exception("applying a payment failed")
        await _note(nid, outcome="failed", error=type(exc).__name__)
        await _forget(notice.replay_key)
        return gw.reply(False, "retry later", 500)
    await _note(nid, outcome=outcome)
    metrics.PAYMENTS.labels(outcome).inc()
    return gw.reply(True)


async def handle_refund_notification(body: bytes, headers: Mapping[str, str] | None = None,
                                     version: str = "v2") -> Reply:
    """The refund notify_url: verify and decrypt, apply the refund result once."""
    nid, gw, notice = await _receive("refund", version, body, headers)
    if isinstance(notice, Reply):
        return notice
    await _note(nid, verified=True, out_trade_no=notice.out_trade_no[:64],
                transaction_id=notice.transaction_id[:64], out_refund_no=notice.out_refund_no[:64])
    try:
        outcome = await refunds.complete(
            notice.out_refund_no, success=notice.status == "SUCCESS", refund_fee=notice.refund_fen,
            wechat_refund_id=notice.refund_id, error=f"WeChat refund {notice.wechat_status}")
    except Exception as exc:  # noqa: BLE001
        log.exception("applying a refund failed")
        await _note(nid, outcome="failed", error=type(exc).__name__)
        await _forget(notice.replay_key)
        return gw.reply(False, "retry later", 500)
    if outcome in ("unknown", "amount_mismatch"):
        await _note(nid, outcome="rejected", error=outcome)
        return gw.reply(False, outcome, 400)
    await _note(nid, outcome=outcome)
    return gw.reply(True)


async def handle_transfer_notification(body: bytes, headers: Mapping[str, str] | None = None) -> Reply:
    """The transfer notify_url (v3 商家转账 final states): verified, decrypted, stored once, and applied
    to its payout line (server/payouts); a transfer we never made, or another amount, is refused and
    moves nothing."""
    nid, gw, notice = await _receive("transfer", "v3", body, headers)
    if isinstance(notice, Reply):
        return notice
    await _note(nid, verified=True, out_trade_no=notice.out_bill_no[:64],
                transaction_id=notice.transfer_bill_no[:64], error=f"{notice.state} {notice.fail_reason}".strip())
    try:
        outcome = await payouts.apply_transfer_notice(notice.out_bill_no, notice.state, notice.amount_fen,
                                                      notice.fail_reason, notice.transfer_bill_no)
    except Exception as exc:  # noqa: BLE001 - answer FAIL so WeChat retries; the payout sweeper queries too
        log.exception("applying a transfer failed")
        await _note(nid, outcome="failed", error=type(exc).__name__)
        await _forget(notice.replay_key)
        return gw.reply(False, "retry later", 500)
    if outcome in ("unknown", "amount_mismatch"):
        await _note(nid, outcome="rejected", error=f"{outcome}: {notice.state} {notice.fail_reason}".strip())
        return gw.reply(False, outcome, 400)
    await _note(nid, outcome=outcome)
    return gw.reply(True)


# ---- jobs: query, close, refund --------------------------------------------------------------
async def sync_with_wechat(order_id: int) -> str:
    """Ask WeChat about the order's open prepay orders and apply a payment we missed: applied |
    duplicate | stray when one was found paid, else what the order's payments say (paid | unpaid)."""
    result = None
    for payment in await Payment.filter(order_id=order_id, status=P.CREATED).exclude(prepay_id=""):
        try:
            trade = await gateway().query(payment.out_trade_no)
        except PayGatewayError as exc:
            if exc.order_not_found:
                continue
            raise
        await Payment.filter(id=payment.id).update(last_queried_at=clock.now())
        if trade.state == "SUCCESS":
            result = await apply_wechat_payment(payment.out_trade_no, trade.transaction_id, trade.amount_fen)
    if result is None:  # nothing open was paid: a payment applied earlier (any way) still counts
        paid = await Payment.filter(order_id=order_id, status=P.PAID).exists()
        result = "paid" if paid else "unpaid"
    return result


async def close_open_payments(order_id: int) -> str:
    """Close the order's unpaid prepay orders at WeChat; 'later' when one is younger than 5 minutes."""
    order = await Order.get_or_none(id=order_id)
    if order is None:
        return "none"
    later = False
    open_payments = Payment.filter(order_id=order_id, status=P.CREATED)
    if order.status == S.DEPOSIT_PAID:  # the deposit's other prepay orders only: the balance is still due
        open_payments = open_payments.exclude(part="balance")
    for payment in await open_payments:
        if not payment.prepay_id:
            await Payment.filter(id=payment.id, status=P.CREATED).update(status=P.CLOSED, closed_at=clock.now())
            continue
        if clock.now() - payment.created_at < CLOSE_NOT_BEFORE:
            later = True
            continue
        try:
            await gateway().close(payment.out_trade_no)
        except PayGatewayError as exc:
            if exc.order_paid:  # paid after all: apply it (refunded if the order is gone)
                await sync_with_wechat(order_id)
                continue
            if not (exc.order_closed or exc.order_not_found):
                raise
        await Payment.filter(id=payment.id, status=P.CREATED).update(status=P.CLOSED, closed_at=clock.now())
    return "later" if later else "closed"


async def submit_refund(refund_id: int) -> str:
    """Send an approved refund to WeChat (same out_refund_no on every retry) or pay it back in cash."""
    refund = await Refund.get_or_none(id=refund_id)
    if refund is None or refund.status not in (RefundStatus.APPROVED, RefundStatus.PROCESSING):
        return "skip"
    if refund.kind == "order":
        # An order paid in parts (a pre-sale's deposit and balance) is refunded from each payment.
        parts = await refunds.payment_shares(refund.id)
        if parts:
            outcomes = [await submit_refund(pid) for pid in parts]
            return await refunds.parts_submitted(refund.id, outcomes)
        refund = await Refund.get(id=refund.id)  # its payment may have been chosen just now
    payment = await Payment.get_or_none(id=refund.payment_id) if refund.payment_id else None
    if payment is None or payment.method == "cash":
        # Cash goes back over the station counter; no payment at all means nothing was collected.
        return await refunds.complete(refund.refund_no, success=True, refund_fee=refund.amount_fen)
    try:
        resp = await gateway().refund(out_trade_no=payment.out_trade_no, out_refund_no=refund.refund_no,
                                      total_fen=payment.amount_fen, refund_fen=refund.amount_fen,
                                      notify_url=refund_notify_url())
    except PayGatewayError as exc:
        error = f"{exc.err_code or 'NO_CODE'}: {exc.message}"[:200]
        if exc.transient:  # WeChat may take it later: keep it approved, try again after a backoff
            attempts = refund.attempts + 1
            await Refund.filter(id=refund.id, status=RefundStatus.APPROVED).update(
                attempts=attempts, next_attempt_at=clock.now() + refund_backoff(attempts), error=error)
            log.warning("refund not taken by WeChat, retried later",
                        extra={"refund_id": refund.id, "attempts": attempts, "err": exc.err_code})
            return "retry"
        await Refund.filter(id=refund.id, status=RefundStatus.APPROVED).update(status=RefundStatus.FAILED, error=error)
        return "failed"
    await Refund.filter(id=refund.id, status=RefundStatus.APPROVED).update(
        status=RefundStatus.PROCESSING, submitted_at=clock.now(), next_attempt_at=None,
        wechat_refund_id=resp.refund_id[:64])
    return "submitted"


def refund_backoff(attempts: int) -> timedelta:
    """The wait before a refund's next submission after `attempts` that WeChat could not take."""
    s = runtime.settings()
    return timedelta(seconds=min(s.refund_retry_max_seconds, s.refund_retry_base_seconds * 2 ** (attempts - 1)))


async def refund_retry_delay(refund_id: int) -> timedelta | None:
    """How long until an approved refund's next submission is due (None: none is scheduled)."""
    refund = await Refund.get_or_none(id=refund_id).only("id", "status", "next_attempt_at")
    if refund is None or refund.status != RefundStatus.APPROVED or refund.next_attempt_at is None:
        return None
    return max(timedelta(0), refund.next_attempt_at - clock.now())


async def query_refund(refund_id: int) -> str:
    """refundquery for a refund whose notification did not come."""
    refund = await Refund.get_or_none(id=refund_id)
    if refund is None or refund.status != RefundStatus.PROCESSING:
        return "skip"
    if await Refund.filter(parent_id=refund.id).exists():  # WeChat knows its parts, each queried by itself
        return "parts"
    resp = await gateway().refund_query(refund.refund_no)
    if resp.status == "SUCCESS":
        return await refunds.complete(refund.refund_no, success=True, refund_fee=resp.refund_fen,
                                      wechat_refund_id=resp.refund_id)
    if resp.status in ("CLOSED", "ABNORMAL"):
        return await refunds.complete(refund.refund_no, success=False, refund_fee=None,
                                      error=f"WeChat {resp.wechat_status}")
    return "processing"


async def sweep() -> dict:
    """Re-find lost work: unqueried prepay orders, approved/processing refunds, due cancellations."""
    s = runtime.settings()
    now = clock.now()
    query_before = now - timedelta(seconds=s.wechat_pay_query_after_seconds)
    to_query = await (Payment.filter(status=P.CREATED, created_at__lt=query_before).exclude(prepay_id="")
                      # a pre-sale's balance prepay may stay open for days: asked about in its first hours
                      .filter(Q(order__status=S.PENDING_PAYMENT)
                              | Q(order__status=S.DEPOSIT_PAID, created_at__gte=now - timedelta(hours=2)))
                      .order_by("id").limit(200)
                      .values_list("order_id", flat=True))
    for oid in set(to_query):
        enqueue("payments.query", oid)
    # Approved refunds whose job was lost, and those whose retry is due while their job gave up (a
    # minute of slack leaves a due retry to the job's own deferred run).
    approved = await Refund.filter(
        Q(next_attempt_at__isnull=True, decided_at__lt=now - timedelta(minutes=2))
        | Q(next_attempt_at__lt=now - timedelta(minutes=1)), status=RefundStatus.APPROVED) \
        .order_by("id").limit(200).values_list("id", flat=True)
    for rid in approved:
        enqueue("payments.refund", rid, job_id=kr.key("job", f"payments.refund:{rid}:sweep:{int(now.timestamp()) // 60}"))
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
    return {"queried": synced, "ledger_broken": broken, "ledger_overall": await ledger.check_overall()}
