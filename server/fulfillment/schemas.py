from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from server.kit.schemas import Limit, Out, QuerySchema, Schema

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Qty = Annotated[int, Field(ge=1, le=100_000)]
Batch = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._\-]+$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=24, pattern=r"^[A-Z0-9]+$")]
ScanKind = Literal["dispatched", "arrived", "handed_over", "out_for_delivery"]


# ---- inbound (集采统储) ---------------------------------------------------------------------------
class InboundLineIn(Schema):
    sku_id: Id
    quantity: Qty = Field(description="expected quantity")
    batch: Batch = Field(description="the merchant's batch number (批次)")


class InboundNoteIn(Schema):
    merchant_id: Id
    lines: list[InboundLineIn] = Field(min_length=1, max_length=200)
    note: Annotated[str, StringConstraints(max_length=200)] = ""


class ReceiveLineIn(Schema):
    line_id: Id
    quantity: int = Field(ge=0, le=100_000, description="quantity actually received")


class ReceiveIn(Schema):
    lines: list[ReceiveLineIn] = Field(min_length=1, max_length=200)


class InboundLineOut(Out):
    id: int
    sku_id: int
    batch: str
    expected_qty: int
    received_qty: int | None


class InboundNoteOut(Out):
    id: int
    merchant_id: int
    status: str
    note: str
    created_by_id: int | None
    received_by_id: int | None
    created_at: datetime
    received_at: datetime | None
    lines: list[InboundLineOut]


class StockQuery(QuerySchema):
    sku_id: list[Id] = Field(default_factory=list, max_length=200)
    merchant_id: Id | None = None


class StockOut(Out):
    sku_id: int
    product_id: int
    product_name: str = ""
    spec: str
    on_hand: int = Field(description="in the warehouse: sellable + reserved")
    reserved: int = Field(description="held by orders not yet shipped")
    sellable: int


# ---- tasks, waves, pick and pack ---------------------------------------------------------------
class TaskLineOut(Out):
    id: int
    sku_id: int
    order_line_id: int
    quantity: int
    picked_qty: int
    packed_qty: int
    cold_chain: bool


class ParcelBrief(Out):
    id: int
    label: str
    status: str
    direction: str
    cold_chain: bool
    weight_g: int


class TaskOut(Out):
    id: int
    order_id: int
    status: str
    mode: str
    fulfilment: str
    route: list[int]
    destination_station_id: int | None
    town_station_id: int | None
    cold_chain: bool
    created_at: datetime
    lines: list[TaskLineOut] = []
    parcels: list[ParcelBrief] = []


class TaskQuery(QuerySchema):
    status: Literal["pending", "picking", "packed", "shipped", "cancelled"] | None = None
    town_station_id: Id | None = None
    cursor: str | None = Field(None, max_length=200)
    limit: Limit = 20


class WaveOut(Out):
    wave: str = Field(description="local date, destination town and cold-chain flag")
    town_station_id: int | None
    town: str
    cold_chain: bool
    mode: str
    task_ids: list[int]
    lines: int
    units: int


class PickIn(Schema):
    sku_id: Id
    batch: Batch
    quantity: Qty = 1


class PackLineIn(Schema):
    task_line_id: Id
    quantity: Qty


class PackIn(Schema):
    lines: list[PackLineIn] = Field(min_length=1, max_length=200)
    weight_g: int = Field(ge=1, le=1_000_000, description="weighed parcel, grams")


class ParcelOut(Out):
    id: int
    label: str
    task_id: int
    order_id: int
    status: str
    direction: str
    route: list[int]
    position: int
    moving: bool
    weight_g: int
    cold_chain: bool
    qr_payload: str = Field(description="the payload printed as QR and Code 128 on the label")
    courier_company: str
    tracking_no: str
    packed_at: datetime
    dispatched_at: datetime | None


class CourierIn(Schema):
    company: Annotated[str, StringConstraints(min_length=1, max_length=32)] = Field(
        description="WeChat express company code, e.g. SF, ZTO, YTO, STO, YD, JTSD, EMS")
    tracking_no: Annotated[str, StringConstraints(min_length=4, max_length=40,
                                                  pattern=r"^[A-Za-z0-9\-]+$")]


# ---- scans ---------------------------------------------------------------------------------------
class ScanIn(Schema):
    label: Label
    kind: ScanKind
    station_id: Id | None = Field(None, description="where the scan happens; warehouse operators "
                                                     "scan at the county warehouse by default")


