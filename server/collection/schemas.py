"""Bodies and answers of first-mile collection (村级揽收)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from server.kit.schemas import Out, PageQuery, QuerySchema, Schema
from server.media.storage import check_key

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
MediaKey = Annotated[str, StringConstraints(min_length=3, max_length=200)]
Grade = Literal["premium", "first", "second", "standard"]
GRADE_LABELS = {"premium": "特级", "first": "一级", "second": "二级", "standard": "统货"}
STATUS_LABELS = {"at_station": "在站", "in_transit": "运输中", "arrived": "已到县仓待收货", "received": "已入库"}


class CollectionIn(Schema):
    """A collection recorded at the station counter (揽收登记)."""
    merchant_id: Id = Field(description="the household or cooperative the station sells for (代卖)")
    sku_id: Id
    quantity: int = Field(ge=1, le=1_000_000, description="SKU units collected")
    weight_g: int = Field(ge=1, le=100_000_000, description="their weight in grams")
    grade: Grade = "standard"
    photos: list[MediaKey] = Field(default_factory=list, max_length=9)
    plot: str = Field("", max_length=64, description="地块 / 基地")
    harvested_on: date | None = Field(None, ge=date(2000, 1, 1), description="harvest date (采收日期)")
    batch_id: Id | None = Field(None, description="add to this open, unsold batch of the same producer and "
                                                  "product; empty: open a new batch")
    cold_chain: bool | None = Field(None, description="empty: as the SKU says")
    note: str = Field("", max_length=200)

    @field_validator("photos")
    @classmethod
    def _photos(cls, v: list[str]) -> list[str]:
        for k in v:
            try:
                check_key(k)
            except ValueError:
                raise ValueError("not a media key (upload the photo first)") from None
        return v


class PhotoOut(Out):
    key: str
    url: str


class CollectionScanIn(Schema):
    label: str = Field(min_length=1, max_length=24, pattern=r"^[A-Z0-9]+$")
    kind: Literal["dispatched", "arrived"]
    station_id: Id | None = Field(None, description="where you scan (warehouse operators: empty = county)")


class ReceiveCollectionIn(Schema):
    received_qty: int = Field(ge=0, le=1_000_000, description="units counted at the county warehouse")
    reason: str = Field("", max_length=200, description="required when the count differs from the collection")


class CollectionQuery(PageQuery):
    status: Literal["at_station", "in_transit", "arrived", "received"] | None = None


class OpenBatchQuery(QuerySchema):
    merchant_id: Id
    sku_id: Id


class StatsQuery(QuerySchema):
    since: date | None = Field(None, ge=date(2000, 1, 1), le=date(2100, 12, 31))
    until: date | None = Field(None, ge=date(2000, 1, 1), le=date(2100, 12, 31))


class CollectionScanOut(Out):
    kind: str
    station_id: int | None
    station_name: str = ""
    at: datetime
    data: dict = {}


class PromiseOut(Out):
    leg: str
    due_at: datetime | None
    met_at: datetime | None
    breached: bool


class SoldOut(Out):
    """What sold from the collection's batch (picked for orders) and the station's 代卖 figures."""
    batch_sold_units: int
    batch_sold_fen: int
    merchant_sold_units_30d: int
    merchant_sold_fen_30d: int


class CollectionOut(Out):
    id: int
    label: str
    status: str
    status_label: str
    station_id: int
    station_name: str
    town: str
    village: str
    merchant_id: int
    merchant_name: str
    product_id: int
    product_name: str
    sku_id: int
    sku_spec: str
    batch_id: int
    batch_code: str
    trace_code: str
    new_batch: bool
    quantity: int
    weight_g: int
    unit_price_fen: int
    value_fen: int
    grade: str
    grade_label: str
    photos: list[str]
    cold_chain: bool
    note: str
    route: list[int]
    position: int
    moving: bool
    received_qty: int | None
    difference: int | None = Field(None, description="received minus collected, once received")
    difference_reason: str
    received_at: datetime | None
    created_at: datetime
    promises: list[PromiseOut] = []
    scans: list[CollectionScanOut] = []
    sold: SoldOut | None = None


class CollectionScanResultOut(Out):
    duplicate: bool
    collection: CollectionOut


class OpenBatchOut(Out):
    id: int
    code: str
    trace_code: str
    produced_on: date | None
    quantity: int | None
    created_at: datetime


class PlaceFigures(Out):
    key: str
    name: str
    is_poor_village: bool = False
    collections: int
    units: int
    weight_g: int
    value_fen: int


class CollectionStatsOut(Out):
    """农产品上行: collected volume and value per village and town, and the poor villages' share."""
    since: date | None
    until: date | None
    collections: int
    units: int
    weight_g: int
    value_fen: int
    received_units: int
    poor_village_weight_g: int
    poor_village_value_fen: int
    poor_village_value_share: float | None
    by_town: list[PlaceFigures]
    by_village: list[PlaceFigures]
