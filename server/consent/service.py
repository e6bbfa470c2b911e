"""Live selling consent (直播带货授权). A livestreamer may sell another merchant's goods on air only
with that merchant's consent: a proposal (SKU, lowest live price, highest commission, most units,
days) the merchant accepted, or the product in the office's live product pool (选品池) of products
whose merchants agreed to standard terms (live price at least min_price_bp of the list price,
commission at most max_commission_bp). A merchant's own goods (the room sells for that merchant, or
the caller is one of its members) need no consent.

check() is called by live.service when a tie-in is attached or changed; a tie-in without consent is
refused with 409 live_consent_required and the reason."""
from __future__ import annotations

from tortoise.expressions import Q

from server.consent.schemas import ConsentOut, ConsentsQuery, DecisionIn, PoolIn, PoolOut, ProposalIn
from server.kit import audit, clock
from server.kit.auth import Principal, Role
from server.kit.db import atomic, id_page, name_of
from server.kit.errors import Conflict, NotFound, ValidationFailed
from server.kit.money import apply_rate, yuan
from server.kit.schemas import Page
from server.models.accounts import User
from server.models.catalog import Product, Sku
from server.models.live import LiveSession, LivestreamerProfile
from server.models.live_consent import ConsentStatus, LiveConsent, LivePoolProduct
from server.models.merchants import Merchant
from server.consent.errors import ConsentCode


# ---- the check ----------------------------------------------------------------------------------
def _min_pool_price(list_price: int, min_price_bp: int) -> int:
    return apply_rate(list_price, min_price_bp)


async def check(s: LiveSession, caller: Principal, sku: Sku, merchant_id: int, *, live_price: int,
                commission_bp: int, quota: int, conn=None) -> None:
    """Refuse (409 live_consent_required, with the reason) a tie-in of another merchant's goods that
    neither an accepted consent of the session's livestreamer nor the pool covers."""
    if merchant_id == s.merchant_id or merchant_id in caller.merchant_ids:
        return  # the merchant's own goods
    day = s.scheduled_at.astimezone(clock.SHANGHAI).date()
    consents = await LiveConsent.filter(livestreamer_id=s.livestreamer_id, sku_id=sku.id,
                                        status=ConsentStatus.ACCEPTED, starts_on__lte=day,
                                        ends_on__gte=day).using_db(conn)
    reasons: list[str] = []
    for c in consents:
        bad = []
        if live_price < c.live_price:
            bad.append(f"live price below the agreed ¥{yuan(c.live_price)}")
        if commission_bp > c.commission_bp:
            bad.append(f"commission above the agreed {c.commission_bp} bp")
        if quota > c.quota:
            bad.append(f"quota above the agreed {c.quota}")
        if not bad:
            return
        reasons.append(f"consent #{c.id}: " + ", ".join(bad))
    pool = await LivePoolProduct.filter(product_id=sku.product_id, is_active=True).using_db(conn).first()
    if pool is not None:
        floor = _min_pool_price(sku.list_price, pool.min_price_bp)
        bad = []
        if live_price < floor:
            bad.append(f"live price below the pool's ¥{yuan(floor)}")
        if commission_bp > pool.max_commission_bp:
            bad.append(f"commission above the pool's {pool.max_commission_bp} bp")
        if not bad:
            return
        reasons.append("live product pool: " + ", ".join(bad))
    if not reasons:
        reasons.append(f"merchant #{merchant_id} has not consented to this livestreamer selling the product on "
                       f"{day.isoformat()} (propose it to the merchant, or ask the office for the live product pool)")
    raise Conflict("; ".join(reasons), code=ConsentCode.LIVE_CONSENT_REQUIRED,
                   details={"merchant_id": merchant_id, "sku_id": sku.id})


