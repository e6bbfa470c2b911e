from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from server.kit.auth import Role
from server.kit.schemas import Out, Phone, QuerySchema, Schema

WeChatCode = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-]+$")]


class WechatLoginIn(Schema):
    code: WeChatCode = Field(description="the code from wx.login()")


class UserOut(Out):
    id: int
    roles: list[str]
    nickname: str = ""
    phone: str | None = Field(None, description="bound phone number, if any")
    station_ids: list[int] = []
    merchant_ids: list[int] = []


class LoginOut(Out):
    token: str
    expires_in: int
    user: UserOut


class SmsCodeIn(Schema):
    phone: Phone


class SmsSentOut(Out):
    sent: bool
    expires_in: int


class BindPhoneIn(Schema):
    phone: Phone
    code: Annotated[str, StringConstraints(pattern=r"^\d{6}$")]


class GrantIn(Schema):
    user_id: int = Field(ge=1, le=2**63 - 1)
    role: Role
    station_id: int | None = Field(None, ge=1, le=2**63 - 1)
    merchant_id: int | None = Field(None, ge=1, le=2**63 - 1)
    is_head: bool = Field(False, description="station head (站长); only with station_staff")


class GrantOut(Out):
    id: int
    user_id: int
    role: str
    station_id: int | None
    merchant_id: int | None
    is_head: bool
    created_at: datetime


class UserAdminOut(Out):
    id: int
    openid_set: bool
    phone: str | None
    nickname: str
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None
    grants: list[GrantOut]


class UserBrief(Out):
    """A user in a search result: who they are and the roles they hold."""
    id: int
    nickname: str
    phone: str | None
    openid_set: bool
    is_active: bool
    roles: list[str]
    created_at: datetime
    last_login_at: datetime | None


class UserSearchQuery(QuerySchema):
    q: Annotated[str, StringConstraints(max_length=64, strip_whitespace=True)] = Field(
        "", description="a phone (or its start), a nickname (part), an openid, or a user id")
    role: Literal["admin", "warehouse", "station_staff", "merchant", "livestreamer", "operator"] | None = Field(
        None, description="only holders of this role (operator: any operator role)")
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(20, ge=1, le=100)


class OperatorIn(Schema):
    name: Annotated[str, StringConstraints(min_length=1, max_length=32, strip_whitespace=True)] = Field(
        description="the operator's name (shown in the console and the audit trail)")
    phone: Phone = Field(description="the mobile number they sign in to the console with")


class ScanTicketOut(Out):
    ticket: str
    expires_in: int


class ScanConfirmOut(Out):
    confirmed: bool
