"""Festival campaigns (节庆活动): the county office builds one from products and coupons with a start
and an end; the mini-program shows the running one (cached like the catalogue: Redis entries under
the catalogue's and the promotions' namespace versions, never past the campaign's next start or end);
its figures (orders, GMV, coupons used) show on the console and the big screen.

Two published campaigns never overlap: publishing (or editing a published one) checks under a lock
that serialises every such check (a PostgreSQL transaction advisory lock; SQLite writes one at a time)."""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.functions import Count, Sum

from server.catalog import cache
from server.kit import audit, clock, local_cache, runtime
from server.kit import redis as kr
from server.kit.db import atomic, on_commit
from server.kit.errors import Conflict, KitCode, NotFound, ValidationFailed
from server.models.catalog import Product
from server.models.orders import Order, OrderLine
from server.models.promotions import Campaign, Coupon, UserCoupon, UserCouponStatus
from server.promotions import service as coupons
from server.promotions.errors import PromoCode
from server.promotions.schemas import (CampaignFiguresOut, CampaignIn, CampaignOut, CampaignPageOut,
                                       CampaignProductOut)

log = logging.getLogger("kazuo.promotions")
NS = "promo"  # cache namespace of the campaign pages
LOCK_KEY = 2_802_801  # advisory lock id: publishing campaigns (issue #28)
FIGURED_AT_ONCE = 2  # campaigns whose figures (two statements each) the office's list reads side by side
PAID = ("paid", "in_fulfilment", "ready_for_pickup", "out_for_delivery", "delivered", "completed", "closed")


def state_of(c: Campaign, now: datetime | None = None) -> str:
    """draft | upcoming | running | ended | withdrawn."""
    if c.status != "published":
        return c.status
    now = now or clock.now()
    return "upcoming" if now < c.starts_at else ("running" if now < c.ends_at else "ended")


def campaign_out(c: Campaign) -> CampaignOut:
    return CampaignOut(id=c.id, title=c.title, description=c.description, banner=c.banner, starts_at=c.starts_at,
                       ends_at=c.ends_at, product_ids=list(c.product_ids or []), coupon_ids=list(c.coupon_ids or []),
                       status=c.status, state=state_of(c))


async def _invalidate() -> None:
    await kr.bump_namespace(NS)
    await local_cache.invalidate("catalog", NS)


async def _check_members(data: CampaignIn) -> None:
    pids = list(dict.fromkeys(data.product_ids))
    found = set(await Product.filter(id__in=pids).values_list("id", flat=True))
    missing = [i for i in pids if i not in found]
    if missing:
        raise ValidationFailed.field("product_ids", f"no such product: {missing[:5]}")
    cids = list(dict.fromkeys(data.coupon_ids))
    found = set(await Coupon.filter(id__in=cids).values_list("id", flat=True))
    missing = [i for i in cids if i not in found]
    if missing:
        raise ValidationFailed.field("coupon_ids", f"no such coupon: {missing[:5]}")


async def _refuse_overlap(conn: Any, campaign_id: int, starts_at: datetime, ends_at: datetime) -> None:
    """409 naming the published campaign whose time overlaps [starts_at, ends_at)."""
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [LOCK_KEY])
    other = await (Campaign.filter(status="published", starts_at__lt=ends_at, ends_at__gt=starts_at)
                   .exclude(id=campaign_id).using_db(conn).order_by("starts_at").first())
    if other is not None:
        sh = clock.SHANGHAI
        raise Conflict(f"overlaps the campaign 「{other.title}」 ({other.starts_at.astimezone(sh):%Y-%m-%d %H:%M} – "
                       f"{other.ends_at.astimezone(sh):%Y-%m-%d %H:%M}); one campaign at a time",
                       code=PromoCode.CAMPAIGN_OVERLAP,
                       details=[{"field": "starts_at", "campaign_id": other.id, "title": other.title}])


async def create_campaign(data: CampaignIn, *, actor_id: int) -> CampaignOut:
    """A new campaign, as a draft (publish it to show it)."""
    await _check_members(data)
    async with atomic() as conn:
        c = await Campaign.create(title=data.title, description=data.description, banner=data.banner,
                                  starts_at=data.starts_at, ends_at=data.ends_at,
                                  product_ids=list(dict.fromkeys(data.product_ids)),
                                  coupon_ids=list(dict.fromkeys(data.coupon_ids)), created_by=actor_id, using_db=conn)
        await audit.record(actor_id, "campaign.create", "campaign", c.id, {"title": c.title}, conn=conn)
    return campaign_out(c)


