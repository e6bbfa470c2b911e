"""Pre-sale (预售) for the harvest: the offers, the checkout source, the two payments and the deadline.

An offer (one SKU) is proposed by its merchant and approved by the office. A buyer checks out with
`source={"kind": "presale", "offer_id": N, "mode": "full"|"deposit"}` (POST /api/v1/orders): the
resolver below runs inside the checkout transaction, prices the line at the offer's price, and its
after_write records the order's terms (PresaleOrder) and the ship-from date on the order
(Order.ship_not_before: the warehouse hand-off waits for it, server/fulfillment). Stock is reserved
at checkout as for any order, so what is promised never exceeds what the merchant put up.

Mode full: one payment of the whole order. Mode deposit: the first payment is the deposit (定金); the
order becomes deposit_paid and the platform holds the deposit in the ledger (kind presale_deposit);
the balance (尾款) is paid within the offer's balance window as a second payment (its out_trade_no
ends with "B"); then the hold is released and the sale is posted as for any order. A balance not paid
by the deadline cancels the order (expire_due_balances, a cron job): stock back through
server/inventory, and the deposit kept for the merchant or refunded, per
KAZUO_PRESALE_REFUND_DEPOSIT_ON_DEFAULT. The payments service calls due() and apply_payment(); this
module never calls it back."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable

from tortoise.expressions import Q, Subquery

from server.inventory import service as inventory
from server.kit import audit, clock, runtime
from server.kit import redis as kr
from server.kit.db import atomic, lock_rows
from server.kit.errors import Conflict, NotFound, ValidationFailed
from server.kit.jobs import enqueue
from server.ledger import service as ledger
from server.models.catalog import Product, Sku
from server.models.inventory import StockReason
from server.models.notify import NotifyOutbox
from server.models.orders import Order, OrderLine, OrderStatus
from server.models.payments import Payment, PaymentStatus, Refund, RefundStatus
from server.models.presale import PresaleOffer, PresaleOfferStatus, PresaleOrder
from server.notify import outbox  # the balance reminder (尾款提醒)
from server.orders import hooks
from server.orders import service as orders_service
from server.orders.refunds import new_refund_no
from server.presale.errors import PresaleCode
from server.presale.schemas import OfferIn, OfferOut, PresaleOrderOut

log = logging.getLogger("kazuo.presale")
SOURCE = "presale"
S = OrderStatus
O = PresaleOfferStatus


@dataclass(frozen=True)
class Due:
    """What a payment of the order collects now: the part (""/deposit/balance), its amount and until when."""
    part: str
    amount_fen: int
    expires_at: datetime | None


# ---- offers (the merchant proposes, the office approves) ------------------------------------------
def arrives_by(ship_from: datetime) -> datetime:
    """The delivery promise of a pre-sale: it follows the ship-from date (county -> village hours)."""
    return ship_from + timedelta(hours=runtime.settings().fulfillment_county_village_hours)


def _offer_out(o: PresaleOffer, names: dict | None = None) -> OfferOut:
    now = clock.now()
    name, spec = (names or {}).get(o.sku_id, ("", ""))
    return OfferOut(id=o.id, merchant_id=o.merchant_id, product_id=o.product_id, sku_id=o.sku_id, mode=o.mode,
                    price_fen=o.price_fen, deposit_fen=o.deposit_fen,
                    balance_fen=o.price_fen - o.deposit_fen if o.mode == "deposit" else 0,
                    starts_at=o.starts_at, ends_at=o.ends_at, balance_starts_at=o.balance_starts_at,
                    balance_ends_at=o.balance_ends_at, ship_from=o.ship_from, arrives_by=arrives_by(o.ship_from),
                    status=o.status, note=o.note,
                    review_note=o.review_note, reviewed_at=o.reviewed_at, created_at=o.created_at,
                    product_name=name, sku_spec=spec,
                    open_now=o.status == O.APPROVED and o.starts_at <= now < o.ends_at)


async def _outs(offers: list[PresaleOffer]) -> list[OfferOut]:
    names = {}
    if offers:
        for r in await Sku.filter(id__in={o.sku_id for o in offers}).values("id", "spec", "product__name"):
            names[r["id"]] = (r["product__name"], r["spec"])
    return [_offer_out(o, names) for o in offers]


def _check_offer(body: OfferIn, sku_price: int) -> None:
    """The offer's numbers and windows make sense (422 naming the field)."""
    aware = [body.starts_at, body.ends_at, body.ship_from, body.balance_starts_at, body.balance_ends_at]
    if any(t is not None and t.tzinfo is None for t in aware):
        raise ValidationFailed.field("starts_at", "times need a time zone (e.g. +08:00)")
    if body.ends_at <= body.starts_at:
        raise ValidationFailed.field("ends_at", "must be after starts_at")
    if body.price_fen > sku_price:
        raise ValidationFailed.field("price_fen", f"at most the SKU's price ({sku_price} fen)")
    if body.mode == "full":
        if body.deposit_fen or body.balance_starts_at or body.balance_ends_at:
            raise ValidationFailed.field("deposit_fen", "a full-payment pre-sale has no deposit or balance window")
        if body.ship_from < body.starts_at:
            raise ValidationFailed.field("ship_from", "must not be before starts_at")
        return
    max_pct = runtime.settings().presale_deposit_max_percent
    if not 1 <= body.deposit_fen < body.price_fen or body.deposit_fen * 100 > body.price_fen * max_pct:
        raise ValidationFailed.field("deposit_fen", f"at least 1 fen, below the price and at most {max_pct}% of it")
    if body.balance_starts_at is None:
        raise ValidationFailed.field("balance_starts_at", "required for a deposit pre-sale")
    if body.balance_ends_at is None:
        raise ValidationFailed.field("balance_ends_at", "required for a deposit pre-sale")
    if body.balance_starts_at < body.starts_at:
        raise ValidationFailed.field("balance_starts_at", "must not be before starts_at")
    if body.balance_ends_at <= body.balance_starts_at or body.balance_ends_at < body.ends_at:
        raise ValidationFailed.field("balance_ends_at", "must be after balance_starts_at and not before ends_at")
    if body.ship_from < body.balance_ends_at:
        raise ValidationFailed.field("ship_from", "must not be before the balance deadline")


