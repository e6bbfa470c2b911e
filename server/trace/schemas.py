"""Request and response shapes of traceability (溯源)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from server.kit.schemas import Out, Phone, QuerySchema, Schema
from server.media.storage import check_key

# The warehouse's batch number format (server/fulfillment/schemas.py Batch): the same free text.
BatchCode = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._\-]+$")]
MediaKey = Annotated[str, StringConstraints(min_length=3, max_length=200)]
Line = Annotated[str, StringConstraints(max_length=32)]
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]


def _media(keys: list[str]) -> list[str]:
    for k in keys:
        try:
            check_key(k)
        except ValueError:
            raise ValueError("not a media key (upload the file first)") from None
    return keys


class StepIn(Schema):
    at: datetime
    actor: Line = ""
    description: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    photos: list[MediaKey] = Field(default_factory=list, max_length=9)

    @field_validator("photos")
    @classmethod
    def _photos(cls, v: list[str]) -> list[str]:
        return _media(v)

    @field_validator("at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("a time with its zone (e.g. 2026-09-01T08:00:00+08:00)")
        return v


class InspectionIn(Schema):
    lab: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    tested_on: date
    result: Literal["pass", "fail"]
    summary: Annotated[str, StringConstraints(max_length=200)] = ""
    file: MediaKey | None = None

    @field_validator("file")
    @classmethod
    def _file(cls, v: str | None) -> str | None:
        return _media([v])[0] if v else v


class BatchFields(Schema):
    sku_ids: list[Id] = Field(default_factory=list, max_length=20,
                              description="the product's SKUs made from this batch (empty: all of them)")
    producer_kind: Literal["merchant", "household"] = "merchant"
    producer_name: Annotated[str, StringConstraints(max_length=64)] = ""
    origin_town: Line = ""
    origin_village: Line = ""
    origin_plot: Annotated[str, StringConstraints(max_length=64)] = ""
    produced_on: date | None = None
    quantity: int | None = Field(None, ge=1, le=100_000_000)
    responsible_name: Line = ""
    responsible_phone: Phone | None = None
    note: Annotated[str, StringConstraints(max_length=500)] = ""


class BatchIn(BatchFields):
    product_id: Id
    code: BatchCode = Field(description="the batch number (批次号) printed on the goods and used at the warehouse")
    steps: list[StepIn] = Field(default_factory=list, max_length=50)
    inspections: list[InspectionIn] = Field(default_factory=list, max_length=20)


class BatchPatch(Schema):
    """Edits of an open batch (a locked one takes corrections)."""
    sku_ids: list[Id] | None = Field(None, max_length=20)
    producer_kind: Literal["merchant", "household"] | None = None
    producer_name: Annotated[str, StringConstraints(max_length=64)] | None = None
    origin_town: Line | None = None
    origin_village: Line | None = None
    origin_plot: Annotated[str, StringConstraints(max_length=64)] | None = None
    produced_on: date | None = None
    quantity: int | None = Field(None, ge=1, le=100_000_000)
    responsible_name: Line | None = None
    responsible_phone: Phone | None = None
    note: Annotated[str, StringConstraints(max_length=500)] | None = None


CORRECTABLE = ("producer_kind", "producer_name", "origin_town", "origin_village", "origin_plot", "produced_on",
               "quantity", "responsible_name", "responsible_phone", "note")


class CorrectionIn(Schema):
    """An appended correction: a new value for one field, or one more step or inspection; always a reason."""
    field: Literal["producer_kind", "producer_name", "origin_town", "origin_village", "origin_plot",
                   "produced_on", "quantity", "responsible_name", "responsible_phone", "note", "step",
                   "inspection"]
    value: str | int | None = Field(None, description="the new value of a batch field")
    step: StepIn | None = None
    inspection: InspectionIn | None = None
    reason: Annotated[str, StringConstraints(min_length=2, max_length=500)]


class ItemCodesIn(Schema):
    count: int = Field(ge=1, le=20_000)


class ReasonIn(Schema):
    reason: Annotated[str, StringConstraints(min_length=2, max_length=500)]


class RecallIn(ReasonIn):
    unpicked: Literal["refund", "wait"] = Field(
        "refund", description="paid orders' units of the recalled SKUs not picked yet: refund them to the "
                              "buyers (approved at once) or wait for a new batch; either way the report lists them")


class StepOut(Out):
    id: int
    at: datetime
    actor: str
    description: str
    photos: list[str]
    correction_id: int | None = None


class InspectionOut(Out):
    id: int
    lab: str
    tested_on: date
    result: str
    summary: str
    file: str
    correction_id: int | None = None


class CorrectionOut(Out):
    id: int
    field: str
    old_value: object = None
    new_value: object = None
    reason: str
    actor_id: int | None
    created_at: datetime


class BatchOut(Out):
    id: int
    merchant_id: int
    product_id: int
    code: str
    sku_ids: list[int]
    producer_kind: str
    producer_name: str
    origin_town: str
    origin_village: str
    origin_plot: str
    produced_on: date | None
    quantity: int | None
    responsible_name: str
    responsible_phone: str
    note: str
    status: str
    trace_code: str
    trace_url: str
    item_serials: int
    locked: bool
    locked_at: datetime | None
    created_at: datetime
    steps: list[StepOut] = []
    inspections: list[InspectionOut] = []
    corrections: list[CorrectionOut] = []


class BatchBrief(Out):
    id: int
    merchant_id: int
    product_id: int
    code: str
    status: str
    trace_code: str
    item_serials: int
    locked: bool
    produced_on: date | None
    created_at: datetime


class BatchQuery(QuerySchema):
    status: Literal["open", "recalled"] | None = None
    merchant_id: Id | None = None
    product_id: Id | None = None
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(20, ge=1, le=100)


class CodeOut(Out):
    code: str
    kind: str
    serial: int
    url: str
    scan_count: int
    flagged: bool


class ItemCodesOut(Out):
    batch_id: int
    first_serial: int
    last_serial: int
    codes: list[CodeOut]


class CodesQuery(QuerySchema):
    after_serial: int = Field(0, ge=0, le=10**9)
    limit: int = Field(100, ge=1, le=1000)


class LabelsQuery(QuerySchema):
    first: int = Field(1, ge=0, le=10**9, description="first serial on the sheet (0 = the batch code)")
    count: int = Field(40, ge=1, le=400)


class ScanHint(QuerySchema):
    """Where the scan happened, as coarse as the mini-program likes (never required)."""
    city: Annotated[str, StringConstraints(max_length=32)] | None = None
    lat: float | None = Field(None, ge=-90, le=90)
    lng: float | None = Field(None, ge=-180, le=180)


# ---- the public view (the /t/ page and /api/v1/trace/{code}) ------------------------------------
class PublicCert(Out):
    kind: str
    label: str
    number: str
    issuer: str
    expires_on: date | None


class PublicStep(Out):
    at: datetime
    actor: str
    description: str
    photos: list[str]
    corrected: bool = False


class PublicInspection(Out):
    lab: str
    tested_on: date
    result: str
    summary: str
    file_url: str
    corrected: bool = False


class PublicCorrection(Out):
    field: str
    reason: str
    at: datetime


class SoldThrough(Out):
    name: str
    level: str  # county (the warehouse) | town | village
    orders: int


class TraceView(Out):
    code: str
    kind: str  # batch | item
    serial: int
    status: str  # ok | recalled
    recall_reason: str = ""
    recalled_at: datetime | None = None
    product: dict
    skus: list[str]
    batch: dict
    producer: dict
    origin: dict
    responsible: str
    steps: list[PublicStep]
    inspections: list[PublicInspection]
    certifications: list[PublicCert]
    sold_through: list[SoldThrough]
    corrections: list[PublicCorrection]
    scan_count: int
    first_scan_at: datetime | None
    suspicious: bool
    url: str


# ---- the office's views ------------------------------------------------------------------------
class DestinationParcel(Out):
    id: int
    label: str
    status: str
    direction: str


class DestinationOut(Out):
    order_id: int
    order_no: str
    order_status: str
    fulfilment: str
    units: int
    buyer_id: int
    buyer_name: str
    buyer_phone: str
    station_id: int | None
    station_name: str
    parcels: list[DestinationParcel]
    picked_at: datetime


class DestinationsOut(Out):
    batch_id: int
    code: str
    units: int
    orders: int
    stations: list[SoldThrough]
    items: list[DestinationOut]


class RecallContactOut(Out):
    id: int
    order_id: int
    buyer_id: int
    units: int
    wechat: str
    sms: str
    parcels: str
    attempts: int
    last_error: str
    reached_at: datetime | None
    refund_id: int | None = Field(None, description="the refund of the stopped parcels' goods (auto-approved)")
    refund_error: str = Field("", description="why none was made (e.g. nothing_to_refund: already refunded)")
    unpicked_units: int = Field(0, description="units of the recalled SKUs not picked yet when the recall began")
    unpicked: str = Field("", description="pending | refunded | waiting (for a new batch) | why no refund")
    unpicked_refund_id: int | None = None


class RecallOut(Out):
    id: int
    batch_id: int
    reason: str
    status: str
    created_by_id: int | None
    created_at: datetime
    completed_at: datetime | None
    withdrawn: dict
    contacts: int
    reached: int
    parcels_stopped: int
    parcels_pending: int
    refunded: int = Field(0, description="orders refunded for the goods their stopped parcels held")
    unpicked: str = Field("refund", description="what the office chose for units not picked yet: refund | wait")
    unpicked_orders: int = Field(0, description="orders that still waited for units of the recalled SKUs")
    items: list[RecallContactOut] = []


class FlagOut(Out):
    id: int
    code: str
    batch_id: int
    reason: str
    data: dict
    status: str
    note: str
    created_at: datetime
    resolved_at: datetime | None


class FlagQuery(QuerySchema):
    status: Literal["open", "dismissed", "confirmed"] = "open"
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(50, ge=1, le=200)


class FlagResolveIn(Schema):
    status: Literal["dismissed", "confirmed"]
    note: Annotated[str, StringConstraints(max_length=200)] = ""


class ScanOut(Out):
    at: datetime
    channel: str
    city: str
    lat: float | None
    lng: float | None
    ip_prefix: str


class SmsInboundAck(Out):
    code: int = 0
    msg: str = "成功"