async def update_campaign(campaign_id: int, data: CampaignIn, *, actor_id: int) -> CampaignOut:
    """Edit a campaign that has not ended (a published one keeps clear of the others)."""
    await _check_members(data)
    async with atomic() as conn:
        c = await Campaign.filter(id=campaign_id).using_db(conn).select_for_update().first()
        if c is None:
            raise NotFound("campaign not found")
        if state_of(c) in ("ended", "withdrawn"):
            raise Conflict("an ended or withdrawn campaign is kept as it was", code=KitCode.INVALID_TRANSITION)
        if c.status == "published":
            await _refuse_overlap(conn, c.id, data.starts_at, data.ends_at)
        await Campaign.filter(id=c.id).using_db(conn).update(
            title=data.title, description=data.description, banner=data.banner, starts_at=data.starts_at,
            ends_at=data.ends_at, product_ids=list(dict.fromkeys(data.product_ids)),
            coupon_ids=list(dict.fromkeys(data.coupon_ids)), updated_at=clock.now())
        await audit.record(actor_id, "campaign.update", "campaign", c.id, {"title": data.title}, conn=conn)
        on_commit(_invalidate)
        c = await Campaign.get(id=c.id, using_db=conn)
    return campaign_out(c)


async def publish(campaign_id: int, *, actor_id: int) -> CampaignOut:
    """Publish a draft: refused (409, naming it) when another published campaign overlaps its time."""
    async with atomic() as conn:
        c = await Campaign.filter(id=campaign_id).using_db(conn).select_for_update().first()
        if c is None:
            raise NotFound("campaign not found")
        if c.status != "draft":
            raise Conflict(f"the campaign is {c.status}; only a draft can be published",
                           code=KitCode.INVALID_TRANSITION)
        if c.ends_at <= clock.now():
            raise ValidationFailed.field("ends_at", "the campaign would already be over")
        await _refuse_overlap(conn, c.id, c.starts_at, c.ends_at)
        await Campaign.filter(id=c.id, status="draft").using_db(conn).update(status="published", updated_at=clock.now())
        await audit.record(actor_id, "campaign.publish", "campaign", c.id, {}, conn=conn)
        on_commit(_invalidate)
        c.status = "published"
    return campaign_out(c)


async def withdraw(campaign_id: int, *, actor_id: int) -> CampaignOut:
    """Take a published campaign down (its figures stay)."""
    async with atomic() as conn:
        n = await Campaign.filter(id=campaign_id, status="published").using_db(conn).update(
            status="withdrawn", updated_at=clock.now())
        c = await Campaign.get_or_none(id=campaign_id, using_db=conn)
        if c is None:
            raise NotFound("campaign not found")
        if n == 0:
            raise Conflict(f"the campaign is {c.status}; only a published one can be withdrawn",
                           code=KitCode.INVALID_TRANSITION)
        await audit.record(actor_id, "campaign.withdraw", "campaign", c.id, {}, conn=conn)
        on_commit(_invalidate)
    return campaign_out(c)


async def get_campaign(campaign_id: int) -> CampaignOut:
    c = await Campaign.get_or_none(id=campaign_id)
    if c is None:
        raise NotFound("campaign not found")
    return campaign_out(c)


async def list_campaigns(limit: int = 100) -> list[CampaignOut]:
    """Every campaign, latest start first (the office's list)."""
    return [campaign_out(c) for c in await Campaign.all().order_by("-starts_at", "-id").limit(limit)]


# ---- the mini-program page (cached) ------------------------------------------------------------
async def _page(campaign: Campaign | None) -> dict:
    if campaign is None:
        return CampaignPageOut(campaign=None, products=[], coupons=[]).model_dump(mode="json")
    pids = list(campaign.product_ids or [])
    rows = {p.id: p for p in await Product.filter(id__in=pids, status="on_sale")}
    products = []
    for pid in pids:
        p = rows.get(pid)
        if p is None:
            continue
        images = p.images if isinstance(p.images, list) else []
        products.append(CampaignProductOut(id=p.id, name=p.name, image=images[0] if images else "",
                                           min_price=p.min_price, merchant_id=p.merchant_id))
    cps = await coupons.claimable(coupon_ids=campaign.coupon_ids or [])
    return CampaignPageOut(campaign=campaign_out(campaign), products=products, coupons=cps).model_dump(mode="json")


def _ttl_until(boundary: datetime | None) -> int:
    """The cache life: the setting, never past the next start or end (the page changes then)."""
    life = runtime.settings().promotions_page_cache_seconds
    if boundary is not None:
        life = min(life, max(int((boundary - clock.now()).total_seconds()), 0))
    return life