async def create_offer(merchant_ids: Iterable[int], body: OfferIn, *, actor_id: int) -> OfferOut:
    """The merchant proposes a pre-sale of one of their SKUs; it waits for the office's approval."""
    mids = set(merchant_ids)
    sku = await Sku.filter(id=body.sku_id).select_related("product").first()
    if sku is None or sku.product.merchant_id not in mids:
        raise ValidationFailed.field("sku_id", "no such SKU of yours")
    _check_offer(body, sku.price)
    async with atomic() as conn:
        await lock_rows(Sku, [sku.id], conn)  # one proposer at a time per SKU: the overlap check holds
        clash = await PresaleOffer.filter(sku_id=sku.id, status__in=[O.PENDING, O.APPROVED], starts_at__lt=body.ends_at,
                                          ends_at__gt=body.starts_at).using_db(conn).exists()
        if clash:
            raise Conflict("another pre-sale of this SKU overlaps these dates", code=PresaleCode.PRESALE_OFFER_OVERLAPS)
        offer = await PresaleOffer.create(
            merchant_id=sku.product.merchant_id, product_id=sku.product_id, sku_id=sku.id, mode=body.mode,
            price_fen=body.price_fen, deposit_fen=body.deposit_fen if body.mode == "deposit" else 0,
            starts_at=body.starts_at, ends_at=body.ends_at,
            balance_starts_at=body.balance_starts_at if body.mode == "deposit" else None,
            balance_ends_at=body.balance_ends_at if body.mode == "deposit" else None,
            ship_from=body.ship_from, note=body.note, created_by=actor_id, using_db=conn)
        await audit.record(actor_id, "presale.offer", "presale_offer", offer.id, {"sku_id": sku.id}, conn=conn)
    return (await _outs([offer]))[0]


async def merchant_offers(merchant_ids: Iterable[int]) -> list[OfferOut]:
    """The merchant's pre-sale offers, newest first."""
    return await _outs(await PresaleOffer.filter(merchant_id__in=sorted(set(merchant_ids))).order_by("-id").limit(200))


async def merchant_offer(merchant_ids: Iterable[int], offer_id: int) -> OfferOut:
    o = await PresaleOffer.get_or_none(id=offer_id, merchant_id__in=sorted(set(merchant_ids)))
    if o is None:
        raise NotFound("pre-sale offer not found")
    return (await _outs([o]))[0]


