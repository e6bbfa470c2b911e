"""Bodies and answers of after-sales (售后)."""
from __future__ import annotations

from datetime import datetime

from pydantic import Field

from server.fulfillment.schemas import UnpickOut
from server.kit.schemas import Out, QuerySchema, Schema


class CaseLineIn(Schema):
    line_id: int = Field(ge=1)
    qty: int = Field(ge=1, le=100000)


class ApplyIn(Schema):
    order_id: int = Field(ge=1)
    kind: str = Field(min_length=1, max_length=16)      # refund_only | return_refund | replacement
    reason: str = Field(min_length=1, max_length=20)    # damaged | spoiled | short | wrong_item | ...
    lines: list[CaseLineIn] = Field(min_length=1, max_length=50)
    photos: list[str] = Field(default_factory=list, max_length=50)
    description: str = Field("", max_length=500)


class ShipReturnIn(Schema):
    company: str = Field(min_length=1, max_length=32)
    tracking_no: str = Field(min_length=4, max_length=40)


class ReasonIn(Schema):
    reason: str = Field("", max_length=200)


class DecisionIn(Schema):
    approve: bool
    reason: str = Field("", max_length=200)


class WindowIn(Schema):
    category_id: int = Field(ge=1)
    hours: int = Field(ge=1, le=24 * 90)


class CaseLineOut(Out):
    line_id: int
    qty: int
    amount: int


class StepOut(Out):
    step: str
    actor_id: int | None
    note: str
    at: datetime


class CaseOut(Out):
    id: int
    case_no: str
    order_id: int
    merchant_id: int
    kind: str
    reason: str
    description: str
    photos: list[str]
    lines: list[CaseLineOut]
    amount_fen: int
    shipping_refund_fen: int
    return_cost_by: str
    status: str
    respond_by: datetime | None
    auto_approved: bool
    reject_reason: str
    escalation_reason: str
    office_decision: str
    office_note: str
    return_method: str
    return_by: datetime | None
    courier_company: str
    tracking_no: str
    return_parcel_label: str
    refund_id: int | None
    replacement_order_id: int | None
    closed_reason: str
    created_at: datetime
    finished_at: datetime | None
    steps: list[StepOut] = []


class CaseList(Out):
    items: list[CaseOut]


class PhotoOut(Out):
    url: str
    width: int
    height: int


class CaseQuery(QuerySchema):
    status: str | None = Field(None, max_length=16)


class StationReceiveIn(Schema):
    station_id: int = Field(ge=1)


class PolicyIn(Schema):
    offers_replacement: bool = False
    accepts_changed_mind: bool = False


class PolicyOut(Out):
    merchant_id: int
    offers_replacement: bool
    accepts_changed_mind: bool


class WindowOut(Out):
    category_id: int
    name: str = ""
    slug: str = ""
    hours: int | None
    effective_hours: int = 0


class WindowList(Out):
    items: list[WindowOut]


class UnpickList(Out):
    items: list[UnpickOut]


class UnpickDoneOut(Out):
    item_id: int
    refund_id: int | None
