"""Buyers' reviews of order lines (评价) and the ratings they make.

Rules: a line may be reviewed once, by its order's buyer, after the order completed (the mode's own
completion: pickup at the counter, station delivery, the buyer's or the automatic confirmation of
receipt) and while some of it was not refunded; appended once (追评); the merchant replies once
(商家回复). A review whose text has a listed sensitive word is held (待审核) until the office shows or
hides it; the office may hide any review with a reason (audited). Only shown reviews count.

Ratings: rating_summaries holds running totals per product, merchant and station, changed by
guarded increments (UPDATE ... SET count = count + 1) in the review's own transaction, and the
product's mean is copied to products.rating for the storefront's cards and its "rating" sort
(server/catalog/ratings.py): no page sums reviews per request."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import orjson
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from server.catalog import cache
from server.catalog import ratings as catalog_ratings
from server.kit import audit, clock, runtime
from server.kit import redis as kr
from server.kit.auth import Principal
from server.kit.db import atomic, dialect, id_page
from server.kit.errors import AppError, NotFound, ValidationFailed
from server.media import IMAGE_KINDS, store_upload
from server.media.storage import get_storage
from server.models.accounts import User
from server.models.catalog import Product
from server.models.line_reviews import LineReview, RatingSummary, ReviewStatus
from server.models.merchants import Merchant
from server.models.orders import Order, OrderLine, OrderStatus
from server.models.stations import Station
from server.notify import outbox
from server.reviews.errors import ReviewCode
from server.reviews.schemas import (AppendIn, PendingLineOut, PublicReviewQuery, ReplyIn, ReviewIn,
                                    ReviewListQuery, ReviewOut, ReviewPage)
from server.reviews.text import plain_text, screen

SUBJECTS = ("product", "merchant", "station")
_PHOTO_TAIL = re.compile(r"^\d{4}/\d{2}/[0-9a-f]{40}\.(jpg|png|webp)$")


def _out(r: LineReview, product_name: str = "") -> ReviewOut:
    return ReviewOut(id=r.id, line_id=r.line_id, order_id=r.order_id, product_id=r.product_id,
                     merchant_id=r.merchant_id, station_id=r.station_id, product_name=product_name,
                     product_stars=r.product_stars, delivery_stars=r.delivery_stars,
                     station_stars=r.station_stars, text=r.text, photos=list(r.photos or []),
                     append_text=r.append_text, append_photos=list(r.append_photos or []),
                     appended_at=r.appended_at, reply=r.reply, replied_at=r.replied_at, status=r.status,
                     flagged_words=list(r.flagged_words or []), hidden_reason=r.hidden_reason,
                     created_at=r.created_at)


async def _outs(rows: list[LineReview]) -> list[ReviewOut]:
    names = dict(await OrderLine.filter(id__in=[r.line_id for r in rows]).values_list("id", "product_name"))
    return [_out(r, names.get(r.line_id, "")) for r in rows]


def _photos(urls: list[str], field: str) -> list[str]:
    """Only photos uploaded through /review-photos (this pavilion's media, kind review)."""
    prefix = get_storage().url("review/x.jpg")[:-len("x.jpg")]
    for i, url in enumerate(urls):
        if not url.startswith(prefix) or not _PHOTO_TAIL.match(url[len(prefix):]):
            raise ValidationFailed.field(f"{field}.{i}", "upload the photo to /api/v1/review-photos first")
    if len(set(urls)) != len(urls):
        raise ValidationFailed.field(field, "the same photo twice")
    return list(urls)


# ---- the running totals -------------------------------------------------------------------------
async def _ensure_summaries(keys: list[tuple[str, int]], conn: Any) -> None:
    """Create the missing summary rows without failing the transaction on a concurrent insert."""
    now = clock.now()
    for subject, subject_id in keys:
        if dialect() == "postgres":
            sql = ("INSERT INTO rating_summaries (subject, subject_id, count, product_stars, delivery_stars, "
                   "station_count, station_stars, updated_at) VALUES ($1, $2, 0, 0, 0, 0, 0, $3) "
                   "ON CONFLICT (subject, subject_id) DO NOTHING")
        else:
            sql = ("INSERT INTO rating_summaries (subject, subject_id, count, product_stars, delivery_stars, "
                   "station_count, station_stars, updated_at) VALUES (?, ?, 0, 0, 0, 0, 0, ?) "
                   "ON CONFLICT (subject, subject_id) DO NOTHING")
        await conn.execute_query(sql, [subject, subject_id, now if dialect() == "postgres" else now.isoformat()])


def _keys(r: LineReview) -> list[tuple[str, int]]:
    keys = [("product", r.product_id), ("merchant", r.merchant_id)]
    if r.station_id is not None:
        keys.append(("station", r.station_id))
    return keys


async def _count(r: LineReview, sign: int, conn: Any) -> None:
    """Add (+1) or take away (-1) one shown review from its product's, merchant's and station's totals,
    and copy the product's new mean to the catalogue (same transaction)."""
    keys = _keys(r)
    await _ensure_summaries(keys, conn)
    rated_station = 1 if r.station_stars is not None else 0
    for subject, subject_id in keys:  # always product, merchant, station: one lock order
        await RatingSummary.filter(subject=subject, subject_id=subject_id).using_db(conn).update(
            count=F("count") + sign, product_stars=F("product_stars") + sign * r.product_stars,
            delivery_stars=F("delivery_stars") + sign * r.delivery_stars,
            station_count=F("station_count") + sign * rated_station,
            station_stars=F("station_stars") + sign * (r.station_stars or 0))
    s = await RatingSummary.filter(subject="product", subject_id=r.product_id).using_db(conn).first()
    mean = round(s.product_stars * 100 / s.count) if s and s.count > 0 else 0
    await catalog_ratings.set_product_rating(r.product_id, mean, s.count if s else 0, conn)


def _rating(s: RatingSummary | dict | None) -> dict:
    if s is None:
        return {"count": 0, "product": 0.0, "delivery": 0.0, "station": 0.0, "station_count": 0}
    g = s.get if isinstance(s, dict) else lambda k: getattr(s, k)
    n, sn = g("count"), g("station_count")
    return {"count": n, "product": round(g("product_stars") / n, 2) if n else 0.0,
            "delivery": round(g("delivery_stars") / n, 2) if n else 0.0,
            "station": round(g("station_stars") / sn, 2) if sn else 0.0, "station_count": sn}


# ---- the buyer --------------------------------------------------------------------------------
async def _my_line(buyer_id: int, line_id: int, conn: Any = None) -> tuple[OrderLine, Order]:
    line = await OrderLine.filter(id=line_id).using_db(conn).first()
    order = await Order.filter(id=line.order_id).using_db(conn).first() if line else None
    if line is None or order is None or order.buyer_id != buyer_id:
        raise NotFound("order line not found")
    return line, order


def _reviewable(line: OrderLine, order: Order) -> None:
    if order.status != OrderStatus.COMPLETED or order.completed_at is None \
            or line.refunded_qty >= line.quantity:
        raise AppError("the line can be reviewed once its order has completed", code=ReviewCode.LINE_NOT_COMPLETED,
                       status=409)
    if clock.now() > order.completed_at + timedelta(days=runtime.settings().review_window_days):
        raise AppError("the time to review this line has passed", code=ReviewCode.LINE_NOT_COMPLETED,
                       status=409)


async def create_review(buyer_id: int, line_id: int, body: ReviewIn) -> ReviewOut:
    """Review one of my completed lines (once)."""
    photos = _photos(body.photos, "photos")
    text = plain_text(body.text)
    async with atomic() as conn:
        line, order = await _my_line(buyer_id, line_id, conn)
        _reviewable(line, order)
        if order.station_id is not None and body.station_stars is None:
            raise ValidationFailed.field("station_stars", "rate the station the order went through")
        if order.station_id is None and body.station_stars is not None:
            raise ValidationFailed.field("station_stars", "the order went through no station")
        if await LineReview.filter(line_id=line.id).using_db(conn).exists():
            raise AppError("this line has been reviewed", code=ReviewCode.REVIEW_EXISTS, status=409)
        flagged = screen(text)
        try:
            r = await LineReview.create(
                line_id=line.id, order_id=order.id, buyer_id=buyer_id, merchant_id=line.merchant_id,
                product_id=line.product_id, station_id=order.station_id, product_stars=body.product_stars,
                delivery_stars=body.delivery_stars, station_stars=body.station_stars, text=text,
                photos=photos, status=ReviewStatus.HELD if flagged else ReviewStatus.VISIBLE,
                flagged_words=flagged, using_db=conn)
        except IntegrityError:  # the same line reviewed twice at once: the unique line wins once
            raise AppError("this line has been reviewed", code=ReviewCode.REVIEW_EXISTS, status=409) from None
        if r.status == ReviewStatus.VISIBLE:
            await _count(r, +1, conn)
    return _out(r, line.product_name)


async def append_review(buyer_id: int, line_id: int, body: AppendIn) -> ReviewOut:
    """Append to my review once (追评); a listed word holds the whole review for the office."""
    photos = _photos(body.photos, "photos")
    text = plain_text(body.text)
    if not text:
        raise ValidationFailed.field("text", "text is required")
    async with atomic() as conn:
        line, _ = await _my_line(buyer_id, line_id, conn)
        r = await LineReview.filter(line_id=line.id).using_db(conn).select_for_update().first()
        if r is None:
            raise NotFound("review not found")
        if r.appended_at is not None:
            raise AppError("the review has been appended to", code=ReviewCode.REVIEW_APPENDED, status=409)
        flagged = screen(text)
        r.append_text, r.append_photos, r.appended_at = text, photos, clock.now()
        if flagged and r.status == ReviewStatus.VISIBLE:
            await _count(r, -1, conn)
            r.status = ReviewStatus.HELD
        if flagged:
            r.flagged_words = sorted(set(r.flagged_words or []) | set(flagged))
        await r.save(using_db=conn)
    await cache.invalidate_product_only(r.product_id)
    return _out(r, line.product_name)


async def my_review(buyer_id: int, line_id: int) -> ReviewOut:
    line, _ = await _my_line(buyer_id, line_id)
    r = await LineReview.filter(line_id=line.id).first()
    if r is None:
        raise NotFound("review not found")
    return _out(r, line.product_name)


async def my_reviews(buyer_id: int, cursor: str | None, limit: int) -> ReviewPage:
    """My reviews, newest first."""
    rows, nxt = await id_page(LineReview.filter(buyer_id=buyer_id), cursor, limit, newest_first=True)
    return ReviewPage(items=await _outs(rows), next_cursor=nxt)


async def pending_lines(buyer_id: int, limit: int = 50) -> list[PendingLineOut]:
    """My completed lines still waiting for a review (待评价), newest order first."""
    since = clock.now() - timedelta(days=runtime.settings().review_window_days)
    orders = await (Order.filter(buyer_id=buyer_id, status=OrderStatus.COMPLETED, completed_at__gte=since)
                    .order_by("-completed_at").limit(limit).values("id", "station_id", "completed_at"))
    if not orders:
        return []
    by_id = {o["id"]: o for o in orders}
    lines = await OrderLine.filter(order_id__in=list(by_id)).order_by("-order_id", "id")
    done = set(await LineReview.filter(line_id__in=[x.id for x in lines]).values_list("line_id", flat=True))
    return [PendingLineOut(line_id=x.id, order_id=x.order_id, product_id=x.product_id,
                           product_name=x.product_name, sku_spec=x.sku_spec, image=x.image,
                           completed_at=by_id[x.order_id]["completed_at"],
                           needs_station_stars=by_id[x.order_id]["station_id"] is not None)
            for x in lines if x.id not in done and x.refunded_qty < x.quantity][:limit]


# ---- the storefront ---------------------------------------------------------------------------
def _mask(nickname: str) -> str:
    name = (nickname or "").strip()
    if not name:
        return "匿名买家"
    return name[0] + "**"


async def _load_public(product_id: int, q: PublicReviewQuery) -> dict | None:
    if not await Product.filter(id=product_id, visible=True).exists():
        return None   # as the storefront: a product off sale has no public page
    rows, nxt = await id_page(LineReview.filter(product_id=product_id, status=ReviewStatus.VISIBLE),
                              q.cursor, q.limit, newest_first=True)
    names = dict(await User.filter(id__in=[r.buyer_id for r in rows]).values_list("id", "nickname"))
    specs = dict(await OrderLine.filter(id__in=[r.line_id for r in rows]).values_list("id", "sku_spec"))
    summary = await RatingSummary.filter(subject="product", subject_id=product_id).first()

    def iso(v):
        return v.isoformat() if v else None

    items = [{"id": r.id, "buyer": _mask(names.get(r.buyer_id, "")), "product_stars": r.product_stars,
              "delivery_stars": r.delivery_stars, "station_stars": r.station_stars,
              "sku_spec": specs.get(r.line_id, ""), "text": r.text, "photos": list(r.photos or []),
              "append_text": r.append_text, "append_photos": list(r.append_photos or []),
              "appended_at": iso(r.appended_at), "reply": r.reply, "replied_at": iso(r.replied_at),
              "created_at": iso(r.created_at)} for r in rows]
    return {"rating": _rating(summary), "items": items, "next_cursor": nxt}


async def product_reviews(product_id: int, q: PublicReviewQuery) -> bytes:
    """A product's shown reviews with its rating, newest first, as cached JSON bytes (dropped with
    the product's detail page whenever a review of it changes)."""
    name = f"reviews:{product_id}:{q.limit}:{q.cursor or ''}"
    body = await cache.cached_bytes((cache.product_ns(product_id),), name,
                                    lambda: _load_public(product_id, q), runtime.settings().catalog_detail_ttl)
    if body == b"null":
        raise NotFound("product not found")
    return body


async def rating_of(subject: str, subject_id: int) -> dict:
    """The rating of a product, merchant or station (zeros when nothing was reviewed; 404 if the
    merchant or station does not exist or is not active)."""
    if subject == "merchant" and not await Merchant.filter(id=subject_id, status="active").exists():
        raise NotFound("merchant not found")
    if subject == "station" and not await Station.filter(id=subject_id, status="active").exists():
        raise NotFound("station not found")
    name = f"rating:{subject}:{subject_id}"

    async def load() -> dict:
        return _rating(await RatingSummary.filter(subject=subject, subject_id=subject_id).first())

    return orjson.loads(await cache.cached_bytes((cache.CATALOG_NS,), name, load,
                                                 runtime.settings().catalog_list_ttl))


# ---- the merchant -----------------------------------------------------------------------------
async def merchant_reviews(principal: Principal, q: ReviewListQuery) -> ReviewPage:
    """Reviews of the caller's merchants' goods (a merchant_id outside them: 404), newest first;
    held reviews stay with the office until it decides."""
    ids = list(principal.merchant_ids)
    if q.merchant_id is not None:
        principal.require_merchant(q.merchant_id)
        ids = [q.merchant_id]
    qs = LineReview.filter(merchant_id__in=ids or [0]).exclude(status=ReviewStatus.HELD)
    if q.status is not None:
        qs = qs.filter(status=q.status)
    rows, nxt = await id_page(qs, q.cursor, q.limit, newest_first=True)
    return ReviewPage(items=await _outs(rows), next_cursor=nxt)


async def merchant_review(principal: Principal, review_id: int) -> ReviewOut:
    """One review of the caller's merchants' goods (404 otherwise, and for a held one)."""
    r = await LineReview.filter(id=review_id).first()
    if r is None or r.merchant_id not in principal.merchant_ids or r.status == ReviewStatus.HELD:
        raise NotFound("review not found")
    return (await _outs([r]))[0]


async def reply(principal: Principal, review_id: int, body: ReplyIn) -> ReviewOut:
    """The merchant's one reply to a review of its goods (404 outside its merchants)."""
    text = plain_text(body.text)
    if not text:
        raise ValidationFailed.field("text", "text is required")
    found = screen(text)
    if found:
        raise ValidationFailed(f"text: contains words that are not allowed ({'、'.join(found)})",
                               code=ReviewCode.SENSITIVE_WORDS,
                               details=[{"field": "text", "message": "回复含有不允许的词语：" + "、".join(found)}])
    async with atomic() as conn:
        r = await LineReview.filter(id=review_id).using_db(conn).select_for_update().first()
        if r is None or r.merchant_id not in principal.merchant_ids or r.status == ReviewStatus.HELD:
            raise NotFound("review not found")
        if r.replied_at is not None:
            raise AppError("the review has a reply", code=ReviewCode.REVIEW_REPLIED, status=409)
        r.reply, r.replied_at, r.replied_by = text, clock.now(), principal.user_id
        await r.save(using_db=conn)
        await audit.record(principal.user_id, "review.reply", "line_review", r.id, {}, conn=conn)
        await outbox.review_replied(r.id, conn)  # the buyer is told once, after the commit
    await cache.invalidate_product_only(r.product_id)
    return (await _outs([r]))[0]


# ---- the office -------------------------------------------------------------------------------
async def office_reviews(q: ReviewListQuery) -> ReviewPage:
    """Every review, newest first; by status (held: waiting for a decision) and merchant."""
    qs = LineReview.all()
    if q.status is not None:
        qs = qs.filter(status=q.status)
    if q.merchant_id is not None:
        qs = qs.filter(merchant_id=q.merchant_id)
    # the line's product name joined in: one statement for the page, not a lookup after it
    qs = qs.annotate(listed_product_name=F("line__product_name"))
    rows, nxt = await id_page(qs, q.cursor, q.limit, newest_first=True)
    return ReviewPage(items=[_out(r, r.listed_product_name or "") for r in rows], next_cursor=nxt)


async def get_review(review_id: int) -> ReviewOut:
    r = await LineReview.filter(id=review_id).first()
    if r is None:
        raise NotFound("review not found")
    return (await _outs([r]))[0]


async def hide(actor_id: int, review_id: int, reason: str) -> ReviewOut:
    """Hide a review with a reason (屏蔽; audited): it leaves the product page and the ratings."""
    reason = plain_text(reason)
    if not reason:
        raise ValidationFailed.field("reason", "a reason is required")
    async with atomic() as conn:
        r = await LineReview.filter(id=review_id).using_db(conn).select_for_update().first()
        if r is None:
            raise NotFound("review not found")
        before = r.status
        if before == ReviewStatus.VISIBLE:
            await _count(r, -1, conn)
        r.status, r.hidden_reason = ReviewStatus.HIDDEN, reason
        r.moderated_by, r.moderated_at = actor_id, clock.now()
        await r.save(using_db=conn)
        await audit.record(actor_id, "review.hide", "line_review", r.id, {"reason": reason, "from": before},
                           conn=conn)
    await cache.invalidate_product_only(r.product_id)
    return (await _outs([r]))[0]


async def show(actor_id: int, review_id: int) -> ReviewOut:
    """Show a held or hidden review (audited): it counts in the ratings again."""
    async with atomic() as conn:
        r = await LineReview.filter(id=review_id).using_db(conn).select_for_update().first()
        if r is None:
            raise NotFound("review not found")
        before = r.status
        if before != ReviewStatus.VISIBLE:
            r.status, r.hidden_reason = ReviewStatus.VISIBLE, ""
            r.moderated_by, r.moderated_at = actor_id, clock.now()
            await r.save(using_db=conn)
            await _count(r, +1, conn)
            await audit.record(actor_id, "review.show", "line_review", r.id, {"from": before}, conn=conn)
    await cache.invalidate_product_only(r.product_id)
    return (await _outs([r]))[0]


async def summaries(subject: str, limit: int = 200) -> list[dict]:
    """The ratings of merchants or stations (most reviewed first), with their names, for the office."""
    rows = await (RatingSummary.filter(subject=subject, count__gt=0).order_by("-count", "subject_id")
                  .limit(limit).values())
    model = Merchant if subject == "merchant" else Station
    names = dict(await model.filter(id__in=[r["subject_id"] for r in rows]).values_list("id", "name")) \
        if rows else {}
    return [{"subject_id": r["subject_id"], "name": names.get(r["subject_id"], ""), "rating": _rating(r)}
            for r in rows]


async def merchant_summary(principal: Principal) -> list[dict]:
    """The ratings of the caller's merchants."""
    ids = sorted(principal.merchant_ids)
    rows = {r.subject_id: r for r in await RatingSummary.filter(subject="merchant", subject_id__in=ids or [0])}
    names = dict(await Merchant.filter(id__in=ids or [0]).values_list("id", "name"))
    return [{"subject_id": i, "name": names.get(i, ""), "rating": _rating(rows.get(i))} for i in ids]


async def station_rating(principal: Principal, station_id: int, recent: int = 5) -> dict:
    """The station's own rating for its staff's desk (服务站评分): the mean of the station stars
    buyers gave (shown reviews only), how many gave them, and the latest such reviews; 404 for a
    station outside the caller's."""
    principal.require_station(station_id)
    s = await RatingSummary.filter(subject="station", subject_id=station_id).first()
    rows = await (LineReview.filter(station_id=station_id, status=ReviewStatus.VISIBLE, station_stars__not_isnull=True)
                  .order_by("-id").limit(recent))
    return {"station_id": station_id, "rating": _rating(s),
            "recent": [{"stars": r.station_stars, "text": r.text, "created_at": r.created_at} for r in rows]}


PHOTOS_PER_HOUR = 60   # a buyer's uploads (9 per review, a few reviews at a sitting, retries)


async def upload_photo(user_id: int, data: bytes, filename: str) -> dict:
    """A review photo (JPEG/PNG/WebP, checked by content and re-encoded; anything else is refused);
    at most PHOTOS_PER_HOUR per buyer (429), so one account cannot fill the media store."""
    await kr.hit_limit("review_photo", str(user_id), PHOTOS_PER_HOUR, 3600, message="too many photos; try later")
    stored = await store_upload(data, kind="review", filename=filename, allowed=IMAGE_KINDS,
                                max_bytes=runtime.settings().media_image_max_bytes)
    return {"url": stored.url, "width": stored.width or 0, "height": stored.height or 0, "size": stored.size}
