"""The stock journal as the API shows it."""
from __future__ import annotations

from datetime import datetime

from pydantic import Field

from server.kit.schemas import Out, Page, PageQuery


class StockMovesQuery(PageQuery):
    """A SKU's journal, newest first."""


class StockMoveOut(Out):
    id: int
    sku_id: int
    reason: str = Field(description="checkout | cancel | refund | task_cancel | task_shrink | unpack | ship | "
                                    "return | inbound | create | adjust | to_live | from_live | live_sale | "
                                    "live_cancel")
    d_stock: int = Field(description="change of sellable stock")
    d_reserved: int = Field(description="change of units reserved by orders")
    d_quota: int = Field(description="change of the live tie-in's remaining quota")
    tiein_id: int | None
    ref_type: str = Field(description="order_line | refund | fulfillment_task | parcel | inbound_line | "
                                      "live_tiein | batch (a recall) | sku (a manual adjustment)")
    ref_id: int | None
    actor_id: int | None = Field(description="the operator of a manual change, or the user who caused it")
    note: str
    created_at: datetime


StockMovesPage = Page[StockMoveOut]
