"""Request and response schemas of the livestream API. Clients never set status, stock, remaining
quota, owner or figures: those fields exist only on the Out models."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints

from config.settings import ORDER_QUANTITY_MAX
from server.orders.schemas import AddressIn, OrderOut
from server.kit.money import BasisPoints, PositiveFen
from server.kit.schemas import Out, QuerySchema, Schema

Title = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Url = Annotated[str, StringConstraints(max_length=300, pattern=r"^(https?://|/media/)[^\s]*$")]
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Qty = Annotated[int, Field(ge=1, le=1_000_000)]


class ProfileIn(Schema):
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    avatar: Url | Literal[""] = ""
    bio: Annotated[str, StringConstraints(max_length=500)] = ""


class TraineeLinkIn(Schema):
    trainee_id: Id | None = None
    incubation_base: bool = False


class RoomIn(Schema):
    title: Title
    on_behalf: Literal["self", "merchant", "incubation_base"] = "self"
    merchant_id: Id | None = None
    default_commission_bp: BasisPoints = 0


class RoomOut(Out):
    id: int
    owner_id: int
    title: str
    on_behalf: str
    merchant_id: int | None
    default_commission_bp: int
    created_at: datetime


class SessionIn(Schema):
    title: Title
    cover: Url | Literal[""] = ""
    scheduled_at: AwareDatetime
    commission_bp: BasisPoints | None = None


class SessionPatch(Schema):
    title: Title | None = None
    cover: Url | Literal[""] | None = None
    scheduled_at: AwareDatetime | None = None
    commission_bp: BasisPoints | None = None


class TieInIn(Schema):
    sku_id: Id
    live_price: PositiveFen
    quota: Qty
    per_buyer_limit: Annotated[int, Field(ge=1, le=1000)] | None = None
    commission_bp: BasisPoints | None = None
    sort: Annotated[int, Field(ge=0, le=10_000)] = 0


class TieInPatch(Schema):
    live_price: PositiveFen | None = None
    add_quota: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    per_buyer_limit: Annotated[int, Field(ge=1, le=1000)] | None = None
    commission_bp: BasisPoints | None = None
    sort: Annotated[int, Field(ge=0, le=10_000)] | None = None


class BuyNowIn(Schema):
    """立即抢购: one product of the live session; the price and quota come from the session.
    Frozen: a parsed body is shared by every request with the same bytes (kit.http.parse_body)."""
    model_config = ConfigDict(frozen=True)  # with Schema's own settings: pydantic merges them
    sku_id: Id
    quantity: Annotated[int, Field(ge=1, le=ORDER_QUANTITY_MAX)] = 1
    fulfilment: Literal["pickup", "delivery"]
    station_id: Id | None = None
    address: AddressIn | None = None
    note: Annotated[str, StringConstraints(max_length=200)] = ""


class TicketOut(Out):
    """A place in the flash-sale queue (排队下单): the buyer holds a unit of the quota while the order
    is written. Poll GET /api/v1/live/tickets/{ticket} until the status is placed or failed."""
    ticket: str
    status: Literal["queued", "placed", "failed", "expired"]
    session_id: int
    sku_id: int
    quantity: int
    order: OrderOut | None = Field(None, description="the order, once placed (pay it as any other)")
    error: dict | None = Field(None, description="why it failed: {status, code, message, details}")


class OnAirIn(Schema):
    tiein_id: Id | None = Field(None, description="the tie-in to present (讲解中); null clears it")


class TieInOut(Out):
    id: int
    sku_id: int
    product_id: int
    merchant_id: int
    product_name: str
    sku_spec: str
    image: str
    list_price: int
    live_price: int
    quota: int
    remaining: int
    sold: int
    per_buyer_limit: int
    commission_bp: int | None
    sort: int


class SessionOut(Out):
    id: int
    room_id: int
    livestreamer_id: int
    livestreamer_name: str
    merchant_id: int | None
    title: str
    cover: str
    scheduled_at: datetime
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    commission_bp: int
    on_air_tiein_id: int | None
    version: int


class SessionView(Out):
    """What viewers poll (and what the websocket sends first)."""
    session: SessionOut
    tieins: list[TieInOut]
    on_air: TieInOut | None
    viewers: int


class PushOut(Out):
    push_url: str
    expires_at: int
    stream_name: str


class PlayOut(Out):
    rtmp: str
    flv: str
    hls: str
    expires_at: int


class SessionsQuery(QuerySchema):
    status: Literal["scheduled", "live", "ended", "cancelled"] | None = None
    mine: bool = False
    cursor: str | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20


class ShareOut(Out):
    session_id: int
    path: str
    scene: str
    wxacode_url: str


class ProductFigures(Out):
    tiein_id: int
    sku_id: int
    merchant_id: int
    product_name: str
    orders: int
    units: int
    gmv_fen: int


class FiguresOut(Out):
    session_id: int
    status: str
    live: bool = Field(description="true: live from Redis; false: stored when the session ended")
    viewers_now: int
    viewers: int
    peak_viewers: int
    orders: int
    buyers: int
    units: int
    gmv_fen: int
    cancelled_units: int
    conversion_bp: int
    per_product: list[ProductFigures]


class ProfileSession(Out):
    id: int
    title: str
    status: str
    scheduled_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    gmv_fen: int
    orders: int


class CommissionEntry(Out):
    order_id: int
    order_no: str
    session_id: int | None
    status: str
    commission_fen: int
    completed_at: datetime | None


class ProfileOut(Out):
    user_id: int
    display_name: str
    avatar: str
    bio: str
    trainee_id: int | None
    incubation_base: bool
    sessions: int
    gmv_fen: int
    commission_fen: int | None = Field(None, description="the livestreamer and admins only")
    recent_sessions: list[ProfileSession]
    commissions: list[CommissionEntry] | None = None


class CallbackOut(Out):
    ok: bool
    outcome: str = Field(description="what the callback did (duplicate, or what it changed)")
