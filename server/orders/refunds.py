"""Refunds (退款): a buyer (or a station, for uncollected parcels) asks for some lines or the whole
order back. Before fulfilment the refund is approved automatically; after that the merchant (when
every line is theirs) or an admin decides. Approved refunds are sent to WeChat (refund.apply with our
out_refund_no = refund_no) or paid back in cash at the station; the refund notification (or a
refundquery) completes them exactly once: ledger reversals, refunded quantities, stock back when the
order had not reached the warehouse floor yet, and the order closed when everything was refunded."""
from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Any

from tortoise.expressions import F, Subquery

from server.kit import audit, clock, metrics
from server.kit import redis as kr
from server.kit.db import atomic, id_page, lock_rows
from server.kit.errors import Conflict, KitCode, NotFound, ValidationFailed
from server.kit.jobs import enqueue
from server.kit.schemas import Out, Page
from server.inventory import service as inventory
from server.ledger import service as ledger
from server.models.aftersales import AfterSale, CaseStatus
from server.models.audit import AuditLog
from server.models.inventory import StockReason
from server.models.orders import Order, OrderLine, OrderStatus
from server.models.payments import Payment, PaymentStatus, Refund, RefundStatus
from server.orders import service as orders_service
from server.notify import outbox as notify_outbox
from server.orders.errors import OrderCode
from server.promotions import service as promotions
from server.fulfillment import service as fulfillment_service
from server.fulfillment import unpick

log = logging.getLogger("kazuo.refunds")
S = OrderStatus
R = RefundStatus
CASE_HOLDS = (CaseStatus.REQUESTED, CaseStatus.REJECTED, CaseStatus.ESCALATED, CaseStatus.AWAITING_RETURN,
              CaseStatus.RETURNING)
REFUNDABLE = (S.PAID, S.IN_FULFILMENT, S.READY_FOR_PICKUP, S.OUT_FOR_DELIVERY, S.DELIVERED, S.COMPLETED)


class RefundLineOut(Out):
    line_id: int
    qty: int
    amount: int


class RefundOut(Out):
    id: int
    refund_no: str
    order_id: int
    kind: str
    amount_fen: int
    lines: list[RefundLineOut]
    status: str
    reason: str
    auto_approved: bool
    restock: bool
    requested_by: int | None
    decided_by: int | None
    error: str
    created_at: datetime
    succeeded_at: datetime | None
    attempts: int
    next_attempt_at: datetime | None
    settled_via: str
    settle_note: str
    shipping_fen: int = 0


def refund_out(r: Refund) -> RefundOut:
    return RefundOut(id=r.id, refund_no=r.refund_no, order_id=r.order_id, kind=r.kind, amount_fen=r.amount_fen,
                     lines=[RefundLineOut(**x) for x in r.lines], status=r.status, reason=r.reason,
                     auto_approved=r.auto_approved, restock=r.restock, requested_by=r.requested_by,
                     decided_by=r.decided_by, error=r.error, created_at=r.created_at, succeeded_at=r.succeeded_at,
                     attempts=r.attempts, next_attempt_at=r.next_attempt_at, settled_via=r.settled_via,
                     settle_note=r.settle_note, shipping_fen=r.shipping_fen)


def new_refund_no() -> str:
    return f"RF{clock.now():%y%m%d%H%M%S}{secrets.randbelow(10**10):010d}"


async def _paid_payment(order_id: int, conn: Any) -> Payment | None:
    return await Payment.filter(order_id=order_id, status=PaymentStatus.PAID).using_db(conn).first()


async def open_refund_qty(order_id: int, conn: Any, statuses: tuple[str, ...] = R.OPEN) -> dict[int, int]:
    """{order_line_id: units} in the order's refunds with these statuses (by default every one not
    settled yet: asked for, approved or submitted)."""
    pending: dict[int, int] = {}
    for r in await Refund.filter(order_id=order_id, kind="order", status__in=statuses).using_db(conn):
        for item in r.lines:
            pending[item["line_id"]] = pending.get(item["line_id"], 0) + item["qty"]
    return pending


