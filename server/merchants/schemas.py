"""Merchant application and review bodies."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from server.kit.schemas import Out, Phone, QuerySchema, Schema


class SmsCodeIn(Schema):
    phone: Phone


class SmsCodeOut(Out):
    expires_in: int


class ApplicationIn(Schema):
    name: str = Field(min_length=2, max_length=64)
    kind: Literal["household", "cooperative", "enterprise"]
    contact_name: str = Field(min_length=1, max_length=32)
    contact_phone: Phone
    sms_code: str = Field(pattern=r"^\d{6}$", description="the code sent to contact_phone")
    licence_no: str = Field(min_length=6, max_length=64, pattern=r"^[0-9A-Za-z\-]+$",
                            description="business licence (统一社会信用代码) or ID number")
    town: str = Field(min_length=1, max_length=32)
    village: str = Field("", max_length=32)
    is_poor_household: bool = False
    description: str = Field("", max_length=2000)
    station_id: int | None = Field(None, ge=1, le=2**63 - 1,
                                   description="代卖: a household operated by this station (caller is its staff)")


class MerchantOut(Out):
    id: int
    name: str
    kind: str
    status: str
    contact_name: str
    contact_phone: str
    licence_no: str
    town: str
    village: str
    is_poor_household: bool
    description: str
    operated_by_station_id: int | None
    applicant_id: int | None
    reject_reason: str
    reviewed_at: datetime | None
    created_at: datetime


class MerchantQueueQuery(QuerySchema):
    status: Literal["pending", "active", "rejected", "suspended"] = "pending"
    q: str | None = Field(None, max_length=64, description="name or contact name (part), contact phone or licence no.")
    kind: Literal["household", "cooperative", "enterprise"] | None = None
    town: str | None = Field(None, max_length=32)
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(20, ge=1, le=100)