async def end_offer(merchant_ids: Iterable[int] | None, offer_id: int, *, actor_id: int) -> OfferOut:
    """Stop selling an offer (the merchant's own, or any for the office: merchant_ids None). Orders
    already placed keep their terms."""
    qs = PresaleOffer.filter(id=offer_id)
    if merchant_ids is not None:
        qs = qs.filter(merchant_id__in=sorted(set(merchant_ids)))
    o = await qs.first()
    if o is None:
        raise NotFound("pre-sale offer not found")
    async with atomic() as conn:
        await PresaleOffer.filter(id=o.id, status__in=[O.PENDING, O.APPROVED]).using_db(conn).update(status=O.ENDED)
        await audit.record(actor_id, "presale.end", "presale_offer", o.id, {}, conn=conn)
    return (await _outs([await PresaleOffer.get(id=o.id)]))[0]


async def office_offers(status: str | None) -> list[OfferOut]:
    """Every offer (the office's review list), newest first."""
    qs = PresaleOffer.all() if status is None else PresaleOffer.filter(status=status)
    return await _outs(await qs.order_by("-id").limit(200))


async def office_offer(offer_id: int) -> OfferOut:
    """One offer (the office sees every one)."""
    o = await PresaleOffer.get_or_none(id=offer_id)
    if o is None:
        raise NotFound("pre-sale offer not found")
    return (await _outs([o]))[0]


async def review(offer_id: int, *, approve: bool, note: str, actor_id: int) -> OfferOut:
    """The office approves or rejects a pending offer (409 when it is not pending)."""
    async with atomic() as conn:
        rows = await lock_rows(PresaleOffer, [offer_id], conn)
        if not rows:
            raise NotFound("pre-sale offer not found")
        if rows[0].status != O.PENDING:
            raise Conflict(f"the offer is {rows[0].status}", code=PresaleCode.PRESALE_OFFER_NOT_PENDING)
        await PresaleOffer.filter(id=offer_id).using_db(conn).update(
            status=O.APPROVED if approve else O.REJECTED, review_note=note[:200], reviewed_by=actor_id,
            reviewed_at=clock.now())
        await audit.record(actor_id, "presale.approve" if approve else "presale.reject", "presale_offer", offer_id,
                           {"note": note[:200]}, conn=conn)
    return (await _outs([await PresaleOffer.get(id=offer_id)]))[0]


async def product_offers(product_id: int) -> list[OfferOut]:
    """The approved pre-sales of a product on sale that have not ended (the mini-program's product page)."""
    if not await Product.filter(id=product_id, status="on_sale").exists():
        raise NotFound("product not found")
    return await _outs(await PresaleOffer.filter(product_id=product_id, status=O.APPROVED,
                                                 ends_at__gt=clock.now()).order_by("starts_at"))


# ---- checkout (the orders' source hook) -----------------------------------------------------------
async def resolve(ctx: hooks.SourceContext) -> hooks.SourceResult:
    """The "presale" checkout source: one line, the offer's SKU, while the offer is open."""
    offer_id, mode = ctx.source.get("offer_id"), ctx.source.get("mode")
    if offer_id is None:
        raise ValidationFailed.field("source.offer_id", "required for a pre-sale")
    if mode is None:
        raise ValidationFailed.field("source.mode", "full or deposit")
    offer = await PresaleOffer.get_or_none(id=offer_id, using_db=ctx.conn)
    if offer is None:
        raise ValidationFailed.field("source.offer_id", "no such pre-sale")
    if len(ctx.lines) != 1 or ctx.lines[0].sku_id != offer.sku_id:
        raise ValidationFailed.field("lines", "a pre-sale order has one line: the offer's SKU")
    now = clock.now()
    if offer.status != O.APPROVED or not offer.starts_at <= now < offer.ends_at:
        raise Conflict("this pre-sale is not open", code=PresaleCode.PRESALE_OFFER_NOT_OPEN,
                       details={"starts_at": offer.starts_at.isoformat(), "ends_at": offer.ends_at.isoformat()})
    if mode != offer.mode:
        raise ValidationFailed.field("source.mode", f"this pre-sale is paid {offer.mode}")
    qty = ctx.lines[0].quantity

    async def after_write(order_id: int, conn: Any) -> None:
        total, discount = (await Order.filter(id=order_id).using_db(conn)
                           .values_list("total_fen", "discount_fen"))[0]
        deposit = offer.deposit_fen * qty if offer.mode == "deposit" else 0
        if deposit and discount:  # the offer fixes both parts; a coupon could leave the balance at or below 0
            raise Conflict("a deposit pre-sale takes no coupon (pay in full to use one)",
                           code=PresaleCode.PRESALE_DEPOSIT_NO_COUPON,
                           details=[{"field": "coupon_ids", "reason": "presale_deposit"}])
        await PresaleOrder.create(order_id=order_id, offer_id=offer.id, mode=offer.mode, deposit_fen=deposit,
                                  balance_fen=total - deposit if deposit else 0,
                                  balance_starts_at=offer.balance_starts_at, balance_ends_at=offer.balance_ends_at,
                                  ship_from=offer.ship_from, using_db=conn)
        await Order.filter(id=order_id).using_db(conn).update(ship_not_before=offer.ship_from)

    return hooks.SourceResult(unit_prices={offer.sku_id: offer.price_fen}, after_write=after_write)