# ---- proposals ----------------------------------------------------------------------------------
async def _outs(rows: list[LiveConsent]) -> list[ConsentOut]:
    skus = {s.id: s for s in await Sku.filter(id__in={r.sku_id for r in rows})}
    products = dict(await Product.filter(id__in={r.product_id for r in rows}).values_list("id", "name"))
    merchants = dict(await Merchant.filter(id__in={r.merchant_id for r in rows}).values_list("id", "name"))
    names = dict(await LivestreamerProfile.filter(user_id__in={r.livestreamer_id for r in rows})
                 .values_list("user_id", "display_name"))
    nick = dict(await User.filter(id__in={r.livestreamer_id for r in rows}).values_list("id", "nickname"))
    return [ConsentOut.model_validate(r).model_copy(update={
        "livestreamer_name": names.get(r.livestreamer_id) or nick.get(r.livestreamer_id) or "",
        "merchant_name": merchants.get(r.merchant_id, ""), "product_name": products.get(r.product_id, ""),
        "sku_spec": skus[r.sku_id].spec if r.sku_id in skus else "",
        "list_price": skus[r.sku_id].list_price if r.sku_id in skus else 0}) for r in rows]


async def propose(p: Principal, body: ProposalIn) -> ConsentOut:
    """A livestreamer proposes to sell a merchant's SKU on air (the merchant accepts or declines)."""
    if not p.has(Role.livestreamer):
        raise NotFound("not a livestreamer")
    sku = await Sku.get_or_none(id=body.sku_id, is_active=True).prefetch_related("product")
    if sku is None or sku.product.status != "on_sale":
        raise ValidationFailed.field("sku_id", "no such SKU on sale")
    if body.live_price > sku.list_price:
        raise ValidationFailed.field("live_price", f"the live price must not exceed the list price ({sku.list_price})")
    if body.ends_on < clock.local_today():
        raise ValidationFailed.field("ends_on", "the days have passed")
    async with atomic() as conn:
        c = await LiveConsent.create(livestreamer_id=p.user_id, merchant_id=sku.product.merchant_id,
                                     product_id=sku.product_id, sku_id=sku.id, live_price=body.live_price,
                                     commission_bp=body.commission_bp, quota=body.quota, starts_on=body.starts_on,
                                     ends_on=body.ends_on, note=body.note, using_db=conn)
        await audit.record(p.user_id, "live.consent_propose", "merchant", c.merchant_id,
                           {"consent_id": c.id, "sku_id": sku.id}, conn=conn)
    return (await _outs([c]))[0]


async def _page(qs, q: ConsentsQuery) -> Page[ConsentOut]:
    if q.status:
        qs = qs.filter(status=q.status)
    rows, nxt = await id_page(qs, q.cursor, q.limit, newest_first=True)
    return Page[ConsentOut](items=await _outs(rows), next_cursor=nxt)


async def my_proposals(p: Principal, q: ConsentsQuery) -> Page[ConsentOut]:
    """The livestreamer's own proposals, newest first."""
    return await _page(LiveConsent.filter(livestreamer_id=p.user_id), q)


async def merchant_proposals(p: Principal, q: ConsentsQuery) -> Page[ConsentOut]:
    """Proposals to the caller's merchants (a member sees its merchants' only), newest first."""
    return await _page(LiveConsent.filter(merchant_id__in=list(p.merchant_ids) or [-1]), q)


async def _decide(p: Principal, consent_id: int, cond: Q, new: str, from_status: tuple[str, ...], action: str,
                  note: str) -> ConsentOut:
    c = await LiveConsent.filter(Q(id=consent_id) & cond).first()
    if c is None:
        raise NotFound("proposal not found")
    async with atomic() as conn:
        n = await LiveConsent.filter(id=c.id, status__in=from_status).using_db(conn).update(
            status=new, decided_by=p.user_id, decided_at=clock.now(), decision_note=note)
        if not n:
            raise Conflict(f"the proposal is {c.status}", code=ConsentCode.CONSENT_DECIDED)
        await audit.record(p.user_id, action, "merchant", c.merchant_id, {"consent_id": c.id}, conn=conn)
    return (await _outs([await LiveConsent.get(id=c.id)]))[0]


def _members_of(p: Principal) -> Q:
    return Q(merchant_id__in=list(p.merchant_ids) or [-1])


