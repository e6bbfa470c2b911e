"""Content's request bodies and answers."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from server.kit.schemas import Out, QuerySchema, Schema

Kind = Literal["banner", "announcement", "article"]
Category = Literal["policy", "brand_story", "training_news"]
KIND_LABELS = {"banner": "轮播图", "announcement": "公告", "article": "文章"}
CATEGORY_LABELS = {"policy": "政策宣传", "brand_story": "品牌故事", "training_news": "培训动态"}


class ContentIn(Schema):
    """A banner, announcement or article. body_html is sanitised on the server (an allow-list); times
    are aware (UTC or with an offset); an open end is null."""
    kind: Kind
    category: Category | None = Field(None, description="articles: policy | brand_story | training_news")
    title: str = Field(min_length=1, max_length=64)
    summary: str = Field("", max_length=200)
    body_html: str = Field("", max_length=200_000)
    image: str = Field("", max_length=300)
    link: str = Field("", max_length=300, pattern=r"^(/[A-Za-z0-9_\-/?=&.%]*)?$",
                      description="a banner's target: a mini-program path such as /pages/product/index?id=1")
    sort: int = Field(0, ge=-1_000_000, le=1_000_000)
    enabled: bool = False
    publish_at: datetime | None = None
    unpublish_at: datetime | None = None


class ContentOut(Out):
    id: int
    kind: str
    category: str
    title: str
    summary: str
    body_html: str
    image: str
    link: str
    sort: int
    enabled: bool
    publish_at: datetime | None
    unpublish_at: datetime | None
    live: bool = Field(description="shown to buyers now")
    created_at: datetime
    updated_at: datetime


class ContentPage(Out):
    items: list[ContentOut]
    next_cursor: str | None = None


class ContentListQuery(QuerySchema):
    kind: Kind | None = None
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(20, ge=1, le=100)


class ArticleQuery(QuerySchema):
    category: Category | None = None
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(10, ge=1, le=50)


class PublicItem(Out):
    id: int
    kind: str
    category: str
    title: str
    summary: str
    image: str
    link: str
    publish_at: datetime | None


class PublicHome(Out):
    banners: list[PublicItem]
    announcements: list[PublicItem]


class PublicArticlePage(Out):
    items: list[PublicItem]
    next_cursor: str | None = None


class PublicArticle(PublicItem):
    body_html: str = Field(description="sanitised HTML (an allow-list: no script, no event handler)")
