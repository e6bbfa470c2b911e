"""Settlement ledger (结算台账): immutable signed entries per order line, posted when a payment is
applied and reversed when a refund succeeds. For every order: paid_fen - refunded_fen == sum(entries).

Split of a line amount A (fen): platform fee = A*platform_bp, station service fee = A*station_bp
(pickup orders), with the fee terms the line recorded when it was paid (server/settlement/terms.py;
never the current terms or settings), livestream commission = A*commission_bp (attributed lines); the merchant gets the rest.
Coupons (server/promotions): a line's saving is split by who funds it. The merchant's own coupons
lower the amount that is split (A - merchant part: fees and merchant share on what the goods sold
for); the platform's part is a platform entry (coupon_subsidy, negative), so the merchant is paid as
if the buyer had paid it. A refund of r of the line's paid amount P reverses the platform part
cumulatively (floor(part * refunded / P)) and splits the same refunded + that share as a sale.
Reversals use cumulative rounding: a fee's reversal for a refund is fee(refunded after) - fee(refunded
before), so a line refunded in any number of parts nets to exactly zero.
Cash taken at a station counter adds a custody pair that sums to zero: the station owes (-) and the
platform is owed (+) the cash.
Freight (运费, issue #25): each merchant's shipping (orders.shipping_split) posts one entry, kind
shipping, to whoever carries the cost (the merchant by default, or the platform), on the merchant's
first line of the order (so it reaches that merchant's settlement statement); a refund that carries
freight reverses it (shipping_reversal).
A payout line that succeeded posts one entry (kind payout, ref_kind payout_line, no order): the payee's
balance goes down by what was paid out.

Two invariants: per order (check_invariant), the entries sum to paid - refunded; overall
(check_overall), money in - refunds - payouts - cash confirmed = the sum of all balances, to the fen.
"Cash confirmed" is cash_confirmed_fen(): what the confirmed station cash hand-overs (entries with
ref_kind cash_handover) took out of the balances."""
from __future__ import annotations

import logging
from typing import Any

from tortoise.functions import Sum

from server.kit.money import apply_rate
from server.models.ledger import LedgerEntry, RefKind
from server.models.orders import Order, OrderLine
from server.models.payouts import PayoutLine
from server.settlement import terms

log = logging.getLogger("kazuo.ledger")


def split(amount: int, *, platform_bp: int, station_bp: int, commission_bp: int) -> dict[str, int]:
    """The fee parts of an amount; the merchant share is what is left (so the parts sum to amount)."""
    parts = {"platform_fee": apply_rate(amount, platform_bp), "station_fee": apply_rate(amount, station_bp),
             "live_commission": apply_rate(amount, commission_bp)}
    parts["merchant_share"] = amount - sum(parts.values())
    return parts


def _rates(order: Order, line: OrderLine) -> dict[str, int]:
    platform_bp, station_bp = terms.line_rates(order, line)
    return {"platform_bp": platform_bp, "station_bp": station_bp,
            "commission_bp": line.commission_bp if order.livestreamer_id else 0}


def _account(kind: str, order: Order, line: OrderLine) -> tuple[str, int | None]:
    return {"platform_fee": ("platform", None), "station_fee": ("station", order.station_id),
            "live_commission": ("livestreamer", order.livestreamer_id),
            "merchant_share": ("merchant", line.merchant_id)}[kind]


async def post_sale(order_id: int, conn: Any) -> None:
    """Post the entries of a paid order (inside the transaction that applied the payment)."""
    order = await Order.get(id=order_id, using_db=conn)
    lines = await OrderLine.filter(order_id=order_id).using_db(conn).order_by("id")
    await terms.record_on_lines(order, lines, conn)
    rows = []
    for line in lines:
        if line.platform_discount_fen:
            rows.append(LedgerEntry(order_id=order.id, order_line_id=line.id, account_type="platform", account_id=None,
                                    kind="coupon_subsidy", amount_fen=-line.platform_discount_fen,
                                    dedup_key=f"sale:{line.id}:coupon_subsidy"))
        for kind, amount in split(_sold_for(line), **_rates(order, line)).items():
            if amount == 0 and kind != "merchant_share":
                continue
            atype, aid = _account(kind, order, line)
            rows.append(LedgerEntry(order_id=order.id, order_line_id=line.id, account_type=atype, account_id=aid,
                                    kind=kind, amount_fen=amount, dedup_key=f"sale:{line.id}:{kind}"))
    rows += _shipping_rows(order, lines)
    if order.payment_method == "cash" and order.station_id:
        rows += [LedgerEntry(order_id=order.id, account_type="station", account_id=order.station_id,
                             kind="cash_custody", amount_fen=-order.total_fen, dedup_key=f"cash:{order.id}:station"),
                 LedgerEntry(order_id=order.id, account_type="platform", account_id=None,
                             kind="cash_custody", amount_fen=order.total_fen, dedup_key=f"cash:{order.id}:platform")]
    await LedgerEntry.bulk_create(rows, using_db=conn)


