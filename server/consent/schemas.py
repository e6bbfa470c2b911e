"""API shapes of live selling consent (直播带货授权) and the live product pool (选品池)."""
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, model_validator

from server.kit.money import BasisPoints, PositiveFen
from server.kit.schemas import Out, QuerySchema, Schema

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]


class ProposalIn(Schema):
    """A livestreamer proposes to sell a merchant's SKU on air: the lowest live price, the highest
    commission, the most units one tie-in may set aside, and the days (Asia/Shanghai) it holds."""
    sku_id: Id
    live_price: PositiveFen
    commission_bp: BasisPoints
    quota: Annotated[int, Field(ge=1, le=1_000_000)]
    starts_on: date
    ends_on: date
    note: str = Field("", max_length=200)

    @model_validator(mode="after")
    def _dates(self):
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on: must not be before starts_on")
        if (self.ends_on - self.starts_on).days > 366:
            raise ValueError("ends_on: at most a year after starts_on")
        return self


class DecisionIn(Schema):
    note: str = Field("", max_length=200)


class ConsentOut(Out):
    id: int
    livestreamer_id: int
    livestreamer_name: str = ""
    merchant_id: int
    merchant_name: str = ""
    product_id: int
    product_name: str = ""
    sku_id: int
    sku_spec: str = ""
    list_price: int = 0
    live_price: int
    commission_bp: int
    quota: int
    starts_on: date
    ends_on: date
    status: str
    note: str
    decided_by: int | None
    decided_at: datetime | None
    decision_note: str
    created_at: datetime


class ConsentsQuery(QuerySchema):
    status: Literal["proposed", "accepted", "declined", "withdrawn"] | None = None
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(50, ge=1, le=200)


class PoolIn(Schema):
    """A product whose merchant agreed to the standard live terms (选品池)."""
    product_id: Id
    min_price_bp: int = Field(8000, ge=0, le=10_000, description="live price at least this share of the list price")
    max_commission_bp: BasisPoints = 1000
    agreement: str = Field(min_length=1, max_length=200, description="how the merchant agreed (form, date)")


class PoolOut(Out):
    id: int
    product_id: int
    product_name: str = ""
    merchant_id: int
    merchant_name: str = ""
    min_price_bp: int
    max_commission_bp: int
    agreement: str
    is_active: bool
    added_by: int
    created_at: datetime
