"""Coupons (优惠券): definitions, claims, the checkout pricing step and releases.

No over-issue: a claim takes one of total_quantity with a guarded update (issued_count <
total_quantity), which also locks the coupon row until the claim commits, so the per-person count
read after it is exact (claims of one coupon queue behind each other, like stock).
No double use: checkout spends a claimed coupon with a guarded update (available -> used) inside the
checkout transaction; a second checkout naming it finds it used (409), and a rolled-back checkout
leaves it available.
Who pays: OrderLine.discount_fen is the saving on a line and platform_discount_fen the part the
platform funds; the ledger (server/ledger) gives the merchant its share of the price less only its own
coupons' savings, and posts the platform's part as a platform entry (coupon_subsidy).
Releases: cancelling an unpaid order gives its coupons back; a full refund (the order closed) gives
back those with return_on_refund while still valid; a partial refund keeps them."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Iterable

from tortoise.expressions import F

from server.kit import audit, clock
from server.kit.db import atomic
from server.kit.errors import Conflict, NotFound, ValidationFailed
from server.kit.money import yuan
from server.models.catalog import Category, Product
from server.models.merchants import Merchant
from server.models.orders import Order
from server.models.promotions import Coupon, CouponKind, CouponScope, CouponStatus, UserCoupon, UserCouponStatus
from server.promotions.errors import PromoCode
from server.promotions.schemas import CouponIn, CouponOut, UserCouponOut

log = logging.getLogger("kazuo.promotions")
U = UserCouponStatus
MAX_PER_ORDER = 5
KIND_NAMES = {CouponKind.FULL_REDUCTION: "满减", CouponKind.INSTANT: "立减", CouponKind.PERCENT: "折扣"}


# ---- output ----------------------------------------------------------------------------------
def describe(c: Coupon) -> str:
    """The coupon's terms in words, as the buyer sees them."""
    if c.kind == CouponKind.PERCENT:
        rate = c.rate_bp / 1000
        text = f"{rate:g}折" + (f"，最多减{yuan(c.cap_fen)}元" if c.cap_fen else "")
        if c.threshold_fen:
            text = f"满{yuan(c.threshold_fen)}元" + text
    elif c.kind == CouponKind.FULL_REDUCTION:
        text = f"满{yuan(c.threshold_fen)}元减{yuan(c.amount_fen)}元"
    else:
        text = f"立减{yuan(c.amount_fen)}元" + (f"（满{yuan(c.threshold_fen)}元可用）" if c.threshold_fen else "")
    return text + ("，新人专享" if c.new_buyer_only else "")


def coupon_out(c: Coupon) -> CouponOut:
    return CouponOut(id=c.id, name=c.name, kind=c.kind, funder=c.funder, merchant_id=c.merchant_id,
                     threshold_fen=c.threshold_fen, amount_fen=c.amount_fen, rate_bp=c.rate_bp, cap_fen=c.cap_fen,
                     new_buyer_only=c.new_buyer_only, scope=c.scope, scope_ids=list(c.scope_ids or []),
                     valid_from=c.valid_from, valid_until=c.valid_until, total_quantity=c.total_quantity,
                     issued_count=c.issued_count, used_count=c.used_count, per_person_limit=c.per_person_limit,
                     return_on_refund=c.return_on_refund, status=c.status, description=describe(c))


def _window_problem(c: Coupon, now=None) -> tuple[PromoCode, str] | None:
    now = now or clock.now()
    if now < c.valid_from:
        return PromoCode.COUPON_NOT_STARTED, f"the coupon is valid from {c.valid_from.astimezone(clock.SHANGHAI):%Y-%m-%d %H:%M}"
    if now >= c.valid_until:
        return PromoCode.COUPON_EXPIRED, f"the coupon expired at {c.valid_until.astimezone(clock.SHANGHAI):%Y-%m-%d %H:%M}"
    return None


def user_coupon_out(uc: UserCoupon, c: Coupon) -> UserCouponOut:
    problem = _window_problem(c) if uc.status == U.AVAILABLE else None
    return UserCouponOut(id=uc.id, coupon=coupon_out(c), status=uc.status, order_id=uc.order_id,
                         discount_fen=uc.discount_fen, claimed_at=uc.claimed_at, used_at=uc.used_at,
                         usable=uc.status == U.AVAILABLE and problem is None,
                         reason=problem[1] if problem else ("" if uc.status == U.AVAILABLE else "used"))