async def running_page() -> bytes:
    """The running campaign's page (JSON bytes): campaign None when none is running."""
    box: dict = {}

    async def load() -> dict:
        now = clock.now()
        running = await Campaign.filter(status="published", starts_at__lte=now, ends_at__gt=now).order_by("id").first()
        upcoming = await Campaign.filter(status="published", starts_at__gt=now).order_by("starts_at").first()
        box["until"] = running.ends_at if running else (upcoming.starts_at if upcoming else None)
        return await _page(running)

    return await cache.cached_bytes((cache.CATALOG_NS, NS), "campaign:running", load,
                                    lambda _v: _ttl_until(box.get("until")))


async def campaign_page(campaign_id: int) -> bytes:
    """A published campaign's page by id (upcoming, running or ended: a shared link keeps working)."""
    box: dict = {}

    async def load() -> dict:
        c = await Campaign.get_or_none(id=campaign_id, status="published")
        if c is None:
            raise NotFound("campaign not found")
        now = clock.now()
        box["until"] = c.starts_at if now < c.starts_at else (c.ends_at if now < c.ends_at else None)
        return await _page(c)

    return await cache.cached_bytes((cache.CATALOG_NS, NS), f"campaign:{campaign_id}", load,
                                    lambda _v: _ttl_until(box.get("until")))


# ---- figures -------------------------------------------------------------------------------------
async def figures(campaign_id: int) -> CampaignFiguresOut:
    """Orders paid during the campaign that hold one of its products or spent one of its coupons, their
    GMV (paid, fen), and the campaign's coupons used then (with what they saved)."""
    c = await Campaign.get_or_none(id=campaign_id)
    if c is None:
        raise NotFound("campaign not found")
    return await _figures(c)


async def _figures(c: Campaign | CampaignOut) -> CampaignFiguresOut:
    end = min(c.ends_at, clock.now())
    window = {"paid_at__gte": c.starts_at, "paid_at__lt": end, "status__in": PAID}
    used = UserCoupon.filter(coupon_id__in=c.coupon_ids or [], status=UserCouponStatus.USED,
                             used_at__gte=c.starts_at, used_at__lt=end)
    paid = Subquery(Order.filter(**window).values("id"))
    via = []   # the orders paid then that hold one of its products or spent one of its coupons
    if c.product_ids:   # (order lines have no index by product: they are reached from the window's orders)
        via.append(Q(id__in=Subquery(OrderLine.filter(product_id__in=c.product_ids, order_id__in=paid)
                                     .values("order_id"))))
    if c.coupon_ids:
        via.append(Q(id__in=Subquery(used.values("order_id"))))
    if not via:
        return CampaignFiguresOut(orders=0, gmv_fen=0, coupons_used=0, discount_fen=0)
    reads = [Order.filter(Q(*via, join_type="OR"), **window).annotate(n=Count("id"), s=Sum("paid_fen"))
             .first().values("n", "s")]
    if c.coupon_ids:
        reads.append(used.filter(order_id__in=paid).annotate(n=Count("id"), s=Sum("discount_fen"))
                     .first().values("n", "s"))
    # side by side: each sequential read is one more event-loop turn under load
    orders, *coupons_used = await asyncio.gather(*reads)
    orders, used_row = orders or {}, (coupons_used[0] if coupons_used else None) or {}
    return CampaignFiguresOut(orders=int(orders.get("n") or 0), gmv_fen=int(orders.get("s") or 0),
                              coupons_used=int(used_row.get("n") or 0), discount_fen=int(used_row.get("s") or 0))


async def figures_of(rows: list[CampaignOut]) -> dict[int, CampaignFiguresOut]:
    """{campaign id: figures} of the listed campaigns that are running or have ended (the office's list)."""
    shown = [c for c in rows if c.state in ("running", "ended")]
    out: dict[int, CampaignFiguresOut] = {}
    # two campaigns side by side at a time (4 reads of the 6 pooled connections): one event-loop turn each
    for i in range(0, len(shown), FIGURED_AT_ONCE):
        chunk = shown[i:i + FIGURED_AT_ONCE]
        out.update(zip([c.id for c in chunk], await asyncio.gather(*[_figures(c) for c in chunk]), strict=True))
    return out


async def screen_figures() -> dict | None:
    """The running campaign and its figures, for the big screen (None when none runs)."""
    now = clock.now()
    c = await Campaign.filter(status="published", starts_at__lte=now, ends_at__gt=now).order_by("id").first()
    if c is None:
        return None
    f = await _figures(c)
    return {"id": c.id, "title": c.title, "ends_at": c.ends_at.isoformat(), **f.model_dump()}
