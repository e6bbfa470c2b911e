from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from config.settings import ORDER_QUANTITY_MAX
from server.kit.schemas import Out, QuerySchema, Schema

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Qty = Annotated[int, Field(ge=1, le=ORDER_QUANTITY_MAX)]


class CheckoutLineIn(Schema):
    sku_id: Id
    quantity: Qty


class AddressIn(Schema):
    name: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    phone: Annotated[str, StringConstraints(pattern=r"^1[3-9]\d{9}$")]
    town: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    village: Annotated[str, StringConstraints(max_length=32)] = ""
    detail: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    # Outside Kazuo County: the county's region code (server/addresses/regions.json); empty = Kazuo.
    county_code: Annotated[str, StringConstraints(pattern=r"^(\d{6})?$")] = ""


class SourceIn(Schema):
    kind: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,16}$")]
    session_id: Id | None = None
    # pre-sale (预售, server/presale): the offer and how to pay, full now or a deposit now
    offer_id: Id | None = None
    mode: Literal["full", "deposit"] | None = None


class CheckoutIn(Schema):
    lines: list[CheckoutLineIn] = Field(min_length=1, max_length=100)
    fulfilment: Literal["pickup", "delivery"]
    station_id: Id | None = Field(None, description="pickup station (自提点); required for pickup")
    address: AddressIn | None = Field(None, description="required for delivery (or address_id)")
    address_id: Id | None = Field(None, description="a saved address of the buyer's book, for delivery")
    source: SourceIn | None = Field(None, description='attribution, e.g. {"kind": "live", "session_id": 1}')
    share_id: Id | None = Field(None, description="the share that brought the buyer (a share code's scene, "
                                                "GET /api/v1/share-scene): recorded as the order's attribution")
    note: Annotated[str, StringConstraints(max_length=200)] = ""
    clear_cart: bool = Field(False, description="remove the ordered SKUs from the cart")
    coupon_ids: list[Id] = Field(default_factory=list, max_length=5,
                                 description="claimed coupons to spend (server/promotions; GET /api/v1/me/coupons)")


class OrderLineOut(Out):
    id: int
    merchant_id: int
    product_id: int
    sku_id: int
    product_name: str
    sku_spec: str
    image: str
    unit_price: int
    quantity: int
    amount: int
    refunded_qty: int
    refunded_fen: int
    cold_chain: bool
    discount_fen: int = 0  # coupon savings on this line (the buyer pays amount - discount_fen)


class OrderOut(Out):
    id: int
    order_no: str
    buyer_id: int
    status: str
    fulfilment: str
    station_id: int | None
    address: dict | None
    goods_fen: int
    shipping_fen: int
    shipping_split: list[dict] | None = Field(None, description="freight per merchant: merchant_id, fen, carrier")
    discount_fen: int = 0  # coupons (promotions): total_fen = goods_fen + shipping_fen - discount_fen
    discounts: list[dict] = Field(default_factory=list, description="each coupon spent and what it saved")
    total_fen: int
    paid_fen: int
    refunded_fen: int
    payment_method: str
    source: str
    live_session_id: int | None
    assisted_by_id: int | None
    note: str
    created_at: datetime
    expires_at: datetime | None
    paid_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str
    completed_at: datetime | None
    lines: list[OrderLineOut]


class OrderEventOut(Out):
    from_status: str
    to_status: str
    actor_id: int | None
    data: dict
    created_at: datetime


class OrderListQuery(QuerySchema):
    status: Literal["pending_payment", "paid", "in_fulfilment", "ready_for_pickup", "out_for_delivery",
                    "delivered", "completed", "cancelled", "closed",
                    "deposit_paid"] | None = None  # deposit_paid: a pre-sale awaiting its balance (#28)
    cursor: Annotated[str, StringConstraints(max_length=200)] | None = None
    limit: int = Field(20, ge=1, le=100)


class AdminOrderQuery(OrderListQuery):
    order_no: Annotated[str, StringConstraints(max_length=32)] | None = None
    buyer_id: Id | None = None
    merchant_id: Id | None = None
    station_id: Id | None = None


class OrderPage(Out):
    items: list[OrderOut]
    next_cursor: str | None = None


class CancelIn(Schema):
    reason: Annotated[str, StringConstraints(max_length=64)] = ""


class RefundLineIn(Schema):
    line_id: Id
    quantity: Qty


class RefundRequestIn(Schema):
    lines: list[RefundLineIn] | None = Field(None, min_length=1, max_length=100,
                                             description="order lines and quantities; omit for the whole order")
    reason: Annotated[str, StringConstraints(max_length=200)] = ""
