"""Content the county office writes (内容): banners (轮播图), announcements (公告) and articles (文章:
政策宣传, 品牌故事, 培训动态).

Written in the console (server/console_web/content.py) and the office's JSON API; every body is
sanitised by an allow-list before it is stored (server/content/sanitize.py), so what any page or API
answer shows is already clean. An item is shown while enabled and within [publish_at, unpublish_at).
The mini-program's reads are cached like the catalogue's (server/catalog/cache.py, namespace
"content"): an entry never outlives the next scheduled start or end, and every edit drops them all."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import orjson
from tortoise.expressions import Q

from server.catalog import cache
from server.content.sanitize import clean_html, plain_text
from server.content.schemas import ArticleQuery, ContentIn, ContentListQuery, ContentOut, ContentPage
from server.kit import audit, clock, local_cache, runtime
from server.kit import redis as kr
from server.kit.db import atomic, id_page, on_commit
from server.kit.errors import NotFound, ValidationFailed
from server.media import IMAGE_KINDS, store_upload
from server.models.content import ContentItem

CONTENT_NS = "content"
HOME_ANNOUNCEMENTS = 5
HOME_BANNERS = 10
# An image field goes into an attribute on every page and into the mini-program's <image src>: a URL
# with no space, quote, angle bracket or backslash (what none of our /media/ or https URLs has).
_URL_UNSAFE = re.compile(r"[\s\"'<>`\\]")


def _live_q(now: datetime) -> Q:
    return Q(enabled=True) & (Q(publish_at__isnull=True) | Q(publish_at__lte=now)) & (
        Q(unpublish_at__isnull=True) | Q(unpublish_at__gt=now))


def is_live(item: ContentItem, now: datetime | None = None) -> bool:
    now = now or clock.now()
    return item.enabled and (item.publish_at is None or item.publish_at <= now) and (
        item.unpublish_at is None or item.unpublish_at > now)


def _out(item: ContentItem) -> ContentOut:
    return ContentOut(id=item.id, kind=item.kind, category=item.category, title=item.title, summary=item.summary,
                      body_html=item.body_html, image=item.image, link=item.link, sort=item.sort,
                      enabled=item.enabled, publish_at=item.publish_at, unpublish_at=item.unpublish_at,
                      live=is_live(item), created_at=item.created_at, updated_at=item.updated_at)


def _fields(body: ContentIn) -> dict:
    for name in ("publish_at", "unpublish_at"):
        v = getattr(body, name)
        if v is not None and v.tzinfo is None:
            raise ValidationFailed.field(name, "give a time zone (UTC or an offset such as +08:00)")
        if v is not None and not 2000 <= v.year <= 2200:
            raise ValidationFailed.field(name, "a year between 2000 and 2200")
    if body.publish_at and body.unpublish_at and body.unpublish_at <= body.publish_at:
        raise ValidationFailed.field("unpublish_at", "must be after publish_at")
    if body.kind == "article" and body.category is None:
        raise ValidationFailed.field("category", "an article needs a category")
    if body.kind != "article" and body.category is not None:
        raise ValidationFailed.field("category", "only articles have a category")
    if body.kind == "banner" and not body.image:
        raise ValidationFailed.field("image", "a banner needs an image")
    if body.image and (not (body.image.startswith("https://") or body.image.startswith("http://")
                            or body.image.startswith("/media/")) or _URL_UNSAFE.search(body.image)):
        raise ValidationFailed.field("image", "an http(s) or /media/ URL")
    # The title and summary are text, not HTML: no markup reaches a page or an answer (#30).
    title, summary = plain_text(body.title), plain_text(body.summary)
    if not title:
        raise ValidationFailed.field("title", "a title (text, not markup)")
    html = clean_html(body.body_html)
    if body.kind == "article" and not html:
        raise ValidationFailed.field("body_html", "an article needs a body")
    return {"kind": body.kind, "category": body.category or "", "title": title, "summary": summary,
            "body_html": html, "image": body.image, "link": body.link, "sort": body.sort,
            "enabled": body.enabled, "publish_at": body.publish_at, "unpublish_at": body.unpublish_at}


async def invalidate() -> None:
    """Forget every cached content read (all processes)."""
    await kr.bump_namespace(CONTENT_NS)
    await local_cache.invalidate("catalog", CONTENT_NS)


# ---- the office -------------------------------------------------------------------------------
async def create(actor_id: int | None, body: ContentIn) -> ContentOut:
    """Write a new item (sanitised; audited)."""
    values = _fields(body)
    async with atomic() as conn:
        item = await ContentItem.create(**values, created_by=actor_id, updated_by=actor_id, using_db=conn)
        await audit.record(actor_id, "content.create", "content", item.id,
                           {"kind": item.kind, "title": item.title, "enabled": item.enabled}, conn=conn)
        on_commit(invalidate)
    return _out(item)


async def update(actor_id: int, item_id: int, body: ContentIn) -> ContentOut:
    """Replace an item's fields (sanitised; audited)."""
    values = _fields(body)
    async with atomic() as conn:
        item = await ContentItem.filter(id=item_id).using_db(conn).select_for_update().first()
        if item is None:
            raise NotFound("content not found")
        for k, v in values.items():
            setattr(item, k, v)
        item.updated_by = actor_id
        await item.save(using_db=conn)
        await audit.record(actor_id, "content.update", "content", item.id,
                           {"kind": item.kind, "title": item.title, "enabled": item.enabled}, conn=conn)
        on_commit(invalidate)
    return _out(item)