def register() -> None:
    """Register the "presale" checkout source (a start-up hook: server and worker both load it)."""
    hooks.register_source(SOURCE, resolve)


def install(settings, rt) -> None:
    register()


# ---- payments (called by server/payments) ---------------------------------------------------------
async def due(order: Order) -> Due:
    """What the next payment of a pre-sale order collects; 409 with the reason when nothing can be paid."""
    po = await PresaleOrder.get(order_id=order.id)
    now = clock.now()
    if order.status == S.PENDING_PAYMENT:
        if po.mode == "deposit":
            return Due("deposit", po.deposit_fen, order.expires_at)
        return Due("", order.total_fen, order.expires_at)
    if order.status == S.DEPOSIT_PAID:
        if po.balance_starts_at and now < po.balance_starts_at:
            opens = po.balance_starts_at.astimezone(clock.SHANGHAI).strftime("%Y-%m-%d %H:%M")
            raise Conflict("the balance can be paid from " + opens, code=PresaleCode.PRESALE_BALANCE_NOT_OPEN,
                           details={"balance_starts_at": po.balance_starts_at.isoformat()})
        if po.balance_ends_at and now >= po.balance_ends_at:
            raise Conflict("the balance deadline has passed", code=PresaleCode.PRESALE_BALANCE_CLOSED,
                           details={"balance_ends_at": po.balance_ends_at.isoformat()})
        return Due("balance", po.balance_fen, po.balance_ends_at)
    if order.status in orders_service.PAID_STATES or order.status == S.CLOSED:
        code = (PresaleCode.PRESALE_BALANCE_ALREADY_PAID if po.mode == "deposit"
                else PresaleCode.PRESALE_PAYMENT_STAGE_MISMATCH)
        raise Conflict(f"the order is {order.status}: nothing is left to pay", code=code)
    if order.cancel_reason.startswith("presale_balance"):
        raise Conflict("the balance deadline has passed", code=PresaleCode.PRESALE_BALANCE_CLOSED)
    raise Conflict(f"the order is {order.status}; it cannot be paid", code=PresaleCode.PRESALE_PAYMENT_STAGE_MISMATCH)


async def apply_payment(order: Order, payment: Payment, amount: int, actor_id: int | None, conn: Any) -> bool:
    """Apply a paid payment of a pre-sale order (inside the payment's transaction, behind its guard).
    True when the order is now paid in full (the caller counts sales and hands off); Conflict when the
    payment does not fit the order's stage (the caller refunds it as stray)."""
    paid_at = payment.paid_at or clock.now()
    if payment.part == "deposit":
        po = await PresaleOrder.get(order_id=order.id, using_db=conn)
        if amount != po.deposit_fen:
            raise Conflict("the deposit does not match", code=PresaleCode.PRESALE_PAYMENT_STAGE_MISMATCH)
        await orders_service.transition(order.id, [S.PENDING_PAYMENT], S.DEPOSIT_PAID, conn=conn, actor_id=actor_id,
                                        paid_fen=amount, paid_at=paid_at, payment_method=payment.method)
        await ledger.post_presale_deposit(order.id, amount, conn)
        return False
    if payment.part == "balance":
        po = await PresaleOrder.get(order_id=order.id, using_db=conn)
        if amount != po.balance_fen:
            raise Conflict("the balance does not match", code=PresaleCode.PRESALE_PAYMENT_STAGE_MISMATCH)
        # Paid at WeChat before the deadline counts even when the notice comes later; the expiry job
        # takes the order lock too, so one of the two wins and the other's money goes back (stray).
        await orders_service.transition(order.id, [S.DEPOSIT_PAID], S.PAID, conn=conn, actor_id=actor_id,
                                        paid_fen=po.deposit_fen + amount, paid_at=paid_at)
        await ledger.post_presale_release(order.id, po.deposit_fen, conn)
        await ledger.post_sale(order.id, conn)
        return True
    await orders_service.transition(order.id, [S.PENDING_PAYMENT], S.PAID, conn=conn, actor_id=actor_id,
                                    paid_fen=amount, paid_at=paid_at, payment_method=payment.method)
    await ledger.post_sale(order.id, conn)
    return True


