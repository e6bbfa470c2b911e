"""Request and response schemas of the station network, pickups and the station workspace."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from server.kit.schemas import Limit, Name, Out, PageQuery, QuerySchema, Schema, ShortText
from server.kit.versions import VERSION_FIELD, VersionedOut

Level = Literal["county", "town", "village"]
StationStatus = Literal["active", "suspended"]
Service = Literal["pickup", "parcel", "assisted_purchase", "assisted_sale", "bills", "information",
                  "training", "medical", "government", "finance"]
StationCode = Annotated[str, StringConstraints(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9\-_]+$")]
ContactPhone = Annotated[str, StringConstraints(max_length=20, pattern=r"^[0-9+\-]*$")]
Place = Annotated[str, StringConstraints(max_length=32)]
Hours = Annotated[str, StringConstraints(max_length=64)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
PickupCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{8}$")]
OrderNo = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9\-_]+$")]


# ---- network ---------------------------------------------------------------------------------
class StationIn(Schema):
    code: StationCode
    name: Name
    level: Level
    parent_id: Id | None = Field(None, description="town centre of a village station; county centre of a town")
    town: Place = ""
    village: Place = ""
    address: ShortText = ""
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    opening_hours: Hours = ""
    contact_name: Place = ""
    contact_phone: ContactPhone = ""
    services: list[Service] = Field(default_factory=lambda: ["pickup"], max_length=10)
    status: StationStatus = "active"
    is_poor_village: bool = Field(False, description="registered poor village (建档立卡贫困村)")

    @model_validator(mode="after")
    def _coords_together(self):
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude go together")
        return self


class StationPatch(Schema):
    name: Name | None = None
    parent_id: Id | None = None
    town: Place | None = None
    village: Place | None = None
    address: ShortText | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    opening_hours: Hours | None = None
    contact_name: Place | None = None
    contact_phone: ContactPhone | None = None
    services: list[Service] | None = Field(None, max_length=10)
    status: StationStatus | None = None
    is_poor_village: bool | None = None
    version: str | None = VERSION_FIELD


class StationOut(VersionedOut):
    _unversioned = ("pickup_locked_until",)   # set by wrong pickup codes, not by an editor
    id: int
    code: str
    name: str
    level: str
    parent_id: int | None
    town: str
    village: str
    address: str
    latitude: float | None
    longitude: float | None
    opening_hours: str
    contact_name: str
    contact_phone: str
    services: list[str]
    status: str
    is_poor_village: bool
    pickup_locked_until: datetime | None = None


class PublicStationOut(Out):
    """What consumers see (no lock state). The code is the station's public name in the network
    (printed on its sign and parcel labels; `grant-role --station CODE` takes it)."""
    id: int
    code: str
    parent_id: int | None = Field(None, description="the station the parcels come through (village → town → county)")
    name: str
    level: str
    town: str
    village: str
    address: str
    latitude: float | None
    longitude: float | None
    opening_hours: str
    contact_phone: str
    services: list[str]
    distance_km: float | None = None


class StationListQuery(QuerySchema):
    q: str | None = Field(None, max_length=64, description="a station's code, or part of its name")
    level: Level | None = None
    town: Place | None = None
    status: StationStatus | None = None
    parent_id: Id | None = None
    cursor: str | None = Field(None, max_length=200)
    limit: Limit = 20


class NearbyQuery(QuerySchema):
    lat: Latitude
    lng: Longitude
    radius_km: float = Field(20.0, gt=0, le=200, allow_inf_nan=False)
    level: Level | None = None
    service: Service | None = Field("pickup", description="only stations offering this service")
    limit: Limit = 20


class CoverageOut(Out):
    stations_by_level: dict[str, int]
    active_by_level: dict[str, int]
    stations_by_town: list[dict]
    towns_covered: int
    villages_covered: int
    poor_villages_covered: int
    suspended: int
    targets: dict[str, int]


# ---- pickups ---------------------------------------------------------------------------------
class PickupOut(Out):
    """A pickup (自提) as staff and the warehouse see it: never the code, which only the buyer holds
    (staff who knew it could hand a parcel to themselves)."""
    id: int
    order_id: int
    order_no: str
    station_id: int
    status: str
    received_at: datetime
    deadline_at: datetime
    picked_up_at: datetime | None = None
    verified_by: int | None = None
    verify_method: str = ""


class BuyerPickupOut(Out):
    """What the buyer's mini-program shows: station, code, QR payload and deadline."""
    order_id: int
    status: str
    code: str | None
    qr_payload: str | None
    deadline_at: datetime
    station: PublicStationOut
    picked_up_at: datetime | None = None


