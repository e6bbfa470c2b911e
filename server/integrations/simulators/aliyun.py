"""Aliyun RPC (POP) simulator mounted at /__sim__/aliyun: the SDK reaches it with
`set_domain("127.0.0.1:PORT/__sim__/aliyun")` over http and signs exactly as for the real service.

It checks what the real gateway checks, in the same order, and answers with Aliyun's real error
shapes: the common parameters (MissingParameter), the AccessKeyId (InvalidAccessKeyId.NotFound,
404), the Timestamp (InvalidTimeStamp.Format / .Expired, 15 minutes), the HMAC-SHA1 signature
(SignatureDoesNotMatch, 400, with the server's string-to-sign so the SDK can tell a wrong secret),
the SignatureNonce (SignatureNonceUsed), then the Action and Version (InvalidAction.NotFound,
InvalidVersion). Actions live in the ACTIONS registry so other capabilities (Aliyun Live) add
their own from their own module with `@action("DescribeLiveStreamsOnlineList", version=...)`.

SendSms (dysmsapi 2017-05-25) records every message in Redis (keys under "sim", so every server
process sees them) and applies Aliyun's default flow control (验证码: 1/min, 5/hour, 10/day per
phone; 通知: 50/day per phone and template). `GET /__sim__/aliyun/sms?phone=` lists the messages
sent to a phone, newest first."""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qsl, quote
from xml.sax.saxutils import escape

import orjson
from sanic import Blueprint, HTTPResponse, Request
from sanic.response import json

from server.kit import clock, runtime
from server.kit import redis as kr

bp = Blueprint("sim_aliyun", url_prefix="/__sim__/aliyun")

TIMESTAMP_WINDOW = 15 * 60          # seconds either side of the gateway's clock
NONCE_TTL = 2 * TIMESTAMP_WINDOW    # a nonce can be replayed only while its timestamp is fresh
RECORD_KEEP = 200                   # messages kept per phone
RECORD_TTL = 7 * 24 * 3600
COMMON_PARAMS = ("AccessKeyId", "Action", "Signature", "SignatureMethod", "SignatureNonce",
                 "SignatureVersion", "Timestamp", "Version")