async def shipping_refunded(order_id: int, conn: Any) -> int:
    """The freight that refunds of the order already took or are taking (not rejected, not failed)."""
    return sum(await Refund.filter(order_id=order_id).exclude(status__in=(R.REJECTED, R.FAILED)).using_db(conn)
               .values_list("shipping_fen", flat=True))


async def freight_left(order: Order, merchant_id: int | None, conn: Any) -> int:
    """The order's freight not taken by a refund yet (not rejected, not failed); with merchant_id, only
    that merchant's part of it (its shipping_split share less what refunds of its lines alone took: a
    refund across merchants is the order's last, after which no unit is left). An order without a
    split (before freight was priced per merchant) counts its freight as one share."""
    left = order.shipping_fen - await shipping_refunded(order.id, conn)
    if merchant_id is None or not order.shipping_split:
        return max(0, left)
    share = sum(p["fen"] for p in order.shipping_split if p["merchant_id"] == merchant_id)
    mine = set(await OrderLine.filter(order_id=order.id, merchant_id=merchant_id).using_db(conn)
               .values_list("id", flat=True))
    taken = sum(r.shipping_fen for r in await Refund.filter(order_id=order.id, shipping_fen__gt=0)
                .exclude(status__in=(R.REJECTED, R.FAILED)).using_db(conn)
                if r.lines and {x["line_id"] for x in r.lines} <= mine)
    return max(0, min(left, share - taken))


def refund_amount(line: OrderLine, pending_qty: int, qty: int) -> int:
    """What `qty` more units of a line give back: its paid amount (amount - coupon savings) pro-rated
    by units with cumulative rounding, so the units refunded in any number of parts sum to exactly
    what was paid for the line (without coupons: qty * unit price)."""
    paid = line.amount - line.discount_fen
    done = line.refunded_qty + pending_qty

    def upto(units: int) -> int:
        return paid * units // line.quantity

    return upto(done + qty) - upto(done)


async def _approved(refund: Refund, order: Order, conn: Any) -> None:
    """A refund was just approved (inside that transaction): while the warehouse holds the order, its
    units come off the task now — unpicked ones back on the shelf, picked ones listed for the
    un-pick, the refund waiting (unpicking) until they are back; then it is sent."""
    if order.status != S.PAID:
        held = await unpick.hold_for_refund(order.id, refund.lines, refund.id, conn)
        if held is not None:
            await Refund.filter(id=refund.id).using_db(conn).update(
                stock_held=True, **({"status": R.UNPICKING} if held else {}))
            if held:
                await audit.record(None, "refund.unpicking", "order", order.id,
                                   {"refund_id": refund.id, "units": held}, conn=conn)
                return
    enqueue("payments.refund", refund.id, job_id=kr.key("job", f"payments.refund:{refund.id}"))


async def proceed_after_unpick(refund_id: int, conn: Any) -> bool:
    """The warehouse put the last of a refund's picked units back: it goes to WeChat now."""
    n = await Refund.filter(id=refund_id, status=R.UNPICKING).using_db(conn).update(status=R.APPROVED)
    if n:
        enqueue("payments.refund", refund_id, job_id=kr.key("job", f"payments.refund:{refund_id}"))
    return bool(n)


async def _all_unpicked(order: Order, wanted: dict[int, int], conn: Any) -> bool:
    """Whether every wanted unit is still unpicked on the order's open warehouse task."""
    if order.status != S.IN_FULFILMENT:
        return False
    free = await unpick.unpicked_units(order.id, conn)
    return free is not None and all(free.get(lid, 0) >= q for lid, q in wanted.items())