# ---- the balance deadline and the deposit given back ---------------------------------------------
async def due_balances(limit: int = 200) -> list[int]:
    """Deposit-paid orders whose balance deadline has passed."""
    return list(await PresaleOrder.filter(order__status=S.DEPOSIT_PAID, balance_ends_at__lte=clock.now())
                .order_by("id").limit(limit).values_list("order_id", flat=True))


async def remind_open_balances(limit: int = 200) -> list[int]:
    """The sweep's reminder: every deposit order whose balance window is open and that was not reminded
    yet is owed one subscribe message (the outbox keeps it to once per order); returns their ids."""
    now = clock.now()
    rows = await (PresaleOrder.filter(order__status=S.DEPOSIT_PAID, balance_starts_at__lte=now,
                                      balance_ends_at__gt=now)
                  .exclude(order_id__in=Subquery(NotifyOutbox.filter(moment="presale_balance_open")
                                                 .values("order_id")))
                  .order_by("id").limit(limit).values_list("order_id", "order__buyer_id"))
    for order_id, buyer_id in rows:
        async with atomic() as conn:
            await outbox.presale_balance_open(order_id, buyer_id, conn)
    return [order_id for order_id, _ in rows]


async def _end_deposit_order(order_id: int, *, reason: str, refund: bool, actor_id: int | None,
                             conn: Any) -> str:
    """Cancel a deposit-paid order (the caller holds nothing): stock back, the deposit kept for the
    merchant (ledger) or refunded. Returns the outcome."""
    po = await PresaleOrder.get(order_id=order_id, using_db=conn)
    await orders_service.transition(order_id, [S.DEPOSIT_PAID], S.CANCELLED, conn=conn, actor_id=actor_id,
                                    cancelled_at=clock.now(), cancel_reason=reason[:64])
    lines = await OrderLine.filter(order_id=order_id).using_db(conn).values_list("id", "sku_id", "quantity")
    await inventory.release(conn, [inventory.Move(sku, q, "order_line", line) for line, sku, q in lines],
                            StockReason.CANCEL, actor_id=actor_id)
    if refund:
        payment = await Payment.filter(order_id=order_id, part="deposit", status=PaymentStatus.PAID) \
            .using_db(conn).first()
        r = await Refund.create(refund_no=new_refund_no(), order_id=order_id,
                                payment_id=payment.id if payment else None, kind="deposit", amount_fen=po.deposit_fen, lines=[], status=RefundStatus.APPROVED,
                                reason=reason[:200], requested_by=actor_id, auto_approved=True,
                                decided_at=clock.now(), using_db=conn)
        enqueue("payments.refund", r.id, job_id=kr.key("job", f"payments.refund:{r.id}"))
        outcome = "deposit_refunded"
    else:
        await ledger.post_presale_forfeit(order_id, po.deposit_fen, conn)
        # The kept deposit is the merchant's: the order counts as finished for settlement.
        await Order.filter(id=order_id).using_db(conn).update(completed_at=clock.now())
        outcome = "deposit_kept"
    await PresaleOrder.filter(id=po.id).using_db(conn).update(outcome=outcome)
    # An open balance prepay order at WeChat is closed so it cannot be paid any more.
    if await Payment.filter(order_id=order_id, status=PaymentStatus.CREATED).using_db(conn).exists():
        enqueue("payments.close", order_id, job_id=kr.key("job", f"payments.close:{order_id}"))
    await audit.record(actor_id, "presale." + outcome, "order", order_id, {"deposit_fen": po.deposit_fen}, conn=conn)
    return outcome