# ---- definitions (office: platform coupons; merchants: their own) -------------------------------
async def _check_scope_ids(data: CouponIn, merchant_id: int | None) -> None:
    """The scope names existing ids; a merchant's coupon covers only that merchant's goods."""
    ids = list(dict.fromkeys(data.scope_ids))
    if merchant_id is not None:
        if data.scope in (CouponScope.ALL, CouponScope.CATEGORY):
            raise ValidationFailed.field("scope", "a merchant's coupon covers its shop or some of its products")
        if data.scope == CouponScope.MERCHANT and ids != [merchant_id]:
            raise ValidationFailed.field("scope_ids", "a merchant's coupon covers only its own shop")
        if data.scope == CouponScope.PRODUCT:
            mine = set(await Product.filter(id__in=ids, merchant_id=merchant_id).values_list("id", flat=True))
            missing = [i for i in ids if i not in mine]
            if missing:
                raise ValidationFailed.field("scope_ids", f"not products of this shop: {missing[:5]}")
        return
    if data.scope == CouponScope.PRODUCT:
        found = set(await Product.filter(id__in=ids).values_list("id", flat=True))
    elif data.scope == CouponScope.CATEGORY:
        found = set(await Category.filter(id__in=ids).values_list("id", flat=True))
    elif data.scope == CouponScope.MERCHANT:
        found = set(await Merchant.filter(id__in=ids).values_list("id", flat=True))
    else:
        return
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationFailed.field("scope_ids", f"no such {data.scope}: {missing[:5]}")


async def create_coupon(data: CouponIn, *, actor_id: int, merchant_id: int | None = None) -> CouponOut:
    """Define a coupon: the platform's (merchant_id None) or a merchant's own (funded by it)."""
    await _check_scope_ids(data, merchant_id)
    async with atomic() as conn:
        c = await Coupon.create(
            name=data.name, kind=data.kind, funder="merchant" if merchant_id else "platform", merchant_id=merchant_id,
            threshold_fen=data.threshold_fen, amount_fen=data.amount_fen if data.kind != CouponKind.PERCENT else 0,
            rate_bp=data.rate_bp if data.kind == CouponKind.PERCENT else 10000,
            cap_fen=data.cap_fen if data.kind == CouponKind.PERCENT else 0, new_buyer_only=data.new_buyer_only,
            scope=data.scope, scope_ids=list(dict.fromkeys(data.scope_ids)), valid_from=data.valid_from,
            valid_until=data.valid_until, total_quantity=data.total_quantity, per_person_limit=data.per_person_limit,
            return_on_refund=data.return_on_refund, created_by=actor_id, using_db=conn)
        await audit.record(actor_id, "coupon.create", "coupon", c.id,
                           {"merchant_id": merchant_id, "kind": data.kind, "total": data.total_quantity}, conn=conn)
    return coupon_out(c)


async def set_coupon_status(coupon_id: int, status: str, *, actor_id: int,
                            merchant_ids: Iterable[int] | None = None) -> CouponOut:
    """Pause or resume claims of a coupon (the office any; a merchant only its own: others are 404)."""
    if status not in CouponStatus.ALL:
        raise ValidationFailed.field("status", "one of " + ", ".join(CouponStatus.ALL))
    c = await _scoped_coupon(coupon_id, merchant_ids)
    async with atomic() as conn:
        await Coupon.filter(id=c.id).using_db(conn).update(status=status)
        await audit.record(actor_id, "coupon.status", "coupon", c.id, {"status": status}, conn=conn)
    c.status = status
    return coupon_out(c)


async def _scoped_coupon(coupon_id: int, merchant_ids: Iterable[int] | None) -> Coupon:
    qs = Coupon.filter(id=coupon_id)
    if merchant_ids is not None:
        qs = qs.filter(merchant_id__in=list(merchant_ids) or [0])
    c = await qs.first()
    if c is None:
        raise NotFound("coupon not found")
    return c


async def get_coupon(coupon_id: int, merchant_ids: Iterable[int] | None = None) -> CouponOut:
    """One coupon (a merchant sees only its own)."""
    return coupon_out(await _scoped_coupon(coupon_id, merchant_ids))


async def list_coupons(*, merchant_ids: Iterable[int] | None = None, platform_only: bool = False,
                       shops_only: bool = False, limit: int = 200) -> list[CouponOut]:
    """Coupon definitions, newest first: a merchant's own, the platform's, the shops', or (office) all."""
    qs = Coupon.all()
    if merchant_ids is not None:
        qs = qs.filter(merchant_id__in=list(merchant_ids) or [0])
    elif platform_only:
        qs = qs.filter(merchant_id__isnull=True)
    elif shops_only:
        qs = qs.filter(merchant_id__isnull=False)
    return [coupon_out(c) for c in await qs.order_by("-id").limit(limit)]


