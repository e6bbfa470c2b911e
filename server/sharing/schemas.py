from __future__ import annotations

from datetime import date, datetime

from pydantic import ConfigDict, Field

from server.kit.schemas import Out, QuerySchema


class ShareOut(Out):
    share_id: int
    kind: str = Field(description="product | campaign")
    target_id: int
    scene: str = Field(description="the mini-program code's scene (≤32 characters): p=<product>&s=<share> "
                                   "or c=<campaign>&s=<share>, base 36")
    path: str = Field(description="the mini-program path for a share card (wx.shareAppMessage)")
    poster_url: str = Field(description="the poster PNG (GET with the sharer's token)")


class SceneQuery(QuerySchema):
    scene: str = Field(min_length=1, max_length=64, description="the scene the mini-program code opened with")


class SceneOut(Out):
    kind: str
    target_id: int
    share_id: int
    path: str = Field(description="the page to open, with the share id to pass on to checkout (share_id)")


class AttributionOut(Out):
    order_id: int
    order_no: str
    status: str
    paid_fen: int
    share_id: int
    sharer_id: int
    sharer_name: str
    kind: str
    target_id: int
    target_name: str
    created_at: datetime


class SharerFigure(Out):
    sharer_id: int
    sharer_name: str
    orders: int
    paid_orders: int
    paid_fen: int


class AttributionQuery(QuerySchema):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)
    from_: date | None = Field(None, alias="from", description="first day (Asia/Shanghai), default 30 days ago")
    to: date | None = Field(None, description="last day (Asia/Shanghai), default today")


class AttributionReport(Out):
    start: date
    end: date
    orders: int
    paid_orders: int
    paid_fen: int = Field(description="what the attributed orders paid (fen), refunds not deducted")
    sharers: list[SharerFigure]
    recent: list[AttributionOut]


class OrderShareOut(Out):
    order_id: int
    share: AttributionOut | None = Field(description="the share that brought the order, null when none did")