async def create_refund(order_id: int, *, lines: dict[int, int] | None, reason: str,
                        requested_by: int | None, auto_approve: bool, shipping_fen: int | None = None) -> RefundOut:
    """Ask for a refund of {order_line_id: qty} (None = everything not yet refunded) of a paid order;
    shipping_fen: freight refunded with it (at most what was charged and not refunded yet); None: the
    order's freight goes back with the refund that leaves no unit unrefunded, else none. Before
    picking it is approved at once, whether or not the warehouse task exists."""
    async with atomic() as conn:
        orders = await lock_rows(Order, [order_id], conn)
        if not orders:
            raise NotFound("order not found")
        order = orders[0]
        if order.status not in REFUNDABLE:
            raise Conflict(f"the order is {order.status}; it cannot be refunded",
                           code=OrderCode.NOT_REFUNDABLE)
        order_lines = {x.id: x for x in await OrderLine.filter(order_id=order_id).using_db(conn)}
        pending = await open_refund_qty(order_id, conn)
        # units an open after-sales case holds (#25) are not refunded a second time this way; a case
        # makes its own refund once it is refunding, so it no longer holds them then
        for case_lines in await AfterSale.filter(order_id=order_id, status__in=CASE_HOLDS).using_db(conn) \
                .values_list("lines", flat=True):
            for x in case_lines:
                pending[x["line_id"]] = pending.get(x["line_id"], 0) + x["qty"]

        def left(line: OrderLine) -> int:
            return line.quantity - line.refunded_qty - pending.get(line.id, 0)

        if lines is None:
            wanted = {lid: left(x) for lid, x in order_lines.items() if left(x) > 0}
        else:
            wanted = {}
            for lid, qty in lines.items():
                line = order_lines.get(lid)
                if line is None:
                    raise ValidationFailed.field(f"lines.{lid}", "no such line in this order")
                if not isinstance(qty, int) or qty < 1:
                    raise ValidationFailed.field(f"lines.{lid}", "the quantity must be at least 1")
                if qty > left(line):
                    raise ValidationFailed.field(f"lines.{lid}", f"at most {left(line)} can still be refunded")
                wanted[lid] = qty
        if not wanted:
            raise Conflict("nothing left to refund", code=OrderCode.NOTHING_TO_REFUND)
        items = [{"line_id": lid, "qty": q, "amount": refund_amount(order_lines[lid], pending.get(lid, 0), q)}
                 for lid, q in sorted(wanted.items())]
        goods = sum(i["amount"] for i in items)
        if shipping_fen is None:
            # Freight goes back with the refund that leaves no unit of the order unrefunded (the whole
            # order, issue #25); after-sales passes its own amount (a partial case at the merchant's fault).
            whole = all(wanted.get(lid, 0) == left(x) for lid, x in order_lines.items())
            shipping_fen = max(0, order.shipping_fen - await shipping_refunded(order_id, conn)) if whole else 0
        if shipping_fen < 0 or order.refunded_fen + goods + shipping_fen > order.paid_fen:
            raise ValidationFailed.field("shipping_fen", "more than was paid and not refunded yet")
        # before picking (handed to the warehouse or not): approved at once
        auto = auto_approve or order.status == S.PAID or await _all_unpicked(order, wanted, conn)
        payment = await _paid_payment(order_id, conn)
        refund = await Refund.create(
            refund_no=new_refund_no(), order_id=order_id, payment_id=payment.id if payment else None, kind="order",
            amount_fen=goods + shipping_fen, shipping_fen=shipping_fen, lines=items,
            status=R.APPROVED if auto else R.REQUESTED, reason=reason[:200], requested_by=requested_by,
            auto_approved=auto, decided_at=clock.now() if auto else None, using_db=conn)
        await audit.record(requested_by, "refund.request", "order", order_id,
                           {"refund_id": refund.id, "amount_fen": refund.amount_fen, "auto": auto}, conn=conn)
        if auto:
            await _approved(refund, order, conn)
        refund = await Refund.get(id=refund.id, using_db=conn)
    return refund_out(refund)


