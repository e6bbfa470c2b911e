from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from server.kit.auth import Role
from server.kit.schemas import Out, Phone, Schema

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
