from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from server.kit.schemas import Out, QuerySchema, Schema

RegionCode = Annotated[str, StringConstraints(pattern=r"^(\*|\d{6}(\d{3})?)$")]
Fen = Annotated[int, Field(ge=0, le=10_000_000)]
Units = Annotated[int, Field(ge=1, le=1_000_000)]


class ZoneIn(Schema):
    regions: list[RegionCode] = Field(min_length=1, max_length=200,
                                      description='region codes (province, city, county, town) or "*" for the rest')
    mode: Literal["free", "flat", "metered", "not_served"]
    first_units: Units = 1  # grams (by weight) or pieces (by piece) the first charge covers
    first_fen: Fen = 0
    step_units: Units = 1
    step_fen: Fen = 0


class TemplateIn(Schema):
    name: Annotated[str, StringConstraints(max_length=64)] = ""
    basis: Literal["weight", "piece"] = "piece"
    zones: list[ZoneIn] = Field(min_length=1, max_length=50)
    cold_chain_fen: Fen = 0
    free_above_fen: Fen | None = None
    income_to: Literal["merchant", "platform"] = "merchant"


class ZoneOut(Out):
    regions: list[str]
    region_names: list[str]
    mode: str
    first_units: int
    first_fen: int
    step_units: int
    step_fen: int


class TemplateOut(Out):
    id: int
    merchant_id: int | None
    name: str
    basis: str
    zones: list[ZoneOut]
    cold_chain_fen: int
    free_above_fen: int | None
    income_to: str
    is_active: bool
    updated_at: datetime | None = None


class MerchantFreightOut(Out):
    """What a merchant's orders are priced by: its own template when in use, else the county's."""
    uses_own: bool
    own: TemplateOut | None
    county: TemplateOut | None
    limits: dict[str, int]


class LimitProblemOut(Out):
    field: str      # zones.0.first_fen, cold_chain_fen, income_to
    value: int | str
    limit: int | str


class MerchantTemplateOut(Out):
    """A merchant's own template as the office sees it, checked against today's limits (the limits are
    settings: a template saved under higher ones may exceed them now)."""
    merchant_id: int
    merchant_name: str
    template: TemplateOut
    within_limits: bool
    problems: list[LimitProblemOut]


class MerchantTemplateQuery(QuerySchema):
    over_only: bool = Field(False, description="only templates beyond the office's limits")
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(50, ge=1, le=100)


class MerchantTemplateList(Out):
    items: list[MerchantTemplateOut]
    limits: dict[str, int]
    next_cursor: str | None = None


class ShipmentQuote(Out):
    merchant_id: int
    fen: int
    template_id: int | None
    zone: str  # free | flat | metered | none (no template) | pickup
    income_to: str