async def payment_shares(refund_id: int) -> list[int]:
    """Split an order refund across the order's payments (WeChat refunds each payment by itself, up to
    its amount): the latest payment first (a pre-sale's balance before its deposit). Returns the ids of
    the part refunds (kind part) when it spans several payments, made once and reused on every retry;
    [] when one payment takes it all (refund.payment_id is then that payment, as before)."""
    async with atomic() as conn:
        rows = await lock_rows(Refund, [refund_id], conn)
        if not rows or rows[0].kind != "order":
            return []
        refund = rows[0]
        parts = await Refund.filter(parent_id=refund.id).using_db(conn).order_by("id")
        if parts:
            if refund.status == R.APPROVED:  # the office retries a failed refund: its failed parts go again
                await Refund.filter(parent_id=refund.id, status=R.FAILED).using_db(conn).update(
                    status=R.APPROVED, attempts=0, next_attempt_at=None, error="")
            return [x.id for x in parts]
        await lock_rows(Order, [refund.order_id], conn)  # one split at a time per order
        payments = await Payment.filter(order_id=refund.order_id, status=PaymentStatus.PAID).using_db(conn) \
            .order_by("-id")
        if len(payments) <= 1:
            return []
        taken: dict[int, int] = {}
        for pid, amount in await Refund.filter(
                payment_id__in=[p.id for p in payments], status__in=[R.APPROVED, R.PROCESSING, R.SUCCEEDED]) \
                .exclude(id=refund.id).using_db(conn).values_list("payment_id", "amount_fen"):
            taken[pid] = taken.get(pid, 0) + amount
        left, shares = refund.amount_fen, []
        for p in payments:
            take = min(left, p.amount_fen - taken.get(p.id, 0))
            if take > 0:
                shares.append((p.id, take))
                left -= take
        if left > 0 or len(shares) <= 1:
            if shares and shares[0][0] != refund.payment_id:
                await Refund.filter(id=refund.id).using_db(conn).update(payment_id=shares[0][0])
            return []
        now = clock.now()
        ids = []
        for pid, amount in shares:
            part = await Refund.create(refund_no=new_refund_no(), order_id=refund.order_id, payment_id=pid,
                                       kind="part", parent_id=refund.id, amount_fen=amount, lines=[],
                                       status=R.APPROVED, reason=refund.reason, requested_by=refund.requested_by,
                                       auto_approved=True, decided_at=now, using_db=conn)
            ids.append(part.id)
        await Refund.filter(id=refund.id).using_db(conn).update(payment_id=None)
        await audit.record(None, "refund.split", "order", refund.order_id,
                           {"refund_id": refund.id, "parts": [{"payment_id": p, "amount_fen": a} for p, a in shares]},
                           conn=conn)
    return ids


async def parts_submitted(refund_id: int, outcomes: list[str]) -> str:
    """After its parts were submitted: the order refund is processing (it succeeds when every part
    has), or failed when WeChat refused a part for good."""
    if "failed" in outcomes:
        await Refund.filter(id=refund_id, status__in=[R.APPROVED, R.PROCESSING]).update(
            status=R.FAILED, error="a part of this refund was refused by WeChat")
        return "failed"
    await Refund.filter(id=refund_id, status=R.APPROVED).update(status=R.PROCESSING, submitted_at=clock.now(),
                                                                next_attempt_at=None)
    return "split"


