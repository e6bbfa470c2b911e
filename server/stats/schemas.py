"""Inputs of the statistics endpoints."""
from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import ConfigDict, Field

from server.kit.schemas import QuerySchema, Schema


class RangeQuery(QuerySchema):
    """A date range of Asia/Shanghai calendar days, both ends included (default: this year so far)."""
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    from_: date | None = Field(None, alias="from", description="first day, YYYY-MM-DD")
    to: date | None = Field(None, description="last day, YYYY-MM-DD (default today)")


class ExportQuery(RangeQuery):
    format: Literal["csv", "xlsx"] = "xlsx"


class RollupIn(Schema):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: date = Field(alias="from")
    to: date


class ScreenTokenIn(Schema):
    name: str = Field(min_length=1, max_length=64, description="where the screen is, e.g. 县电商公共服务中心大厅")


class ScreenPageQuery(QuerySchema):
    token: str | None = Field(None, max_length=2000)
