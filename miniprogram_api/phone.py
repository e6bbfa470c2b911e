"""SMS codes and phone binding for mini-program users."""
from typing import Annotated

from pydantic import Field, StringConstraints
from sanic import Blueprint, Request

from miniprogram_api.auth import client_ip
from server.accounts import phone as phone_service
from server.accounts.schemas import BindPhoneIn, SmsSentOut
from server.kit.http import endpoint
from server.kit.schemas import Phone, Schema

bp = Blueprint("mp_phone", url_prefix="/api/v1")


class SendCodeIn(Schema):
    phone: Phone
    purpose: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")] = Field(
        "bind_phone", description="what the code is for: bind_phone, merchant_application, assisted_purchase")


@bp.post("/auth/sms-code")
@endpoint(summary="Send a 6-digit SMS code (1 a minute, 10 a day per phone)", auth="user",
          body=SendCodeIn, response=SmsSentOut, tags=("auth",), errors=(429, 502))
async def send_sms_code(request: Request, principal, body: SendCodeIn):
    return await phone_service.request_code(principal.user_id, client_ip(request), body.phone, body.purpose)


@bp.post("/me/phone")
@endpoint(summary="Bind a phone number to the caller with its SMS code", auth="user",
          body=BindPhoneIn, response=phone_service.PhoneOut, tags=("auth",), errors=(409, 429))
async def bind_phone(request: Request, principal, body: BindPhoneIn):
    return await phone_service.bind_phone(principal.user_id, body.phone, body.code, client_ip(request))