def _shipping_rows(order: Order, lines: list[OrderLine]) -> list[LedgerEntry]:
    first_line = {}
    for line in lines:
        first_line.setdefault(line.merchant_id, line.id)
    rows = []
    for part in order.shipping_split or ():
        if not part["fen"]:
            continue
        platform = part.get("carrier") == "platform"
        rows.append(LedgerEntry(order_id=order.id, order_line_id=first_line.get(part["merchant_id"]),
                                account_type="platform" if platform else "merchant",
                                account_id=None if platform else part["merchant_id"], kind="shipping",
                                amount_fen=part["fen"], dedup_key=f"ship:{order.id}:{part['merchant_id']}"))
    return rows


async def _shipping_reversal_rows(refund_id: int, order: Order, shipping_fen: int, conn: Any,
                                  first: set[int] = frozenset()) -> list[LedgerEntry]:
    """Reverse shipping_fen of the order's freight entries, each up to what it still holds, in order; the
    entries on lines in `first` (the refunded merchants' lines) first: a merchant's fault gives back its
    own freight, not another merchant's of the same order."""
    held: dict[tuple, int] = {}
    for e in await (LedgerEntry.filter(order_id=order.id, kind__in=("shipping", "shipping_reversal"))
                    .using_db(conn).order_by("id").values("order_line_id", "account_type", "account_id", "amount_fen")):
        k = (e["order_line_id"], e["account_type"], e["account_id"])
        held[k] = held.get(k, 0) + e["amount_fen"]
    rows, left = [], shipping_fen
    for (line_id, atype, aid), amount in sorted(held.items(), key=lambda kv: kv[0][0] not in first):
        take = min(amount, left)
        if take <= 0:
            continue
        rows.append(LedgerEntry(order_id=order.id, order_line_id=line_id, refund_id=refund_id, account_type=atype,
                                account_id=aid, kind="shipping_reversal", amount_fen=-take,
                                dedup_key=f"refund:{refund_id}:ship:{line_id}"))
        left -= take
    if left:
        raise ValueError(f"refund {refund_id} returns {shipping_fen} fen of freight, the order holds {shipping_fen - left}")
    return rows


def _sold_for(line: OrderLine) -> int:
    """What the line's goods sold for: the amount less the merchant's own coupon savings."""
    return line.amount - (line.discount_fen - line.platform_discount_fen)


def _subsidy_refunded(line: OrderLine, refunded: int) -> int:
    """The platform's coupon part that goes back with `refunded` of the line's paid amount (cumulative)."""
    paid = line.amount - line.discount_fen
    if not line.platform_discount_fen or paid <= 0:
        return 0
    return line.platform_discount_fen * refunded // paid


async def post_refund(refund_id: int, order_id: int, refund_lines: list[dict], conn: Any,
                      shipping_fen: int = 0) -> None:
    """Post the reversals of a succeeded refund; refund_lines carry each line's refunded amount,
    shipping_fen the freight it returns. Call BEFORE the lines' refunded_fen is increased (it is the
    'before' of the cumulative rounding)."""
    order = await Order.get(id=order_id, using_db=conn)
    lines = {x.id: x for x in await OrderLine.filter(order_id=order_id).using_db(conn)}
    rows = []
    for item in refund_lines:
        line = lines[item["line_id"]]
        before, after = line.refunded_fen, line.refunded_fen + item["amount"]
        rates = _rates(order, line)
        sub_before, sub_after = _subsidy_refunded(line, before), _subsidy_refunded(line, after)
        if sub_after != sub_before:
            rows.append(LedgerEntry(order_id=order.id, order_line_id=line.id, refund_id=refund_id,
                                    account_type="platform", account_id=None, kind="coupon_subsidy_reversal",
                                    amount_fen=sub_after - sub_before,
                                    dedup_key=f"refund:{refund_id}:{line.id}:coupon_subsidy"))
        s_before, s_after = split(before + sub_before, **rates), split(after + sub_after, **rates)
        for kind in ("platform_fee", "station_fee", "live_commission", "merchant_share"):
            delta = s_after[kind] - s_before[kind]
            if delta == 0:
                continue
            atype, aid = _account(kind, order, line)
            rows.append(LedgerEntry(order_id=order.id, order_line_id=line.id, refund_id=refund_id,
                                    account_type=atype, account_id=aid, kind=kind + "_reversal",
                                    amount_fen=-delta, dedup_key=f"refund:{refund_id}:{line.id}:{kind}"))
    if shipping_fen:
        merchants = {lines[i["line_id"]].merchant_id for i in refund_lines}
        first = {lid for lid, ln in lines.items() if ln.merchant_id in merchants}
        rows += await _shipping_reversal_rows(refund_id, order, shipping_fen, conn, first=first)
    if order.payment_method == "cash" and order.station_id:
        total = sum(i["amount"] for i in refund_lines) + shipping_fen
        rows += [LedgerEntry(order_id=order.id, refund_id=refund_id, account_type="station",
                             account_id=order.station_id, kind="cash_custody_reversal", amount_fen=total,
                             dedup_key=f"cashrefund:{refund_id}:station"),
                 LedgerEntry(order_id=order.id, refund_id=refund_id, account_type="platform", account_id=None,
                             kind="cash_custody_reversal", amount_fen=-total,
                             dedup_key=f"cashrefund:{refund_id}:platform")]
    await LedgerEntry.bulk_create(rows, using_db=conn)