async def create_stray_refund(payment: Payment, total_fee: int, conn: Any) -> Refund:
    """A payment that arrived for an order that cannot take it (cancelled, or paid another way) is
    recorded and refunded in full, automatically (no stock is revived: see README)."""
    refund = await Refund.create(
        refund_no=new_refund_no(), order_id=payment.order_id, payment_id=payment.id, kind="stray",
        amount_fen=total_fee, lines=[], status=R.APPROVED, reason="payment after the order was closed",
        auto_approved=True, decided_at=clock.now(), using_db=conn)
    await audit.record(None, "refund.stray", "order", payment.order_id,
                       {"refund_id": refund.id, "payment_id": payment.id, "amount_fen": total_fee}, conn=conn)
    enqueue("payments.refund", refund.id, job_id=kr.key("job", f"payments.refund:{refund.id}"))
    return refund


async def decide(refund_id: int, *, approve: bool, actor_id: int, merchant_ids: frozenset[int] | None,
                 note: str = "") -> RefundOut:
    """Approve or reject a requested refund: an admin (merchant_ids=None) or the merchant whose lines these are."""
    async with atomic() as conn:
        rows = await lock_rows(Refund, [refund_id], conn)
        if not rows:
            raise NotFound("refund not found")
        refund = rows[0]
        if merchant_ids is not None:
            mids = set(await OrderLine.filter(id__in=[i["line_id"] for i in refund.lines]).using_db(conn)
                       .values_list("merchant_id", flat=True))
            if not mids or not mids <= set(merchant_ids):
                raise NotFound("refund not found")
        new = R.APPROVED if approve else R.REJECTED
        n = await Refund.filter(id=refund_id, status=R.REQUESTED).using_db(conn).update(
            status=new, decided_by=actor_id, decided_at=clock.now(), error=note[:200] if not approve else "")
        if n == 0:
            raise Conflict(f"the refund is {refund.status}", code=KitCode.INVALID_TRANSITION)
        await audit.record(actor_id, "refund.approve" if approve else "refund.reject", "order", refund.order_id,
                           {"refund_id": refund_id, "note": note[:200]}, conn=conn)
        if approve:
            order = (await lock_rows(Order, [refund.order_id], conn))[0]
            await _approved(refund, order, conn)
        else:
            await notify_outbox.refund_outcome(refund_id, "rejected", conn)  # the buyer hears why (#29)
        refund = await Refund.get(id=refund_id, using_db=conn)
    return refund_out(refund)


# How the office may record that a failed refund was paid back outside WeChat Pay.
SETTLE_METHODS = ("cash", "bank", "other")


async def _check_still_refundable(refund: Refund, conn: Any) -> None:
    """A failed refund holds no units (open_refund_qty leaves it out): before it is revived, make sure
    no later refund took the same units meanwhile."""
    if refund.kind != "order":
        return
    await lock_rows(Order, [refund.order_id], conn)
    lines = {x.id: x for x in await OrderLine.filter(order_id=refund.order_id).using_db(conn)}
    pending = await open_refund_qty(refund.order_id, conn)
    for item in refund.lines:
        line = lines[item["line_id"]]
        if line.quantity - line.refunded_qty - pending.get(line.id, 0) < item["qty"]:
            raise Conflict("these units were refunded by another refund since",
                           code=OrderCode.REFUND_SUPERSEDED,
                           details={"line_id": line.id})


async def retry_failed(refund_id: int, *, actor_id: int) -> RefundOut:
    """The office sends a failed refund to WeChat again (approved, then submitted as usual). Asked again
    after that, it answers the refund as it is; a refund that never failed is a 409."""
    async with atomic() as conn:
        rows = await lock_rows(Refund, [refund_id], conn)
        if not rows:
            raise NotFound("refund not found")
        refund = rows[0]
        if refund.status in (R.APPROVED, R.PROCESSING, R.SUCCEEDED) and not refund.settled_via and \
                await AuditLog.filter(action="refund.retry", object_type="refund",
                                      object_id=str(refund_id)).using_db(conn).exists():
            return refund_out(refund)  # a repeated request: the retry is under way (or went through)
        if refund.status != R.FAILED:
            raise Conflict(f"the refund is {refund.status}; only a failed refund can be retried",
                           code=KitCode.INVALID_TRANSITION)
        await _check_still_refundable(refund, conn)
        await Refund.filter(id=refund_id, status=R.FAILED).using_db(conn).update(
            status=R.APPROVED, attempts=0, next_attempt_at=None, decided_at=clock.now())
        await audit.record(actor_id, "refund.retry", "refund", refund_id,
                           {"order_id": refund.order_id, "previous_error": refund.error}, conn=conn)
        enqueue("payments.refund", refund_id, job_id=kr.key("job", f"payments.refund:{refund_id}:retry:{clock.timestamp():.0f}"))
        refund = await Refund.get(id=refund_id, using_db=conn)
    return refund_out(refund)


