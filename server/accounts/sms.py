"""SMS verification codes (短信验证码) and notification SMS, sent through Aliyun SendSms.

Other capabilities call these (signatures are a contract):
  send_code(phone, purpose) -> expires_in; verify_code(phone, purpose, code); send_notice(...).

Codes are 6 digits, stored only as an HMAC in Redis, valid sms_code_ttl_seconds, single use, and
invalidated after sms_code_max_attempts wrong tries (checked in one Lua script, so concurrent guesses
cannot exceed the limit). Sends are capped per phone (1 a minute, 10 a day, sliding windows on the
service clock). Expiry and windows use server.kit.clock, so tests shift time instead of waiting;
Redis TTLs are only a backstop that frees the memory."""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets

from server.integrations.aliyun import AliyunError
from server.kit import clock, metrics, runtime
from server.kit import redis as kr
from server.kit.errors import AppError, RateLimited, ValidationFailed
from server.accounts.errors import AccountCode
from server.integrations.errors import IntegrationCode

log = logging.getLogger("kazuo.sms")

PHONE = re.compile(r"^1[3-9][0-9]{9}$")
PURPOSE = re.compile(r"^[a-z_]{1,32}$")
TEMPLATE = re.compile(r"^SMS_[0-9]{1,20}$")
OUT_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
NOTICE_KEEP = 30 * 86400  # a notice's out_id is remembered this long (jobs retry within hours)


def _check_phone(phone: str) -> None:
    if not isinstance(phone, str) or not PHONE.match(phone):
        raise ValidationFailed.field("phone", "a mainland mobile number of 11 digits is required")


def _check_purpose(purpose: str) -> None:
    if not isinstance(purpose, str) or not PURPOSE.match(purpose):
        raise ValidationFailed.field("purpose", "1-32 lowercase letters or underscores")


def _code_key(phone: str, purpose: str) -> str:
    return kr.key("sms", "code", purpose, phone)


def _sends_key(phone: str) -> str:
    return kr.key("sms", "sends", phone)


def _digest(phone: str, purpose: str, code: str) -> str:
    # Keyed with a server secret: a 6-digit code's plain hash would fall to a 10^6 table.
    key = hmac.new(runtime.get().extras["jwt_key"].encode(), b"kazuo-sms-code", hashlib.sha256).digest()
    return hmac.new(key, f"{purpose}\n{phone}\n{code}".encode(), hashlib.sha256).hexdigest()


def _now_ms() -> int:
    return int(clock.now().timestamp() * 1000)


def _text(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


async def send_code(phone: str, purpose: str) -> int:
    """Send a fresh 6-digit code to phone for purpose; returns its lifetime in seconds."""
    _check_phone(phone)
    _check_purpose(purpose)
    s = runtime.settings()
    member = secrets.token_hex(8)
    now_ms = _now_ms()
    ok, window, retry_ms = await kr.script(
        "sms_send_gate", [_sends_key(phone)],
        [now_ms, member, s.sms_per_phone_per_minute, s.sms_per_phone_per_day])
    if not int(ok):
        metrics.SMS_REFUSED.labels("rate_limited").inc()
        which = "a minute" if _text(window) == "minute" else "a day"
        raise RateLimited(f"too many codes sent to this phone in {which}",
                          code=IntegrationCode.SMS_RATE_LIMITED,
                          retry_after=(int(retry_ms) + 999) // 1000)
    code = f"{secrets.randbelow(10**6):06d}"
    key = _code_key(phone, purpose)
    ttl = s.sms_code_ttl_seconds
    # Stored before the SMS goes out, so a delivered code is always checkable; a newer code replaces
    # an older one (and its wrong-try count).
    pipe = kr.redis().pipeline(transaction=True)
    pipe.delete(key)
    pipe.hset(key, mapping={"h": _digest(phone, purpose, code), "exp": now_ms + ttl * 1000, "n": 0})
    pipe.expire(key, ttl + 60)
    await pipe.execute()
    try:
        await runtime.get().extras["aliyun"].send_sms(
            phone, s.aliyun_sms_template_code, {"code": code}, f"code-{member}")
    except AppError as exc:
        # Nothing went out when Aliyun answered with a refusal: give the send back and drop the code.
        # A provider rate limit or an unanswered call (it may have gone out) keeps the count.
        if not isinstance(exc, RateLimited) and not (isinstance(exc, AliyunError) and not exc.answered):
            await kr.redis().zrem(_sends_key(phone), member)
        await kr.redis().delete(key)
        metrics.SMS_REFUSED.labels("provider").inc()
        raise
    metrics.SMS_SENT.labels("code").inc()
    log.info("sms code sent", extra={"purpose": purpose, "phone_tail": phone[-4:]})
    return ttl


async def verify_code(phone: str, purpose: str, code: str) -> None:
    """Consume the code sent to phone for purpose; ValidationFailed on field "code" when it fails."""
    _check_phone(phone)
    _check_purpose(purpose)
    if not isinstance(code, str) or not re.fullmatch(r"[0-9]{6}", code):
        raise ValidationFailed.field("code", "a 6-digit code is required")
    s = runtime.settings()
    ok, reason, left = await kr.script(
        "sms_code_verify", [_code_key(phone, purpose)],
        [_digest(phone, purpose, code), _now_ms(), s.sms_code_max_attempts])
    if int(ok):
        return
    reason = _text(reason)
    if reason == "wrong":
        exc = ValidationFailed.field("code", f"the code is wrong ({int(left)} tries left)")
        exc.code = AccountCode.SMS_CODE_WRONG
    elif reason == "expired":
        exc = ValidationFailed.field("code", "the code has expired; request a new one")
        exc.code = AccountCode.SMS_CODE_EXPIRED
    elif reason == "locked":
        exc = ValidationFailed.field("code", "too many wrong tries; the code is no longer valid, "
                                             "request a new one")
        exc.code = AccountCode.SMS_CODE_LOCKED
    else:
        exc = ValidationFailed.field("code", "no valid code for this phone; request a new one")
        exc.code = AccountCode.SMS_CODE_INVALID
    raise exc


async def send_notice(phone: str, template_code: str, params: dict, out_id: str) -> None:
    """Send a notification SMS (取件通知, 召回...) once per out_id, however often it is called."""
    _check_phone(phone)
    if not isinstance(template_code, str) or not TEMPLATE.match(template_code):
        raise ValidationFailed.field("template_code", "an Aliyun template code like SMS_123456789")
    if not isinstance(out_id, str) or not OUT_ID.match(out_id):
        raise ValidationFailed.field("out_id", "1-64 characters of A-Z a-z 0-9 _ . : -")
    if not isinstance(params, dict):
        raise ValidationFailed.field("params", "an object of template variables")
    key = kr.key("sms", "notice", out_id)
    # SendSms is not idempotent: claim the out_id first, so concurrent or repeated calls send once.
    if not await kr.redis().set(key, "sending", nx=True, ex=NOTICE_KEEP):
        return
    try:
        await runtime.get().extras["aliyun"].send_sms(phone, template_code, params, out_id)
    except BaseException:
        # Release the claim so the caller's retry (an arq job) can send it; for an unanswered call
        # that risks a duplicate, which beats a lost pickup or recall notice.
        await kr.redis().delete(key)
        raise
    await kr.redis().set(key, "sent", ex=NOTICE_KEEP)
    metrics.SMS_SENT.labels("notice").inc()
    log.info("sms notice sent", extra={"template": template_code, "out_id": out_id})
