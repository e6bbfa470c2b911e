"""Sharing (分享): a buyer shares a product (or, through the same poster function, a campaign); the share
has an id, its poster's mini-program code carries the product and the share in the scene, the
mini-program passes the share id to checkout, and the order records which share brought it.

Attribution is one level only (no commission, no chain): the sharer and the poster of the order's
share are recorded, shown to the office and counted in the figures (stats dimension share/all). A
buyer's own share does not attribute their order. The attribution row is written right after the
order's checkout commits (the checkout's hot path stays one statement); it is keyed by the order,
so a retried checkout writes it once."""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from server.kit import clock, pools, runtime
from server.kit import redis as kr
from server.kit.errors import AppError, NotFound, ValidationFailed
from server.kit.money import yuan
from server.media.storage import get_storage, key_of
from server.models.accounts import User
from server.models.catalog import Product
from server.models.orders import Order, OrderStatus
from server.models.sharing import Share, ShareAttribution
from server.promotions import campaigns
from server.promotions.schemas import CampaignOut
from server.sharing import poster
from server.sharing.errors import SharingCode
from server.sharing.schemas import (AttributionOut, AttributionReport, OrderShareOut, SceneOut, ShareOut,
                                    SharerFigure)

log = logging.getLogger("kazuo.sharing")
CODE_TTL = 7 * 86400
POSTER_TTL = 86400
POSTERS_PER_MINUTE = 20  # drawn (not cached) posters per sharer: each costs CPU and a WeChat code call
KINDS = {"product": "p", "campaign": "c"}   # scene letter of each share kind
PAID = (OrderStatus.PAID, OrderStatus.IN_FULFILMENT, OrderStatus.READY_FOR_PICKUP, OrderStatus.OUT_FOR_DELIVERY,
        OrderStatus.DELIVERED, OrderStatus.COMPLETED)
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def b36(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = _DIGITS[r] + out
        if n == 0:
            return out


def scene(kind: str, target_id: int, share_id: int) -> str:
    """getUnlimited's scene (≤32 visible characters): p=<product>&s=<share>, ids in base 36
    (two 63-bit ids fit: 2 + 13 + 3 + 13 = 31 characters)."""
    return f"{KINDS[kind]}={b36(target_id)}&s={b36(share_id)}"


def decode_scene(text: str) -> tuple[str, int, int]:
    """(kind, target id, share id) of a scene; 422 bad_scene when it is not one of ours."""
    letters = {v: k for k, v in KINDS.items()}
    try:
        parts = dict(p.split("=", 1) for p in text.split("&"))
        (letter,) = [k for k in parts if k in letters]
        target, share = int(parts[letter], 36), int(parts["s"], 36)
    except (ValueError, KeyError):
        raise AppError("not a share code's scene", code=SharingCode.BAD_SCENE, status=422,
                       details=[{"field": "scene", "message": "p=<product>&s=<share>"}]) from None
    if not (0 < target < 2**63 and 0 < share < 2**63) or set(parts) != {letter, "s"}:
        raise AppError("not a share code's scene", code=SharingCode.BAD_SCENE, status=422,
                       details=[{"field": "scene", "message": "p=<product>&s=<share>"}])
    return letters[letter], target, share


def page_of(kind: str) -> str:
    """The mini-program page a share of this kind opens (?id=<target>&share=<share>)."""
    st = runtime.settings()
    return st.share_campaign_page if kind == "campaign" else st.share_product_page


def _out(s: Share) -> ShareOut:
    page = page_of(s.kind)
    return ShareOut(share_id=s.id, kind=s.kind, target_id=s.target_id, scene=scene(s.kind, s.target_id, s.id),
                    path=f"{page}?id={s.target_id}&share={s.id}",
                    poster_url=f"/api/v1/shares/{s.id}/poster.png")


async def _visible_product(product_id: int) -> Product:
    p = await Product.get_or_none(id=product_id, visible=True)
    if p is None:
        raise NotFound("product not found")
    return p


async def share_product(sharer_id: int, product_id: int) -> ShareOut:
    """The caller's share of an on-sale product (the same share when asked again)."""
    p = await _visible_product(product_id)
    await Share.bulk_create([Share(sharer_id=sharer_id, kind="product", target_id=p.id)], ignore_conflicts=True)
    return _out(await Share.get(sharer_id=sharer_id, kind="product", target_id=p.id))


async def _shareable_campaign(campaign_id: int, *, running_only: bool = True) -> CampaignOut:
    """A published campaign (404 for a draft, a withdrawn one or none); 409 campaign_ended once it
    ended when a new share or poster is asked for (a share already made keeps opening its page)."""
    try:
        c = await campaigns.get_campaign(campaign_id)
    except NotFound:
        raise NotFound("campaign not found") from None
    if c.status != "published":
        raise NotFound("campaign not found")
    if running_only and c.state == "ended":
        raise AppError("the campaign has ended", code=SharingCode.CAMPAIGN_ENDED, status=409)
    return c


async def share_campaign(sharer_id: int, campaign_id: int) -> ShareOut:
    """The caller's share of a published campaign not yet ended (the same share when asked again)."""
    c = await _shareable_campaign(campaign_id)
    await Share.bulk_create([Share(sharer_id=sharer_id, kind="campaign", target_id=c.id)], ignore_conflicts=True)
    return _out(await Share.get(sharer_id=sharer_id, kind="campaign", target_id=c.id))


async def resolve_scene(text: str) -> SceneOut:
    """What a share code opens: the product and the share to pass on to checkout (404: no such share)."""
    kind, target, share_id = decode_scene(text)
    s = await Share.get_or_none(id=share_id, kind=kind, target_id=target)
    if s is None:
        raise NotFound("share not found")
    if kind == "campaign":
        await _shareable_campaign(target, running_only=False)  # a withdrawn campaign opens nothing
    page = page_of(kind)
    return SceneOut(kind=kind, target_id=target, share_id=s.id, path=f"{page}?id={target}&share={s.id}")


# ---- posters --------------------------------------------------------------------------------------
async def _picture(url: str) -> bytes | None:
    """The bytes of one of our stored images (the catalogue only keeps our upload URLs)."""
    key = key_of(url)
    if key is None:
        return None
    try:
        return await get_storage().open(key)
    except Exception:  # noqa: BLE001 - gone from disk or the bucket, or the bucket down: a poster without it
        log.warning("poster picture unreadable", extra={"url": url}, exc_info=True)
        return None


async def wxacode(kind: str, target_id: int, share_id: int, page: str) -> bytes:
    """The share's mini-program code (getUnlimited, check_path=false, env_version from the setting),
    made by WeChat once and kept in Redis."""
    sc = scene(kind, target_id, share_id)
    k = kr.key("sharing", "wxacode", runtime.settings().wechat_wxacode_env_version, sc)
    cached = await kr.redis().get(k)
    if cached:
        return cached
    png = await runtime.get().extras["wechat"].wxacode_unlimited(sc, page)
    await kr.redis().set(k, png, ex=CODE_TTL)
    return png


async def render_poster(*, kind: str, target_id: int, share_id: int, title: str, price_fen: int | None,
                        picture_url: str = "", subtitle: str = "", price_suffix: str = "",
                        page: str | None = None) -> bytes:
    """A share poster for any target (a product now; a campaign through the same call, with its own
    page): the code of scene(kind, target, share) opening `page` (default: the product page), the
    picture, title, price and brand."""
    s = runtime.settings()
    code = await wxacode(kind, target_id, share_id, page or s.share_product_page)
    price = "" if price_fen is None else f"¥{yuan(price_fen)}{price_suffix}"
    spec = poster.PosterSpec(title=title, price=price, brand_line=s.share_brand_line,
                             code_png=code, picture=await _picture(picture_url) if picture_url else None,
                             subtitle=subtitle)
    return await pools.cpu(poster.render, spec)


async def share_poster(sharer_id: int, share_id: int) -> bytes:
    """The poster of the caller's own share (404 for anyone else's), drawn once per product version."""
    sh = await Share.get_or_none(id=share_id, sharer_id=sharer_id)
    if sh is None or sh.kind not in KINDS:
        raise NotFound("share not found")
    if sh.kind == "campaign":
        return await _campaign_poster(sh)
    p = await _visible_product(sh.target_id)
    k = kr.key("sharing", "poster", sh.id, int(p.updated_at.timestamp()), p.min_price)
    cached = await kr.redis().get(k)
    if cached:
        return cached
    await kr.hit_limit("share_poster", str(sharer_id), POSTERS_PER_MINUTE, 60,
                       message="too many posters, wait a minute")
    images = p.images or []
    png = await render_poster(kind="product", target_id=p.id, share_id=sh.id, title=p.name, price_fen=p.min_price,
                              picture_url=images[0] if images else "", subtitle=p.subtitle,
                              price_suffix=" 起" if await p.skus.filter(is_active=True).count() > 1 else "")
    await kr.redis().set(k, png, ex=POSTER_TTL)
    if sh.poster_at is None:
        await Share.filter(id=sh.id, poster_at=None).update(poster_at=clock.now())
    return png


def _period(c: CampaignOut) -> str:
    """The campaign's days as the buyer reads them (Asia/Shanghai): 活动时间 12月1日—12月12日."""
    a, b = c.starts_at.astimezone(clock.SHANGHAI), c.ends_at.astimezone(clock.SHANGHAI)
    return f"活动时间 {a.month}月{a.day}日—{b.month}月{b.day}日"


async def _campaign_poster(sh: Share) -> bytes:
    """A campaign share's poster: its banner, title and days, the lowest price of its goods on sale
    ("起"), and the code opening the campaign page; drawn once per version of what it shows."""
    c = await _shareable_campaign(sh.target_id)
    prices = await Product.filter(id__in=list(c.product_ids) or [0], status="on_sale", visible=True).values_list(
        "min_price", flat=True)
    low = min(prices) if prices else None
    version = hashlib.sha1(repr((c.title, c.banner, c.starts_at, c.ends_at, low)).encode()).hexdigest()[:16]
    k = kr.key("sharing", "poster", sh.id, version)
    cached = await kr.redis().get(k)
    if cached:
        return cached
    await kr.hit_limit("share_poster", str(sh.sharer_id), POSTERS_PER_MINUTE, 60,
                       message="too many posters, wait a minute")
    png = await render_poster(kind="campaign", target_id=c.id, share_id=sh.id, title=c.title, price_fen=low,
                              picture_url=c.banner, subtitle=_period(c), price_suffix=" 起",
                              page=page_of("campaign"))
    await kr.redis().set(k, png, ex=POSTER_TTL)
    if sh.poster_at is None:
        await Share.filter(id=sh.id, poster_at=None).update(poster_at=clock.now())
    return png


# ---- attribution ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ShareRef:
    id: int
    sharer_id: int
    kind: str
    target_id: int


async def check_share(share_id: int | None) -> ShareRef | None:
    """Checkout's share_id before the order is written: 422 when no such share exists."""
    if share_id is None:
        return None
    s = await Share.get_or_none(id=share_id)
    if s is None:
        raise AppError("share_id: no such share", code=SharingCode.UNKNOWN_SHARE, status=422,
                       details=[{"field": "share_id", "message": "no such share"}])
    return ShareRef(s.id, s.sharer_id, s.kind, s.target_id)


async def attribute(order_id: int, buyer_id: int, share: ShareRef | None) -> bool:
    """Record that the share brought the order (once per order; a buyer's own share does not count)."""
    if share is None or share.sharer_id == buyer_id:
        return False
    await ShareAttribution.bulk_create([ShareAttribution(
        order_id=order_id, share_id=share.id, sharer_id=share.sharer_id, buyer_id=buyer_id, kind=share.kind,
        target_id=share.target_id)], ignore_conflicts=True)
    return True


async def attributed_orders(order_ids: set[int] | list[int], conn: Any = None) -> set[int]:
    """Which of these orders a share brought (the daily figures' share/all dimension)."""
    if not order_ids:
        return set()
    return set(await ShareAttribution.filter(order_id__in=list(order_ids)).using_db(conn)
               .values_list("order_id", flat=True))


async def _campaign_titles(ids: set[int]) -> dict[int, str]:
    out = {}
    for cid in sorted(ids):
        try:
            out[cid] = (await campaigns.get_campaign(cid)).title
        except NotFound:
            pass
    return out


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    lo = datetime.combine(start, time(0), tzinfo=clock.SHANGHAI).astimezone(clock.UTC)
    hi = datetime.combine(end, time(0), tzinfo=clock.SHANGHAI).astimezone(clock.UTC) + timedelta(days=1)
    return lo, hi


async def report(start: date | None, end: date | None, *, limit: int = 50) -> AttributionReport:
    """The office's view: orders brought by shares in [start, end], by sharer, and the latest ones."""
    end = end or clock.local_today()
    start = start or end - timedelta(days=29)
    for name, d in (("from", start), ("to", end)):
        if not (2000 <= d.year <= 2100):
            raise ValidationFailed.field(name, "a day between 2000 and 2100")
    if start > end:
        raise ValidationFailed.field("from", "must not be after to")
    if (end - start).days > 366:
        raise ValidationFailed.field("from", "at most 367 days")
    lo, hi = _bounds(start, end)
    rows = await ShareAttribution.filter(created_at__gte=lo, created_at__lt=hi).order_by("-id").values(
        "order_id", "share_id", "sharer_id", "kind", "target_id", "created_at")
    orders = {o["id"]: o for o in await Order.filter(id__in=[r["order_id"] for r in rows]).values(
        "id", "order_no", "status", "paid_fen")} if rows else {}
    names = dict(await User.filter(id__in={r["sharer_id"] for r in rows}).values_list("id", "nickname")) \
        if rows else {}
    products = dict(await Product.filter(id__in={r["target_id"] for r in rows if r["kind"] == "product"})
                    .values_list("id", "name")) if rows else {}
    titles = await _campaign_titles({r["target_id"] for r in rows if r["kind"] == "campaign"})
    figures: dict[int, SharerFigure] = {}
    paid_orders = paid_fen = 0
    for r in rows:
        o = orders.get(r["order_id"], {})
        f = figures.setdefault(r["sharer_id"], SharerFigure(sharer_id=r["sharer_id"],
                               sharer_name=names.get(r["sharer_id"]) or f"用户{r['sharer_id']}",
                               orders=0, paid_orders=0, paid_fen=0))
        f.orders += 1
        if o.get("status") in PAID:
            f.paid_orders += 1
            f.paid_fen += o["paid_fen"]
            paid_orders += 1
            paid_fen += o["paid_fen"]
    recent = [AttributionOut(order_id=r["order_id"], order_no=orders.get(r["order_id"], {}).get("order_no", ""),
                             status=orders.get(r["order_id"], {}).get("status", ""),
                             paid_fen=orders.get(r["order_id"], {}).get("paid_fen", 0), share_id=r["share_id"],
                             sharer_id=r["sharer_id"],
                             sharer_name=names.get(r["sharer_id"]) or f"用户{r['sharer_id']}",
                             kind=r["kind"], target_id=r["target_id"],
                             target_name=(titles if r["kind"] == "campaign" else products).get(r["target_id"], ""),
                             created_at=r["created_at"])
              for r in rows[:limit]]
    sharers = sorted(figures.values(), key=lambda f: (-f.paid_fen, -f.orders, f.sharer_id))
    return AttributionReport(start=start, end=end, orders=len(rows), paid_orders=paid_orders, paid_fen=paid_fen,
                             sharers=sharers, recent=recent)


async def order_attribution(order_id: int) -> OrderShareOut:
    """The share that brought one order (the office's order page), if one did."""
    o = await Order.get_or_none(id=order_id)
    if o is None:
        raise NotFound("order not found")
    r = await ShareAttribution.get_or_none(order_id=order_id)
    if r is None:
        return OrderShareOut(order_id=order_id, share=None)
    rep_names = dict(await User.filter(id=r.sharer_id).values_list("id", "nickname"))
    if r.kind == "product":
        name = (await Product.filter(id=r.target_id).values_list("name", flat=True) or [""])[0]
    else:
        name = (await _campaign_titles({r.target_id})).get(r.target_id, "")
    return OrderShareOut(order_id=o.id, share=AttributionOut(
        order_id=o.id, order_no=o.order_no, status=o.status, paid_fen=o.paid_fen, share_id=r.share_id,
        sharer_id=r.sharer_id, sharer_name=rep_names.get(r.sharer_id) or f"用户{r.sharer_id}", kind=r.kind,
        target_id=r.target_id, target_name=name, created_at=r.created_at))