# ---- claims ----------------------------------------------------------------------------------
async def _is_new_buyer(buyer_id: int, conn: Any = None) -> bool:
    return not await Order.filter(buyer_id=buyer_id, paid_at__isnull=False).using_db(conn).exists()


async def claim(buyer_id: int, coupon_id: int) -> UserCouponOut:
    """The buyer claims a coupon (领券): never more than issued in all, nor more than the per-person limit."""
    c = await Coupon.get_or_none(id=coupon_id)
    if c is None:
        raise NotFound("coupon not found")
    if c.status != CouponStatus.ACTIVE:
        raise Conflict("this coupon is not being handed out now", code=PromoCode.COUPON_NOT_CLAIMABLE)
    problem = _window_problem(c)
    if problem:
        raise Conflict(problem[1], code=problem[0], details={"coupon_id": c.id})
    if c.new_buyer_only and not await _is_new_buyer(buyer_id):
        raise Conflict("only for buyers without a paid order yet", code=PromoCode.COUPON_NEW_BUYERS_ONLY)
    async with atomic() as conn:
        n = await Coupon.filter(id=coupon_id, status=CouponStatus.ACTIVE,
                                issued_count__lt=F("total_quantity")).using_db(conn).update(
            issued_count=F("issued_count") + 1)
        if n == 0:
            raise Conflict("all of this coupon have been claimed", code=PromoCode.COUPON_SOLD_OUT,
                           details={"coupon_id": coupon_id})
        # The update above holds the coupon row until commit: the count below is not raced.
        mine = await UserCoupon.filter(coupon_id=coupon_id, user_id=buyer_id).using_db(conn).count()
        if mine >= c.per_person_limit:
            raise Conflict(f"at most {c.per_person_limit} per person", code=PromoCode.COUPON_LIMIT_REACHED,
                           details={"coupon_id": coupon_id, "limit": c.per_person_limit})
        uc = await UserCoupon.create(coupon_id=coupon_id, user_id=buyer_id, using_db=conn)
    c.issued_count += 1
    return user_coupon_out(uc, c)


async def claimable(*, product_id: int | None = None, merchant_id: int | None = None,
                    coupon_ids: Iterable[int] | None = None) -> list[CouponOut]:
    """Coupons being handed out now (optionally those that could apply to a product or a shop)."""
    now = clock.now()
    qs = Coupon.filter(status=CouponStatus.ACTIVE, valid_from__lte=now, valid_until__gt=now,
                       issued_count__lt=F("total_quantity"))
    if coupon_ids is not None:
        qs = qs.filter(id__in=list(coupon_ids) or [0])
    rows = await qs.order_by("id").limit(200)
    if product_id is not None:
        p = await Product.get_or_none(id=product_id).only("id", "merchant_id", "category_id")
        if p is None:
            raise NotFound("product not found")
        rows = [c for c in rows if _covers(c, p.id, p.merchant_id, p.category_id)]
    elif merchant_id is not None:
        rows = [c for c in rows if c.merchant_id == merchant_id
                or (c.merchant_id is None and c.scope in (CouponScope.ALL, CouponScope.MERCHANT)
                    and (c.scope == CouponScope.ALL or merchant_id in (c.scope_ids or [])))]
    return [coupon_out(c) for c in rows]


async def my_coupons(buyer_id: int, status: str | None = None) -> list[UserCouponOut]:
    """The buyer's claimed coupons, newest first, each saying whether it can be used now and why not."""
    qs = UserCoupon.filter(user_id=buyer_id)
    if status:
        qs = qs.filter(status=status)
    rows = await qs.order_by("-id").limit(200)
    coupons = {c.id: c for c in await Coupon.filter(id__in={r.coupon_id for r in rows})}
    return [user_coupon_out(r, coupons[r.coupon_id]) for r in rows]


# ---- the checkout pricing step ------------------------------------------------------------------
def _covers(c: Coupon, product_id: int, merchant_id: int, category_id: int | None) -> bool:
    if c.merchant_id is not None and merchant_id != c.merchant_id:
        return False
    ids = c.scope_ids or []
    return {CouponScope.ALL: True, CouponScope.PRODUCT: product_id in ids, CouponScope.MERCHANT: merchant_id in ids,
            CouponScope.CATEGORY: category_id in ids}.get(c.scope, False)


