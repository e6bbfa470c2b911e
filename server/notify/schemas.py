from __future__ import annotations

from pydantic import Field

from server.kit.schemas import Out, QuerySchema


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
