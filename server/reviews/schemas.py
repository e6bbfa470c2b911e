"""Reviews' request bodies and answers."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from server.kit.schemas import Out, QuerySchema, Schema

Stars = Annotated[int, Field(ge=1, le=5)]
PhotoUrl = Annotated[str, Field(min_length=1, max_length=300)]
MAX_PHOTOS = 9


class ReviewIn(Schema):
    """A review of one completed order line: stars (1-5) for the product, the delivery and, when the
    order went through a station, the station; text and up to 9 photos uploaded to /review-photos."""
    product_stars: Stars
    delivery_stars: Stars
    station_stars: Stars | None = Field(None, description="required when the order went through a station")
    text: str = Field("", max_length=500)
    photos: list[PhotoUrl] = Field(default_factory=list, max_length=MAX_PHOTOS)


class AppendIn(Schema):
    """The one append (追评): more text and photos."""
    text: str = Field(min_length=1, max_length=500)
    photos: list[PhotoUrl] = Field(default_factory=list, max_length=MAX_PHOTOS)


class ReplyIn(Schema):
    text: str = Field(min_length=1, max_length=500)


class HideIn(Schema):
    reason: str = Field(min_length=1, max_length=200)


class ReviewOut(Out):
    """A review as its buyer, its merchant and the office read it."""
    id: int
    line_id: int
    order_id: int
    product_id: int
    merchant_id: int
    station_id: int | None
    product_name: str = ""
    product_stars: int
    delivery_stars: int
    station_stars: int | None
    text: str
    photos: list[str]
    append_text: str
    append_photos: list[str]
    appended_at: datetime | None
    reply: str
    replied_at: datetime | None
    status: Literal["visible", "held", "hidden"]
    flagged_words: list[str] = []
    hidden_reason: str = ""
    created_at: datetime


class ReviewPage(Out):
    items: list[ReviewOut]
    next_cursor: str | None = None


class PendingLineOut(Out):
    """A completed line of mine not reviewed yet (待评价)."""
    line_id: int
    order_id: int
    product_id: int
    product_name: str
    sku_spec: str
    image: str
    completed_at: datetime | None
    needs_station_stars: bool


class PublicReview(Out):
    id: int
    buyer: str = Field(description="the buyer's nickname, masked")
    product_stars: int
    delivery_stars: int
    station_stars: int | None
    sku_spec: str
    text: str
    photos: list[str]
    append_text: str
    append_photos: list[str]
    appended_at: datetime | None
    reply: str
    replied_at: datetime | None
    created_at: datetime


class RatingOut(Out):
    """Buyers' ratings of a product, a merchant or a station (shown reviews only); means 1-5, 0 if none."""
    count: int
    product: float
    delivery: float
    station: float
    station_count: int


class PublicReviewPage(Out):
    rating: RatingOut
    items: list[PublicReview]
    next_cursor: str | None = None


class SummaryRow(Out):
    subject_id: int
    name: str
    rating: RatingOut


class ReviewListQuery(QuerySchema):
    status: Literal["visible", "held", "hidden"] | None = None
    merchant_id: int | None = Field(None, ge=1, le=2**63 - 1)
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(20, ge=1, le=100)


class PublicReviewQuery(QuerySchema):
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(10, ge=1, le=50)


class SummaryQuery(QuerySchema):
    subject: Literal["merchant", "station"] = "merchant"
