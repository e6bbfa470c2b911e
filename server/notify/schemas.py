from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from server.kit.schemas import Out, QuerySchema, Schema


class SubscribeQuery(QuerySchema):
    scene: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$",
                       description="the mini-program screen, e.g. order_paid")


class SubscribeMomentOut(Out):
    key: str
    title: str
    template_id: str


class SubscribeTemplatesOut(Out):
    scene: str
    template_ids: list[str] = Field(description="pass these to wx.requestSubscribeMessage({tmplIds}) (at most 3)")
    moments: list[SubscribeMomentOut]


class LiveBookingOut(Out):
    session_id: int
    title: str
    scheduled_at: datetime
    status: str = Field(description="the session's status: scheduled | live | ended")
    booked: bool = Field(description="the caller has a booking (a reminder will be sent once)")
    reminded: bool


class SubscribeResultsIn(Schema):
    """What wx.requestSubscribeMessage answered, as the mini-program got it: {template_id: accept|reject|ban}."""
    results: dict[Annotated[str, StringConstraints(min_length=1, max_length=64)],
                  Literal["accept", "reject", "ban", "filter"]] = Field(min_length=1, max_length=3)


class SubscribeChoiceOut(Out):
    template_id: str
    accepted: int = Field(description="messages this template may still send (one per acceptance)")
    declined: bool


class SubscribeChoicesOut(Out):
    items: list[SubscribeChoiceOut]


class OutboxItemOut(Out):
    moment: str
    title: str = Field(description="the moment as the buyer reads it (Chinese)")
    ref: str
    status: str = Field(description="pending | sending | done | failed")
    wechat: str = Field(description="sent | refused | unsubscribed | no_openid | no_account | failed (WeChat "
                                    "still failing at the last attempt of a moment the buyer must act on: "
                                    "the SMS instead) | '' (not tried yet)")
    sms: str = Field(description="sent | none (no phone) | '' (not needed)")
    attempts: int
    error: str
    created_at: datetime
    done_at: datetime | None


class OrderMessagesOut(Out):
    order_id: int
    items: list[OutboxItemOut]
