"""Aliyun (SMS, Live) through aliyun-python-sdk-core. The SDK is synchronous: every call runs in a
thread, never on the event loop. auto_retry is off: SendSms is not idempotent, so retries are ours
to decide (jobs retry with their own dedup keys).

Endpoint: KAZUO_ALIYUN_ENDPOINT when set (one host for every product, e.g. a proxy), else the
built-in simulator at <base_url>/__sim__/aliyun in simulator mode, else the product's real domain
(dysmsapi.aliyuncs.com, live.aliyuncs.com) over https."""
from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import orjson
from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest

from config.settings import Settings
from server.kit import pools
from server.kit.errors import RateLimited, UpstreamError, ValidationFailed
from server.integrations.errors import IntegrationCode

log = logging.getLogger("kazuo.aliyun")

SMS_DOMAIN = "dysmsapi.aliyuncs.com"
SMS_VERSION = "2017-05-25"
LIVE_DOMAIN = "live.aliyuncs.com"
# Each product's calls run in a pool of their own: a slow Live API never holds up an SMS code.
_POOLS = {SMS_DOMAIN: pools.ALIYUN_SMS, LIVE_DOMAIN: pools.ALIYUN_LIVE}
# Aliyun's SMS flow-control message says which window tripped (分钟级/小时级/天级流控).
_WINDOWS = (("分钟", 60), ("小时", 3600), ("天", 86400))


class AliyunError(UpstreamError):
    """Aliyun refused (aliyun_code set, `answered` True) or could not be reached (`answered` False:
    the request may or may not have been processed)."""

    def __init__(self, message: str, *, aliyun_code: str, answered: bool, http_status: int | None = None):
        super().__init__(message, details={"aliyun_code": aliyun_code})
        self.aliyun_code, self.answered, self.http_status = aliyun_code, answered, http_status


class Aliyun:
    def __init__(self, *, access_key_id: str, access_key_secret: str, region: str,
                 endpoint: str = "", timeout: float = 10.0, sms_sign_name: str = ""):
        self.access_key_id = access_key_id
        self.sms_sign_name = sms_sign_name
        self.client = AcsClient(access_key_id, access_key_secret, region, auto_retry=False,
                                connect_timeout=min(3.0, timeout), timeout=timeout)
        self.protocol, self.endpoint = _split_endpoint(endpoint)
        # The connect and read timeouts of one call plus its wait for a thread of the product's pool.
        self.deadline = min(3.0, timeout) + timeout + 1

    @classmethod
    def from_settings(cls, settings: Settings) -> "Aliyun":
        if settings.aliyun_endpoint:
            endpoint = settings.aliyun_endpoint
        elif settings.simulators_on:
            endpoint = settings.base_url + "/__sim__/aliyun"
        else:
            endpoint = ""
        return cls(access_key_id=settings.aliyun_access_key_id,
                   access_key_secret=settings.secret("aliyun_access_key_secret"),
                   region=settings.aliyun_region, endpoint=endpoint,
                   timeout=settings.aliyun_timeout_seconds,
                   sms_sign_name=settings.aliyun_sms_sign_name)

    def _request(self, product_domain: str, version: str, action: str,
                 params: dict[str, Any]) -> CommonRequest:
        req = CommonRequest(domain=self.endpoint or product_domain, version=version, action_name=action)
        req.set_method("POST")
        req.set_protocol_type(self.protocol)
        req.set_accept_format("json")
        for k, v in params.items():
            if v is not None:
                req.add_query_param(k, v if isinstance(v, str) else str(v))
        return req

    async def run(self, vendor: str, fn, *args) -> Any:
        """Run a blocking SDK call in the product's pool within the deadline (AliyunError after it)."""
        try:
            return await pools.vendor_call(vendor, fn, *args, deadline=self.deadline)
        except asyncio.TimeoutError:
            log.warning("aliyun did not answer in time", extra={"vendor": vendor})
            raise AliyunError("Aliyun did not answer in time", aliyun_code="Timeout", answered=False) from None

    async def rpc(self, product_domain: str, version: str, action: str, params: dict[str, Any]) -> dict:
        """Call an RPC-style Aliyun API (signed HMAC-SHA1) off the loop; the decoded JSON answer."""
        req = self._request(product_domain, version, action, params)
        try:
            raw = await self.run(_POOLS.get(product_domain, pools.ALIYUN_SMS),
                                 self.client.do_action_with_exception, req)
        except ServerException as exc:
            code = exc.get_error_code()
            log.warning("aliyun refused", extra={"action": action, "aliyun_code": code,
                                                 "request_id": exc.get_request_id()})
            raise AliyunError(f"Aliyun refused {action}: {code}", aliyun_code=code, answered=True,
                              http_status=exc.get_http_status()) from None
        except ClientException as exc:
            log.warning("aliyun unreachable: %s", exc.get_error_msg(), extra={"action": action})
            raise AliyunError("Aliyun is unreachable", aliyun_code=exc.get_error_code(),
                              answered=False) from None
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise AliyunError(f"Aliyun answered {action} with a body that is not JSON",
                              aliyun_code="InvalidResponse", answered=True) from None
        return data if isinstance(data, dict) else {"Result": data}

    async def send_sms(self, phone: str, template_code: str, params: dict, out_id: str, *,
                       sign_name: str | None = None) -> dict:
        """SendSms to one phone; {"Code": "OK", "BizId", "RequestId"} or an AppError."""
        body = await self.rpc(SMS_DOMAIN, SMS_VERSION, "SendSms", {
            "PhoneNumbers": phone, "SignName": sign_name or self.sms_sign_name, "TemplateCode": template_code,
            # Aliyun accepts string values only (isv.INVALID_JSON_PARAM otherwise).
            "TemplateParam": orjson.dumps({str(k): str(v) for k, v in params.items()}).decode(),
            "OutId": out_id,
        })
        code = body.get("Code")
        if code == "OK":
            return body
        message = str(body.get("Message") or code)
        if code in ("isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "isv.MONTH_LIMIT_CONTROL"):
            retry = next((secs for word, secs in _WINDOWS if word in message), 60)
            raise RateLimited("the SMS provider's rate limit for this phone was reached",
                              code=IntegrationCode.SMS_RATE_LIMITED, retry_after=retry)
        if code in ("isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT"):
            raise ValidationFailed.field("phone", "the SMS provider refused this phone number")
        log.warning("aliyun SendSms refused", extra={"aliyun_code": code, "aliyun_message": message})
        raise AliyunError(f"Aliyun refused SendSms: {code}", aliyun_code=str(code), answered=True)


def _split_endpoint(endpoint: str) -> tuple[str, str]:
    """'http://host:port/path' -> ('http', 'host:port/path'); a bare host means https."""
    m = re.match(r"^(https?)://(.+?)/*$", endpoint.strip())
    if m:
        return m.group(1), m.group(2)
    return "https", endpoint.strip().rstrip("/")


def install(settings: Settings, rt) -> None:
    """INTEGRATION_HOOKS entry: build the gateway as runtime extras["aliyun"]."""
    rt.extras["aliyun"] = Aliyun.from_settings(settings)
