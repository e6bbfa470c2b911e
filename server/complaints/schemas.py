"""Complaints' request and answer shapes. Two views of one complaint: the office's and the reporter's
(everything) and the one for the side complained about (no reporter: ComplaintSubjectOut)."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from server.kit.schemas import Out, QuerySchema, Schema

Kind = Literal["quality", "counterfeit", "merchant", "station", "live_ad", "delivery", "other"]
PublicKind = Literal["quality", "counterfeit", "other"]
Outcome = Literal["no_fault", "warning", "takedown", "suspension", "refund", "referral"]
Status = Literal["open", "acknowledged", "resolved"]
Text = Annotated[str, StringConstraints(min_length=5, max_length=1000)]
Phone = Annotated[str, StringConstraints(pattern=r"^1[3-9][0-9]{9}$")]
PhotoKey = Annotated[str, StringConstraints(pattern=r"^complaint/[0-9]{4}/[0-9]{2}/[0-9a-f]{40}\.(jpg|png|webp)$")]
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]


class BuyerComplaintIn(Schema):
    """A buyer about one of their orders (linked)."""
    order_id: Id
    kind: Kind
    text: Text
    product_id: Id | None = Field(None, description="the product of the order it is about (optional)")
    trace_code: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = Field(
        None, description="the trace code on the item received (溯源码, optional): of a product of this order; "
                          "a counterfeit complaint with it joins that code's counterfeit flag")
    photos: list[PhotoKey] = Field(default_factory=list, max_length=9,
                                   description="keys from POST /api/v1/complaints/photos")


class StationComplaintIn(Schema):
    """Station staff file for a villager (代为投诉), who is told the outcome by SMS."""
    kind: Kind
    text: Text
    reporter_phone: Phone
    reporter_name: Annotated[str, StringConstraints(max_length=32)] = ""
    order_no: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = Field(
        None, description="the villager's order (picked up or ordered at this station)")
    trace_code: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None
    about_station_id: Id | None = Field(None, description="the station complained about (kind station)")
    photos: list[PhotoKey] = Field(default_factory=list, max_length=9)


class PublicReportIn(Schema):
    """Anyone from a trace page (no account): counterfeit, quality or wrong origin."""
    kind: PublicKind
    text: Text
    phone: Phone | None = Field(None, description="to be told the outcome by SMS (optional)")
    photos: list[PhotoKey] = Field(default_factory=list, max_length=9)


class AssignIn(Schema):
    assignee_id: Id


class ResolveIn(Schema):
    outcome: Outcome
    note: Annotated[str, StringConstraints(min_length=2, max_length=500)]


class AnswerIn(Schema):
    text: Annotated[str, StringConstraints(min_length=2, max_length=1000)]


class ComplaintQuery(QuerySchema):
    status: Status | None = None
    kind: Kind | None = None
    town: Annotated[str, StringConstraints(max_length=32)] | None = None
    breached: bool | None = None
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(20, ge=1, le=100)


class StationComplaintQuery(ComplaintQuery):
    """The station desk's two lists: `cursor` pages those it filed, `about_cursor` those about it."""
    about_cursor: str | None = Field(None, max_length=200)


class FiguresQuery(QuerySchema):
    days: int = Field(30, ge=1, le=366)


class PhotoOut(Out):
    key: str
    url: str


class ComplaintSubjectOut(Out):
    """What the merchant or station complained about sees: the complaint, never who filed it."""
    id: int
    no: str
    kind: str
    status: str
    text: str
    photos: list[PhotoOut]
    order_no: str | None
    product_id: int | None
    trace_code: str
    merchant_id: int | None
    station_id: int | None
    outcome: str
    outcome_note: str
    answer: str
    answered_at: datetime | None
    created_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None


class ComplaintOut(ComplaintSubjectOut):
    """The office's (and the reporter's own) view."""
    channel: str
    reporter_id: int | None
    reporter_name: str
    reporter_phone: str
    filed_at_station_id: int | None
    batch_id: int | None
    town: str
    flag_id: int | None
    assignee_id: int | None
    ack_due_at: datetime
    resolve_due_at: datetime
    ack_breached: bool
    resolve_breached: bool
    action_ref: str
    notify_state: str


class ComplaintsPage(Out):
    items: list[ComplaintOut]
    next_cursor: str | None


class SubjectPage(Out):
    items: list[ComplaintSubjectOut]
    next_cursor: str | None


class FiledOut(Out):
    """What a reporter gets back: the number to quote."""
    id: int
    no: str
    status: str
    flag_id: int | None = None


class KindCount(Out):
    kind: str
    count: int


class TownCount(Out):
    town: str
    count: int


class FiguresOut(Out):
    days: int
    total: int
    open: int
    ack_breached: int
    resolve_breached: int
    by_kind: list[KindCount]
    by_town: list[TownCount]
    avg_ack_hours: float | None
    avg_resolve_hours: float | None
    by_outcome: list[KindCount]