async def get(item_id: int) -> ContentOut:
    item = await ContentItem.filter(id=item_id).first()
    if item is None:
        raise NotFound("content not found")
    return _out(item)


async def office_list(q: ContentListQuery) -> ContentPage:
    """Every item, newest first (by kind)."""
    qs = ContentItem.all()
    if q.kind:
        qs = qs.filter(kind=q.kind)
    rows, nxt = await id_page(qs, q.cursor, q.limit, newest_first=True)
    return ContentPage(items=[_out(r) for r in rows], next_cursor=nxt)


# ---- the mini-program (cached) -----------------------------------------------------------------
async def _seconds_to_next_change(now: datetime) -> int:
    """Seconds until the next scheduled start or end of an enabled item (the list TTL at most)."""
    ttl = runtime.settings().catalog_list_ttl
    for name in ("publish_at", "unpublish_at"):
        nxt = await (ContentItem.filter(enabled=True, **{f"{name}__gt": now}).order_by(name).limit(1)
                     .values_list(name, flat=True))
        if nxt:
            ttl = min(ttl, max(1, int((nxt[0] - now).total_seconds()) + 1))
    return ttl


def _public(item: ContentItem, body: bool = False) -> dict:
    d = {"id": item.id, "kind": item.kind, "category": item.category, "title": item.title,
         "summary": item.summary, "image": item.image, "link": item.link,
         "publish_at": item.publish_at.isoformat() if item.publish_at else None}
    if body:
        d["body_html"] = item.body_html
    return d


def _ttl(value: Any) -> int:
    return value.pop("_ttl") if isinstance(value, dict) and "_ttl" in value else 1


async def _load_home() -> dict:
    now = clock.now()
    live = ContentItem.filter(_live_q(now))
    banners = await live.filter(kind="banner").order_by("-sort", "-id").limit(HOME_BANNERS)
    notes = await ContentItem.filter(_live_q(now), kind="announcement").order_by("-sort", "-id").limit(
        HOME_ANNOUNCEMENTS)
    return {"banners": [_public(b) for b in banners], "announcements": [_public(a) for a in notes],
            "_ttl": await _seconds_to_next_change(now)}


async def home() -> bytes:
    """The live banners and latest announcements, as JSON bytes."""
    return await cache.cached_bytes((CONTENT_NS,), "content:home", _load_home, _ttl)


async def _load_articles(q: ArticleQuery) -> dict:
    now = clock.now()
    qs = ContentItem.filter(_live_q(now), kind="article")
    if q.category:
        qs = qs.filter(category=q.category)
    rows, nxt = await id_page(qs, q.cursor, q.limit, newest_first=True)
    return {"items": [_public(r) for r in rows], "next_cursor": nxt, "_ttl": await _seconds_to_next_change(now)}


async def articles(q: ArticleQuery) -> bytes:
    """A page of live articles (by category), newest first, as JSON bytes."""
    name = f"content:articles:{q.category or ''}:{q.limit}:{q.cursor or ''}"
    return await cache.cached_bytes((CONTENT_NS,), name, lambda: _load_articles(q), _ttl)


async def _load_article(item_id: int) -> dict:
    now = clock.now()
    item = await ContentItem.filter(_live_q(now), id=item_id, kind__in=["article", "announcement"]).first()
    return {"item": _public(item, body=True) if item else None, "_ttl": await _seconds_to_next_change(now)}


async def article(item_id: int) -> dict:
    """A live article or announcement with its (sanitised) body; 404 if not shown now."""
    body = await cache.cached_bytes((CONTENT_NS,), f"content:article:{item_id}",
                                    lambda: _load_article(item_id), _ttl)
    value = orjson.loads(body)["item"]
    if value is None:
        raise NotFound("article not found")
    return value


async def upload_image(actor_id: int, data: bytes, filename: str) -> dict:
    """A banner (or article) picture for the office's editor: images only (JPEG/PNG/WebP, checked by
    content and re-encoded by server/media; anything else a 422 naming `file`), at most the media
    image size; audited. Returns the URL to put in the item's image field."""
    stored = await store_upload(data, kind="content", filename=filename, allowed=IMAGE_KINDS,
                                max_bytes=runtime.settings().media_image_max_bytes)
    await audit.record(actor_id, "content.image", "media", stored.key,
                       {"url": stored.url, "size": stored.size, "filename": filename[:100]})
    return {"url": stored.url, "width": stored.width or 0, "height": stored.height or 0, "size": stored.size}