class ReceiveIn(Schema):
    order_no: OrderNo


class VerifyIn(Schema):
    code: PickupCode | None = Field(None, description="the 8-digit code the buyer reads out")
    qr: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = Field(
        None, description="the scanned QR payload")

    @model_validator(mode="after")
    def _one_of(self):
        if (self.code is None) == (self.qr is None):
            raise ValueError("give exactly one of code or qr")
        return self


class VerifyOut(Out):
    pickup: PickupOut
    result: Literal["picked_up"]


class PickupListQuery(QuerySchema):
    state: Literal["ready", "overdue", "picked_up", "returned", "arrived_today"] = "ready"
    cursor: str | None = Field(None, max_length=200)
    limit: Limit = 20


class AlertOut(Out):
    id: int
    station_id: int
    kind: str
    message: str
    data: dict
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by_id: int | None = None


class AlertQuery(QuerySchema):
    open: bool = True
    cursor: str | None = Field(None, max_length=200)
    limit: Limit = 20


class ReturnTaskOut(Out):
    id: int
    pickup_id: int
    order_id: int
    station_id: int
    status: str
    reason: str
    refund_requested_at: datetime | None
    created_at: datetime


class WorkspaceOut(Out):
    station: StationOut
    today: str
    arrivals_today: int
    ready: int
    overdue: int
    verified_today: int
    recent_verifications: list[PickupOut]
    open_alerts: int
    cash_to_hand_over_fen: int | None = Field(
        None, description="cash taken at the counter that the station owes the platform (fen); null without the ledger")
    fee_earnings_fen: int | None = Field(
        None, description="the station's service-fee earnings from the ledger (fen); null without the ledger")


# ---- assisted buying and selling (代购 / 代卖) -------------------------------------------------
class VillagerIn(Schema):
    phone: Annotated[str, StringConstraints(pattern=r"^1[3-9][0-9]{9}$")]
    name: Annotated[str, StringConstraints(max_length=32)] = ""


class VillagerBindIn(Schema):
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")] | None = Field(
        None, description="the SMS code the villager received")
    confirm_at_counter: bool = Field(False, description="staff confirm the villager in person instead")

    @model_validator(mode="after")
    def _one_of(self):
        if (self.code is None) == (not self.confirm_at_counter):
            raise ValueError("give either code or confirm_at_counter=true")
        return self


class VillagerOut(Out):
    id: int
    user_id: int
    station_id: int
    phone: str
    name: str
    bound_via: str
    bound_at: datetime | None
    created_at: datetime


class AssistedLineIn(Schema):
    sku_id: Id
    quantity: Annotated[int, Field(ge=1, le=999)]


class AssistedOrderIn(Schema):
    villager_id: Id
    lines: list[AssistedLineIn] = Field(min_length=1, max_length=50)
    note: Annotated[str, StringConstraints(max_length=200)] = ""


class AssistedOrderQuery(PageQuery):
    """A station's assisted orders, newest first."""


class OperatedMerchantOut(Out):
    id: int
    name: str
    kind: str
    status: str
    contact_name: str
    town: str
    village: str
    products_on_sale: int


class SalesQuery(QuerySchema):
    merchant_id: Id | None = None
    days: int = Field(30, ge=1, le=366)


class ProductSalesOut(Out):
    merchant_id: int
    product_id: int
    product_name: str
    quantity: int
    amount_fen: int
    refunded_fen: int
    orders: int


class SalesOut(Out):
    since: datetime
    quantity: int
    amount_fen: int
    refunded_fen: int
    net_fen: int
    by_product: list[ProductSalesOut]


# ---- staff -------------------------------------------------------------------------------------
class StaffOut(Out):
    user_id: int
    nickname: str
    phone_tail: str = Field("", description="last 4 digits of the bound phone")
    is_head: bool
    since: datetime


class HeadIn(Schema):
    user_id: Id
