"""Pre-sale request and response shapes (money in fen, times aware)."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from server.kit.schemas import Out, QuerySchema, Schema

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Fen = Annotated[int, Field(ge=0, le=10**9)]


class OfferIn(Schema):
    sku_id: Id
    mode: Literal["full", "deposit"]
    price_fen: Annotated[int, Field(ge=1, le=10**9)]
    deposit_fen: Fen = 0
    starts_at: datetime
    ends_at: datetime
    balance_starts_at: datetime | None = None
    balance_ends_at: datetime | None = None
    ship_from: datetime
    note: Annotated[str, StringConstraints(max_length=200)] = ""


class ReviewIn(Schema):
    approve: bool
    note: Annotated[str, StringConstraints(max_length=200)] = ""


class OfferQuery(QuerySchema):
    status: Literal["pending", "approved", "rejected", "ended"] | None = None


class OfferOut(Out):
    id: int
    merchant_id: int
    product_id: int
    sku_id: int
    mode: str
    price_fen: int
    deposit_fen: int
    balance_fen: int = Field(description="per unit: price - deposit (0 for mode full)")
    starts_at: datetime
    ends_at: datetime
    balance_starts_at: datetime | None
    balance_ends_at: datetime | None
    ship_from: datetime
    arrives_by: datetime | None = Field(None, description="the delivery promise: ship_from + the county-to-village "
                                                          "hours (KAZUO_FULFILLMENT_COUNTY_VILLAGE_HOURS)")
    status: str
    note: str
    review_note: str
    reviewed_at: datetime | None
    created_at: datetime
    product_name: str = ""
    sku_spec: str = ""
    open_now: bool = False


class OffersOut(Out):
    items: list[OfferOut]


class PresaleOrderOut(Out):
    order_id: int
    offer_id: int
    mode: str
    stage: str = Field(description="unpaid | deposit_paid | paid | cancelled | closed ... (the order's status)")
    total_fen: int
    deposit_fen: int
    balance_fen: int
    paid_fen: int
    refunded_fen: int
    balance_starts_at: datetime | None
    balance_ends_at: datetime | None
    ship_from: datetime
    arrives_by: datetime | None = None
    outcome: str


class DepositRefundIn(Schema):
    reason: Annotated[str, StringConstraints(max_length=200)] = ""