class DeliverIn(Schema):
    label: Label
    station_id: Id
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")] = Field(
        description="the buyer's proof-of-delivery code (签收码)")


class ReturnIn(Schema):
    label: Label
    station_id: Id | None = None
    reason: Literal["uncollected", "refused", "damaged", "other"]


class ScanEventOut(Out):
    id: int
    kind: str
    direction: str
    station_id: int | None
    station_name: str = ""
    actor_id: int | None
    source: str
    at: datetime
    data: dict = {}


class ScanResultOut(Out):
    duplicate: bool = Field(description="the same scan was already recorded: nothing changed")
    event: ScanEventOut
    parcel: ParcelOut


class PromiseOut(Out):
    leg: str
    due_at: datetime
    met_at: datetime | None
    breached: bool


class TimelineOut(Out):
    parcel: ParcelOut
    events: list[ScanEventOut]
    promises: list[PromiseOut]


# ---- buyer tracking ------------------------------------------------------------------------------
class TrackingParcelOut(Out):
    label: str
    status: str
    direction: str
    courier_company: str = ""
    tracking_no: str = ""
    pod_code: str | None = Field(None, description="proof-of-delivery code, shown once out for delivery")
    promises: list[PromiseOut]
    events: list[ScanEventOut]


class TrackingOut(Out):
    order_id: int
    order_status: str
    fulfilment: str
    task_status: str | None
    parcels: list[TrackingParcelOut]


# ---- SLA -----------------------------------------------------------------------------------------
class SlaQuery(QuerySchema):
    since: datetime | None = None
    until: datetime | None = None


class SlaRow(Out):
    key: str
    total: int = Field(description="legs finished or overdue")
    on_time: int
    late: int
    open_breached: int = Field(description="overdue and still not there")
    on_time_rate: float | None


class SlaOut(Out):
    by_route: list[SlaRow]
    by_town: list[SlaRow]


class BreachQuery(QuerySchema):
    open_only: bool = False
    cursor: str | None = Field(None, max_length=200)
    limit: Limit = 20


class BreachOut(Out):
    parcel_id: int
    label: str
    order_id: int
    leg: str
    town_station_id: int | None
    due_at: datetime
    breached_at: datetime
    met_at: datetime | None


# ---- WMS -----------------------------------------------------------------------------------------
class WmsPickLine(Schema):
    sku_id: Id
    batch: Batch
    quantity: Qty


class WmsPackLine(Schema):
    sku_id: Id
    quantity: Qty


class WmsEventIn(Schema):
    event_id: Annotated[str, StringConstraints(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
    type: Literal["task.picked", "parcel.packed", "parcel.dispatched"]
    task_id: Id | None = None
    label: Label | None = None
    picks: list[WmsPickLine] = Field(default_factory=list, max_length=200)
    lines: list[WmsPackLine] = Field(default_factory=list, max_length=200)
    weight_g: int | None = Field(None, ge=1, le=1_000_000)


class WmsResultOut(Out):
    event_id: str
    accepted: bool
    result: dict = {}


# ---- WeChat shipping upload (发货信息录入) ----------------------------------------------------------
class ShippingUploadQuery(QuerySchema):
    state: Literal["needs_person", "pending", "uploaded", "not_required", "resolved"] = "needs_person"
    cursor: str | None = Field(None, max_length=200)
    limit: Limit = 20


class ShippingUploadOut(Out):
    task_id: int
    order_id: int
    order_no: str
    state: str
    attempts: int
    errcode: int | None = Field(description="WeChat's last errcode (none: no answer)")
    error: str = Field(description="why it needs a person, in Chinese, or the last failure")
    shipped_at: datetime | None
    next_attempt_at: datetime | None


class ShippingResolveIn(Schema):
    action: Literal["done", "retry"] = Field(
        description="done: settled by hand in the WeChat admin; retry: try the upload once more")
    note: Annotated[str, StringConstraints(max_length=200)] = ""


class ShippingResolveOut(Out):
    task_id: int
    state: str


class UnpickOut(Out):
    """One line of the warehouse's un-pick list (退款回架, server/fulfillment/unpick.py)."""
    id: int
    task_id: int
    order_no: str
    sku_id: int
    name: str
    spec: str
    bin: str
    quantity: int
    refund_id: int
    created_at: datetime
    parcel_label: str = ""  # packed in this parcel, still at the warehouse: take them out of it (un-pack)
