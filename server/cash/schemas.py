from datetime import datetime
from typing import Literal

from pydantic import Field

from server.kit.money import PositiveFen
from server.kit.schemas import Out, QuerySchema, Schema


class HandoverIn(Schema):
    """Cash the station hands to the county centre now (at most what it owes, less hand-overs waiting)."""
    amount_fen: PositiveFen
    note: str = Field("", max_length=200)


class ConfirmIn(Schema):
    """What the centre counted; a difference from the declared amount needs a note (why)."""
    received_fen: PositiveFen
    note: str = Field("", max_length=200)


class RejectIn(Schema):
    """Nothing arrived (or the hand-over was recorded in error): the ledger never moves."""
    note: str = Field(min_length=1, max_length=200)


class HandoverOut(Out):
    id: int
    station_id: int
    station_name: str = ""
    declared_fen: int
    received_fen: int | None
    difference_fen: int
    flagged: bool
    status: str
    note: str
    handed_by: int
    handed_at: datetime
    decided_by: int | None
    decided_at: datetime | None
    decision_note: str


class CashSummaryOut(Out):
    station_id: int
    station_name: str
    owed_fen: int = Field(description="cash taken at the counter, less cash refunds and confirmed hand-overs")
    pending_fen: int = Field(description="hand-overs recorded, not yet confirmed by the centre")
    to_hand_over_fen: int = Field(description="owed less pending: what can be recorded now")
    taken_today_fen: int = Field(description="cash taken at the counter today (Asia/Shanghai)")
    cash_orders_today: int
    confirmed_fen: int = Field(description="all hand-overs the centre confirmed")


class StationOwesOut(Out):
    station_id: int
    station_name: str
    owed_fen: int
    pending_fen: int


class HandoversQuery(QuerySchema):
    status: Literal["pending", "confirmed", "rejected"] | None = None
    station_id: int | None = Field(None, ge=1, le=2**63 - 1)
    flagged: bool | None = None
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(50, ge=1, le=200)
