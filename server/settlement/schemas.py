from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, Field

from server.kit.schemas import Out, QuerySchema, Schema

PartyType = Literal["merchant", "station"]
Payee = Literal["merchant", "station", "livestreamer"]


class FeeTermIn(Schema):
    """A merchant's platform fee or a station's service fee, in force from effective_from (not before now)."""
    party_type: PartyType = Field(description="merchant: the platform fee; station: the station service fee")
    party_id: int = Field(ge=1, le=2**63 - 1)
    fee_bp: int = Field(ge=0, le=10_000, description="basis points (500 = 5%)")
    effective_from: AwareDatetime | None = Field(None, description="aware time, now or later (default: now)")
    note: str = Field("", max_length=200)


class FeeTermOut(Out):
    id: int
    party_type: str
    party_id: int
    fee_bp: int
    effective_from: datetime
    note: str
    created_by: int | None
    created_at: datetime


class FeeTermsQuery(QuerySchema):
    party_type: PartyType
    party_id: int = Field(ge=1, le=2**63 - 1)


class FeeTermsOut(Out):
    party_type: str
    party_id: int
    in_force_bp: int = Field(description="the fee a line paid now would be charged")
    default_bp: int = Field(description="the global setting, used while no term is in force")
    terms: list[FeeTermOut]


class SettleIn(Schema):
    period_end: AwareDatetime | None = Field(None, description="end of the period to settle (a period boundary); "
                                                          "default: the last one that has ended")


class SettleOut(Out):
    period_start: datetime
    period_end: datetime
    statements_created: int
    statements_existing: int
    lines: int
    total_fen: int


class StatementsQuery(QuerySchema):
    account_type: Payee | None = None
    account_id: int | None = Field(None, ge=1, le=2**63 - 1)
    period_end: datetime | None = None
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(50, ge=1, le=200)


class StatementLineOut(Out):
    id: int
    order_id: int
    order_line_id: int
    order_no: str
    product_name: str
    completed_at: datetime | None
    sales_fen: int
    reversals_fen: int
    amount_fen: int
    entry_ids: list[int]


class StatementOut(Out):
    id: int
    account_type: str
    account_id: int
    period_start: datetime
    period_end: datetime
    total_fen: int
    sales_fen: int
    reversals_fen: int
    line_count: int
    created_at: datetime


class StatementDetailOut(StatementOut):
    lines: list[StatementLineOut]

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_CONTENT = {XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}}}
PDF_CONTENT = {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}
