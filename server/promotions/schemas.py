from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from server.kit.errors import ValidationFailed
from server.kit.schemas import Out, QuerySchema, Schema

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Fen = Annotated[int, Field(ge=0, le=10**10)]


class CouponIn(Schema):
    """A coupon definition. Money in fen; rate_bp: the share paid (8500 = 85折)."""
    name: Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
    kind: Literal["full_reduction", "instant", "percent"]
    threshold_fen: Fen = 0
    amount_fen: Fen = 0
    rate_bp: int = Field(10000, ge=1, le=9999)
    cap_fen: Fen = 0
    new_buyer_only: bool = False
    scope: Literal["all", "category", "merchant", "product"] = "all"
    scope_ids: list[Id] = Field(default_factory=list, max_length=200)
    valid_from: datetime
    valid_until: datetime
    total_quantity: int = Field(ge=1, le=10_000_000)
    per_person_limit: int = Field(1, ge=1, le=100)
    return_on_refund: bool = True

    @model_validator(mode="after")
    def _check(self) -> "CouponIn":
        if self.valid_from.tzinfo is None or self.valid_until.tzinfo is None:
            raise ValidationFailed.field("valid_from", "give a time zone")
        if self.valid_until <= self.valid_from:
            raise ValidationFailed.field("valid_until", "must be after valid_from")
        if self.kind in ("full_reduction", "instant") and self.amount_fen < 1:
            raise ValidationFailed.field("amount_fen", "the saving must be at least 1 fen")
        if self.kind == "full_reduction" and self.threshold_fen <= self.amount_fen:
            raise ValidationFailed.field("threshold_fen", "must be above the saving (满减)")
        if self.kind == "percent" and self.rate_bp >= 10000:
            raise ValidationFailed.field("rate_bp", "a discount pays less than 10000 (100%)")
        if self.scope != "all" and not self.scope_ids:
            raise ValidationFailed.field("scope_ids", "name at least one id for this scope")
        if self.scope == "all" and self.scope_ids:
            raise ValidationFailed.field("scope_ids", "not used for scope all")
        return self


class CouponOut(Out):
    id: int
    name: str
    kind: str
    funder: str
    merchant_id: int | None
    threshold_fen: int
    amount_fen: int
    rate_bp: int
    cap_fen: int
    new_buyer_only: bool
    scope: str
    scope_ids: list[int]
    valid_from: datetime
    valid_until: datetime
    total_quantity: int
    issued_count: int
    used_count: int
    per_person_limit: int
    return_on_refund: bool
    status: str
    description: str


class UserCouponOut(Out):
    id: int
    coupon: CouponOut
    status: str
    order_id: int | None
    discount_fen: int
    claimed_at: datetime
    used_at: datetime | None
    usable: bool
    reason: str = ""


class CouponListQuery(QuerySchema):
    product_id: Id | None = None
    merchant_id: Id | None = None


class MyCouponsQuery(QuerySchema):
    status: Literal["available", "used"] | None = None


class CampaignIn(Schema):
    title: Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
    description: Annotated[str, StringConstraints(max_length=500)] = ""
    banner: Annotated[str, StringConstraints(max_length=300)] = ""
    starts_at: datetime
    ends_at: datetime
    product_ids: list[Id] = Field(default_factory=list, max_length=200)
    coupon_ids: list[Id] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _check(self) -> "CampaignIn":
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValidationFailed.field("starts_at", "give a time zone")
        if self.ends_at <= self.starts_at:
            raise ValidationFailed.field("ends_at", "must be after starts_at")
        if not self.product_ids and not self.coupon_ids:
            raise ValidationFailed.field("product_ids", "a campaign needs products or coupons")
        return self


class CampaignFiguresOut(Out):
    orders: int
    gmv_fen: int
    coupons_used: int
    discount_fen: int


class CampaignOut(Out):
    id: int
    title: str
    description: str
    banner: str
    starts_at: datetime
    ends_at: datetime
    product_ids: list[int]
    coupon_ids: list[int]
    status: str
    state: str  # draft | upcoming | running | ended | withdrawn


class CampaignProductOut(Out):
    id: int
    name: str
    image: str
    min_price: int
    merchant_id: int


class CampaignPageOut(Out):
    campaign: CampaignOut | None
    products: list[CampaignProductOut]
    coupons: list[CouponOut]


class CouponStatusIn(Schema):
    """Pause (paused) or resume (active) the claims of a coupon."""
    status: Literal["active", "paused"]


class OfficeCouponQuery(QuerySchema):
    """funder: platform (the office's own) or merchant (the shops'); none: every coupon."""
    funder: Literal["platform", "merchant"] | None = None


class CouponsOut(Out):
    items: list[CouponOut]


class CampaignsOut(Out):
    items: list[CampaignOut]