@dataclass(frozen=True)
class PricedLine:
    """One checkout line at its price (what the pricing step needs)."""
    sku_id: int
    product_id: int
    merchant_id: int
    amount: int  # unit price * quantity, fen


@dataclass
class CouponPricing:
    """What the coupons save: per SKU line the saving and its platform-funded part, the order's total
    and the list the order shows. amounts: the line amounts priced (the write must match them)."""
    user_coupon_ids: list[int] = field(default_factory=list)
    line_discount: dict[int, int] = field(default_factory=dict)
    line_platform: dict[int, int] = field(default_factory=dict)
    discount_fen: int = 0
    discounts: list[dict] = field(default_factory=list)
    amounts: dict[int, int] = field(default_factory=dict)
    fields: dict[int, str] = field(default_factory=dict)  # user coupon id -> coupon_ids.N (for errors)


def _allocate(total: int, weights: dict[int, int]) -> dict[int, int]:
    """Split total over the keys in proportion to weights, to the fen (largest remainder; ties by key)."""
    whole = sum(weights.values())
    if whole <= 0 or total <= 0:
        return {k: 0 for k in weights}
    shares = {k: total * w // whole for k, w in weights.items()}
    rest = total - sum(shares.values())
    order = sorted(weights, key=lambda k: (-(total * weights[k] % whole), k))
    for k in order[:rest]:
        shares[k] += 1
    return shares


def _saving(c: Coupon, base: int) -> int:
    if c.kind == CouponKind.PERCENT:
        off = base - base * c.rate_bp // 10000
        return min(off, c.cap_fen) if c.cap_fen else off
    return c.amount_fen


async def price_coupons(conn: Any, buyer_id: int, user_coupon_ids: list[int],
                        lines: list[PricedLine]) -> CouponPricing:
    """Price the buyer's coupons on these lines, inside the checkout transaction (conn), reading only:
    spend() marks them used once the order is written. Raises, with the reason and
    the field: not the buyer's coupon (404), used, expired, not started, new buyers only, two coupons
    of one funder, or a scope / threshold the cart does not meet (409)."""
    if len(user_coupon_ids) > MAX_PER_ORDER:
        raise ValidationFailed.field("coupon_ids", f"at most {MAX_PER_ORDER} coupons")
    if len(set(user_coupon_ids)) != len(user_coupon_ids):
        raise ValidationFailed.field("coupon_ids", "the same coupon appears twice")
    now = clock.now()
    mine = {uc.id: uc for uc in await UserCoupon.filter(id__in=user_coupon_ids, user_id=buyer_id).using_db(conn)}
    coupons = {c.id: c for c in await Coupon.filter(id__in={u.coupon_id for u in mine.values()}).using_db(conn)}
    categories = dict(await Product.filter(id__in={x.product_id for x in lines}).using_db(conn)
                      .values_list("id", "category_id"))
    ordered: list[tuple[int, UserCoupon, Coupon]] = []
    funders: dict[Any, int] = {}
    for i, ucid in enumerate(user_coupon_ids):
        where = f"coupon_ids.{i}"
        uc = mine.get(ucid)
        if uc is None:  # another buyer's coupon is not revealed
            raise NotFound(f"{where}: not one of your coupons", details=[{"field": where, "message": "not found"}])
        c = coupons[uc.coupon_id]
        if uc.status != U.AVAILABLE:
            raise Conflict(f"{where}: this coupon was already used", code=PromoCode.COUPON_USED,
                           details=[{"field": where, "order_id": uc.order_id}])
        problem = _window_problem(c, now)
        if problem:
            raise Conflict(f"{where}: {problem[1]}", code=problem[0], details=[{"field": where}])
        if c.new_buyer_only and not await _is_new_buyer(buyer_id, conn):
            raise Conflict(f"{where}: only for buyers without a paid order yet",
                           code=PromoCode.COUPON_NEW_BUYERS_ONLY, details=[{"field": where}])
        if c.merchant_id in funders:
            raise Conflict(f"{where}: one coupon per shop and one platform coupon per order",
                           code=PromoCode.COUPON_NOT_STACKABLE,
                           details=[{"field": where, "with": f"coupon_ids.{funders[c.merchant_id]}"}])
        funders[c.merchant_id] = i
        ordered.append((i, uc, c))
    # The shops' coupons first, then the platform's on what is left.
    ordered.sort(key=lambda t: (t[2].merchant_id is None, t[0]))
    pricing = CouponPricing(amounts={x.sku_id: x.amount for x in lines})
    left = {x.sku_id: x.amount - 1 for x in lines}  # every line keeps at least 1 fen to pay
    for i, uc, c in ordered:
        where = f"coupon_ids.{i}"
        eligible = {x.sku_id: left[x.sku_id] for x in lines
                    if _covers(c, x.product_id, x.merchant_id, categories.get(x.product_id))}
        if not eligible:
            raise Conflict(f"{where}: nothing in this order is covered by the coupon ({c.name})",
                           code=PromoCode.COUPON_NOT_APPLICABLE, details=[{"field": where, "reason": "scope"}])
        base = sum(x.amount for x in lines if x.sku_id in eligible)
        if base < c.threshold_fen:
            raise Conflict(f"{where}: the goods it covers come to {yuan(base)} 元; it needs {yuan(c.threshold_fen)} 元",
                           code=PromoCode.COUPON_NOT_APPLICABLE,
                           details=[{"field": where, "reason": "threshold", "short_fen": c.threshold_fen - base}])
        saving = min(_saving(c, base), sum(eligible.values()))
        if saving <= 0:
            raise Conflict(f"{where}: the coupon saves nothing on this order", code=PromoCode.COUPON_NOT_APPLICABLE,
                           details=[{"field": where, "reason": "nothing_to_save"}])
        for sku_id, part in _allocate(saving, eligible).items():
            left[sku_id] -= part
            pricing.line_discount[sku_id] = pricing.line_discount.get(sku_id, 0) + part
            if c.merchant_id is None:
                pricing.line_platform[sku_id] = pricing.line_platform.get(sku_id, 0) + part
        pricing.user_coupon_ids.append(uc.id)
        pricing.fields[uc.id] = f"coupon_ids.{i}"
        pricing.discounts.append({"user_coupon_id": uc.id, "coupon_id": c.id, "name": c.name, "kind": c.kind,
                                  "funder": c.funder, "merchant_id": c.merchant_id, "amount_fen": saving})
    pricing.discount_fen = sum(d["amount_fen"] for d in pricing.discounts)
    return pricing


async def spend(conn: Any, buyer_id: int, pricing: CouponPricing, order_id: int) -> None:
    """Mark the priced coupons used by the order just written (its transaction): each with a guarded
    update (available -> used), so a coupon is spent once; a checkout that lost the race is a 409 and
    rolls back whole. After the order's stock write, and in id order, so checkouts, cancels and refunds
    all lock stock before coupons and coupons in one order (no deadlock between them)."""
    now = clock.now()
    for d in sorted(pricing.discounts, key=lambda d: d["user_coupon_id"]):
        n = await UserCoupon.filter(id=d["user_coupon_id"], user_id=buyer_id, status=U.AVAILABLE).using_db(
            conn).update(status=U.USED, order_id=order_id, used_at=now, discount_fen=d["amount_fen"],
                         released_at=None, release_reason="")
        if n == 0:  # spent by a checkout that committed since we read it
            where = pricing.fields[d["user_coupon_id"]]
            raise Conflict(f"{where}: this coupon was already used", code=PromoCode.COUPON_USED,
                           details=[{"field": where}])
    for coupon_id in sorted({d["coupon_id"] for d in pricing.discounts}):
        await Coupon.filter(id=coupon_id).using_db(conn).update(used_count=F("used_count") + 1)


async def release_for_order(conn: Any, order_id: int, reason: str, *, refund: bool = False) -> list[int]:
    """Give back the coupons an order spent (an unpaid order cancelled; refund=True: the order fully
    refunded, then only coupons with return_on_refund that are still valid). Inside the transaction
    that cancels or closes the order, once (that move is guarded)."""
    rows = await UserCoupon.filter(order_id=order_id, status=U.USED).using_db(conn)
    if not rows:
        return []
    coupons = {c.id: c for c in await Coupon.filter(id__in={r.coupon_id for r in rows}).using_db(conn)}
    now = clock.now()
    back = [r for r in rows if not refund or (coupons[r.coupon_id].return_on_refund
                                              and coupons[r.coupon_id].valid_until > now)]
    released: list[int] = []
    for r in sorted(back, key=lambda r: r.id):  # id order, as spend() locks them
        n = await UserCoupon.filter(id=r.id, status=U.USED, order_id=order_id).using_db(conn).update(
            status=U.AVAILABLE, order_id=None, discount_fen=0, used_at=None, released_at=now,
            release_reason=reason[:32])
        if n:
            released.append(r.coupon_id)
    for coupon_id in sorted(released):
        await Coupon.filter(id=coupon_id).using_db(conn).update(used_count=F("used_count") - 1)
    return [r.id for r in back]