async def settle_elsewhere(refund_id: int, *, method: str, note: str, actor_id: int) -> RefundOut:
    """The office records that a failed refund was paid back another way (cash, bank transfer): the
    refund succeeds with every consequence of a WeChat refund (ledger reversals, quantities, stock,
    order closed). Asked again with the same method, it answers the refund as it is."""
    if method not in SETTLE_METHODS:
        raise ValidationFailed.field("method", "one of " + ", ".join(SETTLE_METHODS))
    async with atomic() as conn:
        rows = await lock_rows(Refund, [refund_id], conn)
        if not rows:
            raise NotFound("refund not found")
        refund = rows[0]
        if refund.status == R.SUCCEEDED and refund.settled_via == method:
            return refund_out(refund)  # a repeated request
        if refund.status != R.FAILED:
            raise Conflict(f"the refund is {refund.status}; only a failed refund can be settled another way",
                           code=KitCode.INVALID_TRANSITION)
        if await Refund.filter(parent_id=refund.id, status=R.SUCCEEDED).using_db(conn).exists():
            # Some of it already went back through WeChat: retry the rest there instead.
            raise Conflict("a part of this refund was already paid back through WeChat Pay; retry it instead",
                           code=KitCode.INVALID_TRANSITION)
        await _check_still_refundable(refund, conn)
        await Refund.filter(id=refund_id, status=R.FAILED).using_db(conn).update(
            status=R.SUCCEEDED, succeeded_at=clock.now(), settled_via=method, settle_note=note[:200],
            next_attempt_at=None)
        await audit.record(actor_id, "refund.settled_elsewhere", "refund", refund_id,
                           {"order_id": refund.order_id, "method": method, "note": note[:200],
                            "amount_fen": refund.amount_fen, "previous_error": refund.error}, conn=conn)
        await _apply_success(refund, conn)
        refund = await Refund.get(id=refund_id, using_db=conn)
    return refund_out(refund)


async def complete(refund_no: str, *, success: bool, refund_fee: int | None, wechat_refund_id: str = "",
                   error: str = "") -> str:
    """Apply WeChat's (or the counter's) result of a refund exactly once; returns the outcome."""
    outcome = await _complete(refund_no, success=success, refund_fee=refund_fee,
                              wechat_refund_id=wechat_refund_id, error=error)
    metrics.REFUNDS.labels(outcome).inc()
    return outcome