async def expire_balance(order_id: int) -> str:
    """Cancel one order whose balance deadline passed unpaid (idempotent: 'skip' when it is not due)."""
    async with atomic() as conn:
        rows = await lock_rows(Order, [order_id], conn)
        if not rows or rows[0].status != S.DEPOSIT_PAID:
            return "skip"
        po = await PresaleOrder.get(order_id=order_id, using_db=conn)
        if po.balance_ends_at is None or po.balance_ends_at > clock.now():
            return "skip"
        return await _end_deposit_order(order_id, reason="presale_balance_unpaid", actor_id=None, conn=conn,
                                        refund=runtime.settings().presale_refund_deposit_on_default)


async def expire_due_balances() -> dict:
    """The cron sweep: every deposit order past its balance deadline is ended by the rules."""
    out: dict[str, int] = {}
    for oid in await due_balances():
        try:
            outcome = await expire_balance(oid)
        except Exception:  # noqa: BLE001 - one order's trouble must not stop the others; retried next sweep
            log.exception("pre-sale order %s not expired", oid)
            outcome = "error"
        out[outcome] = out.get(outcome, 0) + 1
    return out


async def refund_deposit(order_id: int, *, buyer_id: int | None, actor_id: int, reason: str) -> PresaleOrderOut:
    """Give a deposit back before the balance is paid (the buyer's own order, or the office: buyer_id
    None): the order is cancelled, its stock released, the deposit refunded to the deposit payment."""
    qs = Order.filter(id=order_id, source=SOURCE)
    if buyer_id is not None:
        qs = qs.filter(buyer_id=buyer_id)
    if not await qs.exists():
        raise NotFound("order not found")
    async with atomic() as conn:
        order = (await lock_rows(Order, [order_id], conn))[0]
        if order.status != S.DEPOSIT_PAID:
            raise Conflict(f"the order is {order.status}; only a deposit-paid order gives its deposit back",
                           code=PresaleCode.PRESALE_NOT_IN_DEPOSIT_STAGE)
        await _end_deposit_order(order_id, reason="presale_deposit_refund" + (f": {reason}" if reason else ""),
                                 refund=True, actor_id=actor_id, conn=conn)
    return await order_info(order_id)


# ---- views ---------------------------------------------------------------------------------------
async def order_info(order_id: int, *, buyer_id: int | None = None,
                     merchant_ids: Iterable[int] | None = None) -> PresaleOrderOut:
    """A pre-sale order's terms and stage, within the caller's scope (a foreign order is a 404)."""
    qs = Order.filter(id=order_id, source=SOURCE)
    if buyer_id is not None:
        qs = qs.filter(buyer_id=buyer_id)
    if merchant_ids is not None:
        qs = qs.filter(Q(lines__merchant_id__in=sorted(set(merchant_ids))))
    order = await qs.first()
    po = await PresaleOrder.get_or_none(order_id=order_id) if order else None
    if order is None or po is None:
        raise NotFound("order not found")
    return PresaleOrderOut(order_id=order.id, offer_id=po.offer_id, mode=po.mode, stage=order.status,
                           total_fen=order.total_fen, deposit_fen=po.deposit_fen, balance_fen=po.balance_fen,
                           paid_fen=order.paid_fen, refunded_fen=order.refunded_fen,
                           balance_starts_at=po.balance_starts_at, balance_ends_at=po.balance_ends_at,
                           ship_from=po.ship_from, arrives_by=arrives_by(po.ship_from), outcome=po.outcome)


async def offer_orders(offer_id: int, merchant_ids: Iterable[int] | None = None) -> list[PresaleOrderOut]:
    """The orders of an offer (the merchant's own offer, or any for the office)."""
    qs = PresaleOffer.filter(id=offer_id)
    if merchant_ids is not None:
        qs = qs.filter(merchant_id__in=sorted(set(merchant_ids)))
    if not await qs.exists():
        raise NotFound("pre-sale offer not found")
    ids = await PresaleOrder.filter(offer_id=offer_id).order_by("-id").limit(200).values_list("order_id", flat=True)
    return [await order_info(oid) for oid in ids]
