"""Phone binding (绑定手机号): the caller proves the phone by an SMS code, then it is bound to them."""
from __future__ import annotations

from datetime import datetime

from tortoise.exceptions import IntegrityError

from server.accounts import sms
from server.accounts.schemas import SmsSentOut
from server.kit import audit, clock, runtime
from server.kit import redis as kr
from server.kit.db import atomic
from server.kit.errors import Conflict, NotFound
from server.kit.schemas import Out
from server.models.accounts import User
from server.accounts.errors import AccountCode

PURPOSE = "bind_phone"


class PhoneOut(Out):
    phone: str
    phone_verified_at: datetime


def mask(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:]


def _taken() -> Conflict:
    return Conflict("this phone number is bound to another account", code=AccountCode.PHONE_TAKEN,
                    details=[{"field": "phone", "message": "bound to another account"}])


async def request_code(user_id: int, client_ip: str, phone: str, purpose: str) -> SmsSentOut:
    """A user asks for a code: per-IP and per-user caps on top of send_code's per-phone caps."""
    s = runtime.settings()
    # Per phone alone would let one caller spray codes over many numbers (each SMS costs money).
    await kr.hit_limit("sms_ip", client_ip, s.sms_per_ip_per_hour, 3600,
                       message="too many SMS codes requested from this address")
    await kr.hit_limit("sms_user", user_id, s.sms_per_user_per_hour, 3600,
                       message="too many SMS codes requested by this account")
    return SmsSentOut(sent=True, expires_in=await sms.send_code(phone, purpose))


async def bind_phone(user_id: int, phone: str, code: str, client_ip: str | None = None) -> PhoneOut:
    """Verify the bind_phone code, then bind phone to the user (409 phone_taken if someone has it)."""
    if client_ip is not None:
        await kr.hit_limit("phone_bind_ip", client_ip, runtime.settings().phone_bind_per_ip_per_hour,
                           3600, message="too many attempts from this address")
    # The code is checked first: only the phone's holder learns whether it is bound elsewhere.
    await sms.verify_code(phone, PURPOSE, code)
    now = clock.now()
    try:
        async with atomic() as conn:
            if await User.filter(phone=phone).exclude(id=user_id).using_db(conn).exists():
                raise _taken()
            changed = await User.filter(id=user_id).using_db(conn).update(phone=phone, phone_verified_at=now)
            if not changed:
                raise NotFound("user not found")
            await audit.record(user_id, "user.phone_bind", "user", user_id, {"phone": mask(phone)},
                               conn=conn)
    except IntegrityError:
        # Two accounts raced for the same number: the unique index decided.
        raise _taken() from None
    return PhoneOut(phone=phone, phone_verified_at=now)