async def accept(p: Principal, consent_id: int, body: DecisionIn) -> ConsentOut:
    """The merchant accepts a proposal: the livestreamer may tie the SKU in within its terms."""
    return await _decide(p, consent_id, _members_of(p), ConsentStatus.ACCEPTED, (ConsentStatus.PROPOSED,),
                         "live.consent_accept", body.note)


async def decline(p: Principal, consent_id: int, body: DecisionIn) -> ConsentOut:
    """The merchant declines a proposal (or withdraws an accepted consent for tie-ins to come)."""
    return await _decide(p, consent_id, _members_of(p), ConsentStatus.DECLINED,
                         (ConsentStatus.PROPOSED, ConsentStatus.ACCEPTED), "live.consent_decline", body.note)


async def withdraw(p: Principal, consent_id: int) -> ConsentOut:
    """The livestreamer withdraws their own proposal or consent."""
    return await _decide(p, consent_id, Q(livestreamer_id=p.user_id), ConsentStatus.WITHDRAWN,
                         (ConsentStatus.PROPOSED, ConsentStatus.ACCEPTED), "live.consent_withdraw", "")


# ---- the live product pool (选品池) ---------------------------------------------------------------
async def _pool_outs(rows: list[LivePoolProduct]) -> list[PoolOut]:
    products = dict(await Product.filter(id__in={r.product_id for r in rows}).values_list("id", "name"))
    merchants = dict(await Merchant.filter(id__in={r.merchant_id for r in rows}).values_list("id", "name"))
    return [PoolOut.model_validate(r).model_copy(update={"product_name": products.get(r.product_id, ""),
                                                         "merchant_name": merchants.get(r.merchant_id, "")})
            for r in rows]


async def pool(*, merchant_ids: list[int] | None = None, active_only: bool = True) -> list[PoolOut]:
    """The pool's products, newest first (merchant_ids: only these merchants')."""
    qs = LivePoolProduct.annotate(product_name=name_of(Product, LivePoolProduct, "product_id"),
                                  merchant_name=name_of(Merchant, LivePoolProduct, "merchant_id"))
    if active_only:
        qs = qs.filter(is_active=True)
    if merchant_ids is not None:
        qs = qs.filter(merchant_id__in=merchant_ids or [-1])
    # the names in the rows' statement: each lookup after it was one more event-loop turn under load
    return [PoolOut.model_validate(r) for r in await qs.order_by("-id").limit(500)]


async def pool_add(body: PoolIn, *, actor_id: int) -> PoolOut:
    """Put a product in the pool (or change its standard terms); audited."""
    prod = await Product.get_or_none(id=body.product_id)
    if prod is None:
        raise ValidationFailed.field("product_id", "no such product")
    async with atomic() as conn:
        row = await LivePoolProduct.filter(product_id=prod.id).using_db(conn).select_for_update().first()
        values = dict(min_price_bp=body.min_price_bp, max_commission_bp=body.max_commission_bp,
                      agreement=body.agreement, is_active=True, added_by=actor_id)
        if row is None:
            row = await LivePoolProduct.create(product_id=prod.id, merchant_id=prod.merchant_id, using_db=conn,
                                               **values)
        else:
            await LivePoolProduct.filter(id=row.id).using_db(conn).update(**values)
        await audit.record(actor_id, "live.pool_add", "product", prod.id, body.model_dump(), conn=conn)
    return (await _pool_outs([await LivePoolProduct.get(id=row.id)]))[0]


async def pool_remove(pool_id: int, *, actor_id: int) -> PoolOut:
    """Take a product out of the pool (tie-ins already made stay; new ones need a consent)."""
    async with atomic() as conn:
        n = await LivePoolProduct.filter(id=pool_id, is_active=True).using_db(conn).update(is_active=False)
        if not n:
            raise NotFound("pool product not found")
        row = await LivePoolProduct.get(id=pool_id, using_db=conn)
        await audit.record(actor_id, "live.pool_remove", "product", row.product_id, {"pool_id": pool_id}, conn=conn)
    return (await _pool_outs([row]))[0]