async def _complete(refund_no: str, *, success: bool, refund_fee: int | None, wechat_refund_id: str,
                    error: str) -> str:
    async with atomic() as conn:
        refund = await Refund.filter(refund_no=refund_no).using_db(conn).select_for_update().first()
        if refund is None:
            return "unknown"
        if refund_fee is not None and refund_fee != refund.amount_fen:
            log.error("refund amount mismatch", extra={"refund_no": refund_no, "fee": refund_fee})
            return "amount_mismatch"
        if not success:
            n = await Refund.filter(id=refund.id, status__in=[R.APPROVED, R.PROCESSING]).using_db(conn).update(
                status=R.FAILED, error=error[:200] or "refund failed")
            if n and refund.kind == "part":  # the order refund it belongs to failed with it
                await Refund.filter(id=refund.parent_id, status__in=[R.APPROVED, R.PROCESSING]).using_db(conn) \
                    .update(status=R.FAILED, error=f"part {refund.refund_no}: {error}"[:200])
                await notify_outbox.refund_outcome(refund.parent_id, "failed", conn)
            elif n:
                await notify_outbox.refund_outcome(refund.id, "failed", conn)
            return "failed" if n else "duplicate"
        n = await Refund.filter(id=refund.id, status__in=[R.APPROVED, R.PROCESSING]).using_db(conn).update(
            status=R.SUCCEEDED, succeeded_at=clock.now(), wechat_refund_id=wechat_refund_id[:64],
            next_attempt_at=None)
        if n == 0:
            return "duplicate"
        await _apply_success(refund, conn)
        if refund.kind != "part":  # a part is told with its order refund, when the last part succeeds
            await notify_outbox.refund_outcome(refund.id, "succeeded", conn)
    return "applied"


async def _apply_success(refund: Refund, conn: Any) -> None:
    """What a succeeded refund changes (inside the transaction that marked it succeeded): ledger
    reversals, refunded quantities, stock back or the warehouse task shrunk, the order closed when
    everything was refunded. A stray refund changes nothing else: its payment never reached the ledger.
    A part (one payment's share) completes its order refund when it is the last part to succeed; a
    pre-sale deposit given back reverses the deposit's hold."""
    if refund.kind == "part":
        await _part_succeeded(refund, conn)
        return
    if refund.kind == "deposit":
        await ledger.post_presale_deposit_refund(refund.id, refund.order_id, refund.amount_fen, conn)
        await Order.filter(id=refund.order_id).using_db(conn).update(
            refunded_fen=F("refunded_fen") + refund.amount_fen, updated_at=clock.now())
        await audit.record(None, "refund.succeeded", "order", refund.order_id,
                           {"refund_id": refund.id, "amount_fen": refund.amount_fen, "kind": "deposit"}, conn=conn)
        return
    if refund.kind != "order":
        return
    # The order row lock orders us against the warehouse hand-off (PAID -> IN_FULFILMENT).
    order = (await lock_rows(Order, [refund.order_id], conn))[0]
    await ledger.post_refund(refund.id, order.id, refund.lines, conn, shipping_fen=refund.shipping_fen)
    for item in refund.lines:
        await OrderLine.filter(id=item["line_id"]).using_db(conn).update(
            refunded_qty=F("refunded_qty") + item["qty"], refunded_fen=F("refunded_fen") + item["amount"])
    await Order.filter(id=order.id).using_db(conn).update(refunded_fen=F("refunded_fen") + refund.amount_fen,
                                                          updated_at=clock.now())
    refunded: dict[int, int] = {}
    for item in refund.lines:
        refunded[item["line_id"]] = refunded.get(item["line_id"], 0) + item["qty"]
    await orders_service.count_sales(refunded, conn, sign=-1)  # behind the succeeded guard: once
    if refund.stock_held:
        pass  # the warehouse task gave its units back when the refund was approved (_approved)
    elif order.status == S.PAID:  # never handed to the warehouse: the goods are still on the shelf
        skus = dict(await OrderLine.filter(id__in=[i["line_id"] for i in refund.lines]).using_db(conn)
                    .values_list("id", "sku_id"))
        await inventory.release(conn, [inventory.Move(skus[i["line_id"]], i["qty"], "refund", refund.id)
                                       for i in refund.lines], StockReason.REFUND)
        await Refund.filter(id=refund.id).using_db(conn).update(restock=True)
    else:  # handed to the warehouse (a delivery order is out for delivery with its first parcel):
        # what is not picked yet stays there
        await fulfillment_service.shrink_for_refund(order.id, refund.lines, conn, refund.id)
    if order.refunded_fen + refund.amount_fen >= order.paid_fen:
        await orders_service.transition(order.id, REFUNDABLE, S.CLOSED, conn=conn,
                                        completed_at=clock.now())
        if order.discount_fen:  # fully refunded: coupons that allow it go back to the buyer
            await promotions.release_for_order(conn, order.id, "refund", refund=True)
    await audit.record(None, "refund.succeeded", "order", order.id,
                       {"refund_id": refund.id, "amount_fen": refund.amount_fen}, conn=conn)