CASH_KINDS = ("cash_custody", "cash_custody_reversal", "cash_handover")


async def post_cash_handover(handover_id: int, station_id: int, received_fen: int, conn: Any) -> None:
    """Post a confirmed cash hand-over (现金解缴, server/cash) inside the transaction that confirms it:
    station +received, platform -received (ref_kind cash_handover, no order), once per hand-over (dedup
    keys). The station's debt and the platform's claim on it fall by the cash the county centre
    counted; the pair sums to zero, as the cash was money in when the order was paid and only moved
    from the station's drawer to the centre."""
    await LedgerEntry.bulk_create([
        LedgerEntry(account_type="station", account_id=station_id, kind="cash_handover", amount_fen=received_fen,
                    ref_kind=RefKind.CASH_HANDOVER, ref_id=handover_id, dedup_key=f"handover:{handover_id}:station"),
        LedgerEntry(account_type="platform", account_id=None, kind="cash_handover", amount_fen=-received_fen,
                    ref_kind=RefKind.CASH_HANDOVER, ref_id=handover_id, dedup_key=f"handover:{handover_id}:platform"),
    ], using_db=conn)


async def station_cash_owed(station_id: int, conn: Any = None) -> int:
    """Cash a station owes the platform (fen): the cash it took at its counter, less cash refunded
    over it, less the hand-overs the centre confirmed."""
    rows = await (LedgerEntry.filter(account_type="station", account_id=station_id, kind__in=CASH_KINDS)
                  .using_db(conn).annotate(s=Sum("amount_fen")).values("s"))
    return -int((rows[0]["s"] if rows else 0) or 0)


async def balances(account_type: str | None = None, account_id: int | None = None) -> list[dict]:
    """Balances per account (fen): what the platform owes each merchant, station and livestreamer."""
    qs = LedgerEntry.all()
    if account_type:
        qs = qs.filter(account_type=account_type)
    if account_id is not None:
        qs = qs.filter(account_id=account_id)
    rows = await (qs.annotate(balance=Sum("amount_fen")).group_by("account_type", "account_id")
                  .order_by("account_type", "account_id").values("account_type", "account_id", "balance"))
    return [{"account_type": r["account_type"], "account_id": r["account_id"], "balance_fen": int(r["balance"] or 0)}
            for r in rows]


async def check_invariant(order_ids: list[int] | None = None, *, since=None) -> list[dict]:
    """Orders whose entries do not sum to paid - refunded (empty list = the ledger holds)."""
    qs = Order.filter(paid_fen__gt=0)
    if since is not None:
        qs = qs.filter(updated_at__gte=since)
    if order_ids is not None:
        qs = Order.filter(id__in=order_ids)
    orders = await qs.values("id", "paid_fen", "refunded_fen")
    sums = {r["order_id"]: int(r["s"] or 0) for r in await LedgerEntry.filter(
        order_id__in=[o["id"] for o in orders]).annotate(s=Sum("amount_fen")).group_by("order_id")
        .values("order_id", "s")}
    bad = [{"order_id": o["id"], "expected": o["paid_fen"] - o["refunded_fen"], "entries": sums.get(o["id"], 0)}
           for o in orders if o["paid_fen"] - o["refunded_fen"] != sums.get(o["id"], 0)]
    # Entries for an order that never took money are wrong too.
    sq = LedgerEntry.filter(order__paid_fen=0)
    if since is not None:
        sq = sq.filter(created_at__gte=since)
    stray = await sq.distinct().values_list("order_id", flat=True)
    bad += [{"order_id": oid, "expected": 0, "entries": None} for oid in stray
            if order_ids is None or oid in order_ids]
    if bad:
        log.error("ledger invariant broken", extra={"orders": bad[:20]})
    return bad


async def post_payout(line: PayoutLine, conn: Any) -> None:
    """The entry of a payout line that succeeded (inside the transaction that marks it succeeded)."""
    await LedgerEntry.create(order_id=None, account_type=line.account_type, account_id=line.account_id,
                             kind="payout", amount_fen=-line.amount_fen, dedup_key=f"payout:{line.id}",
                             ref_kind=RefKind.PAYOUT_LINE, ref_id=line.id, using_db=conn)