class SimError(Exception):
    """An Aliyun error answer: HTTP status, Code and Message as the real gateway sends them."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class SimAction:
    name: str
    version: str
    product: str        # shown in HostId / Recommend, e.g. "Dysmsapi"
    host: str           # e.g. "dysmsapi.aliyuncs.com"
    handler: Callable[[dict[str, str], str], Awaitable[dict]]


# Action name -> its handler. Handlers take (params, request_id) and return the response body
# (without RequestId); they raise SimError for HTTP errors.
ACTIONS: dict[str, SimAction] = {}


def action(name: str, *, version: str, product: str, host: str):
    """Register a simulated RPC action (other modules may add theirs)."""
    def deco(fn):
        ACTIONS[name] = SimAction(name, version, product, host, fn)
        return fn
    return deco


def _k(*parts: Any) -> str:
    return kr.key("sim", "aliyun", *parts)


# ---- signature (the algorithm Aliyun documents for RPC signature version 1.0) --------------
def percent_encode(value: str) -> str:
    # RFC 3986: everything but A-Z a-z 0-9 - _ . ~ is escaped; UTF-8; space is %20, not +.
    return quote(value, safe="~")


def string_to_sign(method: str, params: dict[str, str]) -> str:
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}"
                         for k, v in sorted(params.items()) if k != "Signature")
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical)}"


def sign(method: str, params: dict[str, str], secret: str) -> str:
    digest = hmac.new((secret + "&").encode(), string_to_sign(method, params).encode(), hashlib.sha1)
    return base64.b64encode(digest.digest()).decode()


def _access_keys() -> dict[str, str]:
    s = runtime.settings()
    return {s.aliyun_access_key_id: s.secret("aliyun_access_key_secret")}


def _parse_timestamp(raw: str) -> float:
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ"):
        try:
            return datetime.strptime(raw, fmt).replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            continue
    raise SimError(400, "InvalidTimeStamp.Format",
                   "Specified time stamp or date value is not well formatted.")


def _request_id() -> str:
    return str(uuid.uuid4()).upper()


def _render(status: int, body: dict, fmt: str) -> HTTPResponse:
    if fmt.upper() == "XML":
        root = body.get("__root__", "Response")
        inner = "".join(_xml(k, v) for k, v in body.items() if k != "__root__")
        return HTTPResponse(f'<?xml version="1.0" encoding="UTF-8"?><{root}>{inner}</{root}>',
                            status=status, content_type="text/xml;charset=utf-8")
    return json({k: v for k, v in body.items() if k != "__root__"}, status=status)


def _xml(tag: str, value: Any) -> str:
    if isinstance(value, dict):
        return f"<{tag}>" + "".join(_xml(k, v) for k, v in value.items()) + f"</{tag}>"
    if isinstance(value, list):
        return "".join(_xml(tag, v) for v in value)
    return f"<{tag}>{escape(str(value))}</{tag}>"


def _error(exc: SimError, request_id: str, act: SimAction | None, fmt: str) -> HTTPResponse:
    product = act.product if act else "Unknown"
    body = {"__root__": "Error", "RequestId": request_id,
            "HostId": act.host if act else "aliyuncs.com", "Code": exc.code, "Message": exc.message,
            "Recommend": f"https://next.api.aliyun.com/troubleshoot?q={exc.code}&product={product}"}
    return _render(exc.status, body, fmt)


async def _check_common(request: Request, params: dict[str, str]) -> None:
    for name in COMMON_PARAMS:
        if not params.get(name):
            raise SimError(400, "MissingParameter",
                           f'The input parameter "{name}" that is mandatory for processing this '
                           "request is not supplied.")
    secret = _access_keys().get(params["AccessKeyId"])
    if secret is None:
        raise SimError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
    if params["SignatureMethod"] != "HMAC-SHA1":
        raise SimError(400, "InvalidParameter.SignatureMethod",
                       "Specified signature method is not supported.")
    if params["SignatureVersion"] != "1.0":
        raise SimError(400, "InvalidParameter.SignatureVersion",
                       "Specified signature version is not supported.")
    # The gateway's own clock: the SDK stamps wall-clock UTC, not our (test-shiftable) service clock.
    if abs(time.time() - _parse_timestamp(params["Timestamp"])) > TIMESTAMP_WINDOW:
        raise SimError(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
    expected = sign(request.method, params, secret)
    if not hmac.compare_digest(expected.encode(), params["Signature"].encode()):
        raise SimError(400, "SignatureDoesNotMatch",
                       "Specified signature is not matched with our calculation. server string to "
                       "sign is:" + string_to_sign(request.method, params))
    # Only a correctly signed request burns its nonce (an unsigned one cannot block a real one).
    fresh = await kr.redis().set(_k("nonce", params["AccessKeyId"], params["SignatureNonce"]), 1,
                                 nx=True, ex=NONCE_TTL)
    if not fresh:
        raise SimError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")


@bp.route("/", methods=["GET", "POST"], strict_slashes=False)
async def rpc(request: Request):
    """The RPC entry point: POST /?<all params> (GET works too, as on the real gateway)."""
    request_id = _request_id()
    params = dict(parse_qsl(request.query_string, keep_blank_values=True, errors="replace"))
    ctype = request.headers.get("content-type", "")
    if request.body and ctype.startswith("application/x-www-form-urlencoded"):
        # Body parameters are signed together with the query (the SDK does the same).
        params.update(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    fmt = params.get("Format") or "XML"   # Aliyun's default format is XML; the SDK asks for JSON
    act = ACTIONS.get(params.get("Action", ""))
    try:
        await _check_common(request, params)
        if act is None:
            raise SimError(404, "InvalidAction.NotFound",
                           "Specified api is not found, please check your url and method.")
        if params["Version"] != act.version:
            raise SimError(400, "InvalidVersion", "Specified parameter Version is not valid.")
        body = await act.handler(params, request_id)
    except SimError as exc:
        return _error(exc, request_id, act, fmt)
    return _render(200, {"__root__": f"{act.name}Response", "RequestId": request_id, **body}, fmt)


def require(params: dict[str, str], *names: str) -> None:
    """Action parameters: POP answers `Missing<Name>` / "<Name> is mandatory for this action."."""
    for name in names:
        if not params.get(name):
            raise SimError(400, f"Missing{name}", f"{name} is mandatory for this action.")


# ---- SendSms (短信服务 dysmsapi 2017-05-25) -------------------------------------------------
_PHONE = re.compile(r"^(?:\+?86|0086)?(1[3-9][0-9]{9})$")
_TEMPLATE = re.compile(r"^SMS_[0-9]{6,12}$")
MAX_PHONES = 1000
# Aliyun's default flow control (流控): verification-code templates vs notification templates.
CODE_LIMITS = ((60, 1, "分钟级"), (3600, 5, "小时级"), (86400, 10, "天级"))
NOTICE_LIMITS = ((86400, 50, "天级"),)


def _biz(code: str, message: str) -> dict:
    # Business refusals come back as HTTP 200 with a Code other than "OK".
    return {"Code": code, "Message": message}


async def _flow_control(phone: str, template: str, is_code: bool) -> dict | None:
    # The service clock (not wall time) so tests that shift time see consistent windows.
    now_ms = int(clock.now().timestamp() * 1000)
    key = _k("flow", phone, "code" if is_code else template)
    r = kr.redis()
    await r.zremrangebyscore(key, "-inf", now_ms - 86400 * 1000)
    for window, permits, label in (CODE_LIMITS if is_code else NOTICE_LIMITS):
        if await r.zcount(key, now_ms - window * 1000 + 1, "+inf") >= permits:
            return _biz("isv.BUSINESS_LIMIT_CONTROL", f"触发{label}流控Permits:{permits}")
    await r.zadd(key, {f"{now_ms}:{secrets.token_hex(4)}": now_ms})
    await r.expire(key, 86400 + 60)
    return None


@action("SendSms", version="2017-05-25", product="Dysmsapi", host="dysmsapi.aliyuncs.com")
async def send_sms(params: dict[str, str], request_id: str) -> dict:
    require(params, "PhoneNumbers", "SignName", "TemplateCode")
    raw_phones = params["PhoneNumbers"].split(",")
    if len(raw_phones) > MAX_PHONES:
        return _biz("isv.MOBILE_COUNT_OVER_LIMIT", "手机号码数量超过限制")
    phones = []
    for raw in raw_phones:
        m = _PHONE.match(raw.strip())
        if not m:
            return _biz("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        phones.append(m.group(1))
    s = runtime.settings()
    if params["SignName"] != s.aliyun_sms_sign_name:
        return _biz("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
    template = params["TemplateCode"]
    if not _TEMPLATE.match(template):
        return _biz("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
    template_params: dict[str, str] = {}
    if params.get("TemplateParam"):
        try:
            template_params = orjson.loads(params["TemplateParam"])
        except orjson.JSONDecodeError:
            return _biz("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        if not isinstance(template_params, dict) or not all(
                isinstance(v, str) for v in template_params.values()):
            return _biz("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
    is_code = template == s.aliyun_sms_template_code
    for phone in phones:
        refused = await _flow_control(phone, template, is_code)
        if refused:
            return refused
    biz_id = f"{secrets.randbelow(10**17):017d}^0"
    sent_at = clock.now().isoformat()
    pipe = kr.redis().pipeline(transaction=False)
    for phone in phones:
        record = {"phone": phone, "sign_name": params["SignName"], "template_code": template,
                  "params": template_params, "out_id": params.get("OutId", ""), "biz_id": biz_id,
                  "request_id": request_id, "sent_at": sent_at}
        pipe.lpush(_k("sms", phone), orjson.dumps(record))
        pipe.ltrim(_k("sms", phone), 0, RECORD_KEEP - 1)
        pipe.expire(_k("sms", phone), RECORD_TTL)
    await pipe.execute()
    return {"Code": "OK", "Message": "OK", "BizId": biz_id}


@bp.get("/sms")
async def list_sms(request: Request):
    """Demo/test helper: the messages sent to ?phone=, newest first."""
    phone = request.args.get("phone", "")
    m = _PHONE.match(phone)
    if not m:
        return json({"error": {"code": "validation_failed", "message": "phone: a mobile number is required",
                               "details": [{"field": "phone", "message": "a mobile number is required"}]}},
                    status=422)
    raw = await kr.redis().lrange(_k("sms", m.group(1)), 0, RECORD_KEEP - 1)
    return json({"phone": m.group(1), "messages": [orjson.loads(r) for r in raw]})