async def _part_succeeded(part: Refund, conn: Any) -> None:
    """The order refund succeeds (with every consequence) once all its parts have."""
    parent = (await lock_rows(Refund, [part.parent_id], conn))[0]
    if await Refund.filter(parent_id=parent.id).exclude(status=R.SUCCEEDED).using_db(conn).exists():
        return
    n = await Refund.filter(id=parent.id, status__in=[R.APPROVED, R.PROCESSING, R.FAILED]).using_db(conn).update(
        status=R.SUCCEEDED, succeeded_at=clock.now(), next_attempt_at=None, error="")
    if n:
        await _apply_success(parent, conn)
        await notify_outbox.refund_outcome(parent.id, "succeeded", conn)


async def get_refund(refund_id: int) -> RefundOut:
    r = await Refund.get_or_none(id=refund_id)
    if r is None:
        raise NotFound("refund not found")
    return refund_out(r)


async def list_refunds(status: str, cursor: str | None, limit: int) -> Page[RefundOut]:
    """Refunds in a state, oldest first (requested: the ones waiting for a decision)."""
    rows, next_cursor = await id_page(Refund.filter(status=status), cursor, limit)
    return Page[RefundOut](items=[refund_out(r) for r in rows], next_cursor=next_cursor)


async def count_waiting() -> int:
    """Refunds waiting for a decision (the merchant's or the office's)."""
    return await Refund.filter(status=RefundStatus.REQUESTED).count()


async def order_refunds(order_id: int, *, buyer_view: bool = False) -> list[RefundOut]:
    """An order's refunds; the buyer's view leaves out the parts of a refund split across payments
    (kind part: the buyer asked for one refund and sees that one, with its amount and outcome)."""
    qs = Refund.filter(order_id=order_id)
    if buyer_view:
        qs = qs.exclude(kind="part")
    return [refund_out(r) for r in await qs.order_by("id")]


async def merchant_refunds(merchant_ids: frozenset[int] | set[int], status: str | None = None,
                           order_id: int | None = None, limit: int = 100) -> list[RefundOut]:
    """Refunds whose every line is one of the merchant's (those the merchant may decide and see),
    newest first; a refund that also covers another merchant's lines is the office's, not shown."""
    mids = sorted(set(merchant_ids))
    if not mids:
        return []
    mine = OrderLine.filter(merchant_id__in=mids)
    if order_id is not None:
        mine = mine.filter(order_id=order_id)
    qs = Refund.filter(order_id__in=Subquery(mine.values("order_id")), kind="order")
    if status:
        qs = qs.filter(status=status)
    if order_id is not None:
        qs = qs.filter(order_id=order_id)
    rows = await qs.order_by("-id").limit(limit)
    line_ids = {int(x["line_id"]) for r in rows for x in r.lines}
    owned = set(await OrderLine.filter(id__in=line_ids, merchant_id__in=mids).values_list("id", flat=True)) \
        if line_ids else set()
    return [refund_out(r) for r in rows if r.lines and all(int(x["line_id"]) in owned for x in r.lines)]


async def my_refund_request(buyer_id: int, order_id: int, lines: dict[int, int] | None, reason: str) -> RefundOut:
    """The buyer asks for a refund of their order (anyone else's order is a 404)."""
    if not await Order.filter(id=order_id, buyer_id=buyer_id).exists():
        raise NotFound("order not found")
    return await create_refund(order_id, lines=lines, reason=reason, requested_by=buyer_id, auto_approve=False)