async def _sum(qs, field: str) -> int:
    row = await qs.annotate(s=Sum(field)).first().values("s")
    return int((row or {}).get("s") or 0)


async def cash_confirmed_fen() -> int:
    """Cash confirmed: what confirmed station cash hand-overs took out of the balances, i.e. minus the
    sum of the ledger entries with ref_kind cash_handover (a pair that sums to zero takes nothing)."""
    return -await _sum(LedgerEntry.filter(ref_kind=RefKind.CASH_HANDOVER), "amount_fen")


async def check_overall() -> dict:
    """The overall invariant: money in (paid) - refunds - payouts (succeeded payout lines) - cash
    confirmed = the sum of all balances (every ledger entry), to the fen. holds=False is logged."""
    money_in = await _sum(Order.filter(paid_fen__gt=0), "paid_fen")
    refunded = await _sum(Order.filter(refunded_fen__gt=0), "refunded_fen")
    payouts = await _sum(PayoutLine.filter(status="succeeded"), "amount_fen")
    cash = await cash_confirmed_fen()
    total = await _sum(LedgerEntry.all(), "amount_fen")
    diff = money_in - refunded - payouts - cash - total
    out = {"money_in_fen": money_in, "refunds_fen": refunded, "payouts_fen": payouts, "cash_confirmed_fen": cash,
           "balances_fen": total, "difference_fen": diff, "holds": diff == 0}
    if diff:
        log.error("overall ledger invariant broken", extra=out)
    return out


# ---- pre-sale deposits (预售定金, server/presale) ------------------------------------------------------
# A deposit paid before the balance is held by the platform (kind presale_deposit on the order's first
# line): the per-order invariant holds at every stage (paid - refunded == entries). When the balance
# is paid the hold is released (presale_deposit_release) and the whole sale is posted by post_sale;
# when the deposit is kept after an unpaid balance, the hold is released and the deposit is split
# like a sale of that line (the merchant's share, the fees at the line's terms); when it is refunded
# the hold is reversed (presale_deposit_reversal).
async def _first_line(order_id: int, conn: Any) -> OrderLine:
    return await OrderLine.filter(order_id=order_id).using_db(conn).order_by("id").first()


async def post_presale_deposit(order_id: int, amount: int, conn: Any) -> None:
    """The platform holds a paid deposit (inside the payment's transaction)."""
    line = await _first_line(order_id, conn)
    await LedgerEntry.create(order_id=order_id, order_line_id=line.id, account_type="platform", account_id=None,
                             kind="presale_deposit", amount_fen=amount, dedup_key=f"presale:{order_id}:deposit",
                             using_db=conn)


async def post_presale_release(order_id: int, amount: int, conn: Any) -> None:
    """The balance is paid: the deposit hold ends (post_sale then posts the whole order)."""
    line = await _first_line(order_id, conn)
    await LedgerEntry.create(order_id=order_id, order_line_id=line.id, account_type="platform", account_id=None,
                             kind="presale_deposit_release", amount_fen=-amount,
                             dedup_key=f"presale:{order_id}:release", using_db=conn)


async def post_presale_forfeit(order_id: int, amount: int, conn: Any) -> None:
    """The balance was not paid and the deposit is kept: the hold ends and the deposit is split like a
    sale of the order's (only) line."""
    order = await Order.get(id=order_id, using_db=conn)
    line = await _first_line(order_id, conn)
    await terms.record_on_lines(order, [line], conn)
    rows = [LedgerEntry(order_id=order_id, order_line_id=line.id, account_type="platform", account_id=None,
                        kind="presale_deposit_release", amount_fen=-amount, dedup_key=f"presale:{order_id}:release")]
    for kind, part in split(amount, **_rates(order, line)).items():
        if part == 0 and kind != "merchant_share":
            continue
        atype, aid = _account(kind, order, line)
        rows.append(LedgerEntry(order_id=order_id, order_line_id=line.id, account_type=atype, account_id=aid,
                                kind=kind, amount_fen=part, dedup_key=f"presale:{order_id}:forfeit:{kind}"))
    await LedgerEntry.bulk_create(rows, using_db=conn)


async def post_presale_deposit_refund(refund_id: int, order_id: int, amount: int, conn: Any) -> None:
    """A held deposit went back to the buyer (inside the transaction that marks the refund succeeded)."""
    line = await _first_line(order_id, conn)
    await LedgerEntry.create(order_id=order_id, order_line_id=line.id, refund_id=refund_id, account_type="platform",
                             account_id=None, kind="presale_deposit_reversal", amount_fen=-amount,
                             dedup_key=f"presale:{order_id}:refund:{refund_id}", using_db=conn)
