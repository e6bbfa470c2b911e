"""WeChat Pay APIv3 simulator, mounted at /__sim__/wechatpay/v3 (the gateway's API base in simulator
mode; the API paths below it are WeChat's own, /v3/...).

Like WeChat it verifies our request signatures (Authorization: WECHATPAY2-SHA256-RSA2048 mchid, nonce_str,
signature, timestamp, serial_no; the message is METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n) with the
merchant's public key, signs every answer and notification (Wechatpay-Timestamp/Nonce/Signature/Serial)
with its WeChat Pay public key's private half or with its newest platform certificate's key (the
simulated merchant account's key mode), encrypts notification resources and downloaded certificates
with the APIv3 key (AEAD_AES_256_GCM), holds transfers in WAIT_USER_CONFIRM until the simulated user
confirms or 24 hours pass (then FAIL, as WeChat closes them), and retries notifications like the v2
simulator. State lives in Redis.

Its keys are generated once and kept under data_dir/wechatpay-sim/ (a file lock keeps processes from
racing): the merchant's API key pair (our gateway signs with its private half in simulator mode), the
WeChat Pay public key pair, and the platform certificates (rotate-cert adds one).

Demo/test helpers (not WeChat APIs), all under /__sim__/wechatpay/v3:
  POST /pay {"out_trade_no"}              the simulated buyer pays; the notification goes out at once
  POST /renotify {"out_trade_no" | "out_refund_no" | "out_bill_no"}   send the same notification again
  GET  /attempts/<key>                    delivery attempts of an order's/refund's/transfer's notification
  GET  /notification/<key>                the last notification sent (headers and body)
  POST /transfer-confirm {"out_bill_no"}  the user confirms the transfer in WeChat
  POST /real-name {"openid", "name"}      the real name WeChat holds for an openid (transfers check it)
  POST /tick                              expire the transfers left unconfirmed for 24 hours
  POST /rotate-cert                       issue a new platform certificate (the old one stays valid)
"""
from __future__ import annotations

import asyncio
import base64
import fcntl
import functools
import gzip
import hashlib
import logging
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from server.integrations.simulators import wechatpay as sim_v2
from server.integrations.simulators.wechatpay import json_body, send_notification, spawn
from server.kit import clock, runtime
from server.kit import redis as kr

PREFIX = "/__sim__/wechatpay/v3"
bp = Blueprint("sim_wechatpay_v3", url_prefix=PREFIX)
log = logging.getLogger("kazuo.sim.wechatpay.v3")
SIG_TYPE = "WECHATPAY2-SHA256-RSA2048"
TRANSFER_CONFIRM_HOURS = 24
REQUEST_MAX_SKEW = 300


# ---- keys ----------------------------------------------------------------------------------------
@dataclass
class SimKeys:
    merchant_key: rsa.RSAPrivateKey
    merchant_serial: str
    pay_key: rsa.RSAPrivateKey           # the WeChat Pay public key's private half
    public_key_id: str
    platform: list[tuple[rsa.RSAPrivateKey, x509.Certificate]]  # oldest first; the newest signs

    def merchant_private_pem(self) -> str:
        return _pem(self.merchant_key)

    def public_key_pem(self) -> str:
        return self.pay_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


_keys: dict[Path, SimKeys] = {}


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _platform_cert(key: rsa.RSAPrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA (simulator)"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tenpay.com")])
    now = datetime.now(timezone.utc)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=5 * 365)).sign(key, hashes.SHA256()))


def _dir(data_dir: Path) -> Path:
    d = Path(data_dir) / "wechatpay-sim"
    d.mkdir(parents=True, exist_ok=True)
    return d


def sim_keys(data_dir: Path) -> SimKeys:
    """The simulator's keys, generated at first start and kept under data_dir/wechatpay-sim/."""
    d = _dir(data_dir)
    if d in _keys:
        return _keys[d]
    with open(d / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        files = {"merchant": d / "merchant_key.pem", "pay": d / "pay_key.pem", "ids": d / "ids.json"}
        if not files["ids"].exists():
            for name in ("merchant", "pay"):
                files[name].write_text(_pem(_new_key()))
                files[name].chmod(0o600)
            ids = {"merchant_serial": secrets.token_hex(20).upper(),
                   "public_key_id": "PUB_KEY_ID_" + secrets.token_hex(12).upper()}
            files["ids"].write_text(orjson.dumps(ids).decode())
            _write_platform(d, 1)
        ids = orjson.loads(files["ids"].read_text())
        keys = SimKeys(merchant_key=_load_key(files["merchant"]), merchant_serial=ids["merchant_serial"],
                       pay_key=_load_key(files["pay"]), public_key_id=ids["public_key_id"],
                       platform=_load_platform(d))
    _keys[d] = keys
    return keys


def _load_key(path: Path) -> rsa.RSAPrivateKey:
    return serialization.load_pem_private_key(path.read_bytes(), password=None)  # type: ignore[return-value]


def _write_platform(d: Path, n: int) -> None:
    key = _new_key()
    cert = _platform_cert(key)
    (d / f"platform_{n:03d}_key.pem").write_text(_pem(key))
    (d / f"platform_{n:03d}_cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _load_platform(d: Path) -> list:
    out = []
    for cert_path in sorted(d.glob("platform_*_cert.pem")):
        key_path = cert_path.with_name(cert_path.name.replace("_cert", "_key"))
        out.append((_load_key(key_path), x509.load_pem_x509_certificate(cert_path.read_bytes())))
    return out


def rotate(data_dir: Path) -> str:
    """Issue a new platform certificate (the newest signs from now on); returns its serial."""
    d = _dir(data_dir)
    with open(d / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _write_platform(d, len(list(d.glob("platform_*_cert.pem"))) + 1)
    _keys.pop(d, None)
    return serial_hex(sim_keys(data_dir).platform[-1][1])


def serial_hex(cert: x509.Certificate) -> str:
    return format(cert.serial_number, "X")


def _keys_now() -> SimKeys:
    return sim_keys(runtime.settings().data_dir)


def _signer() -> tuple[rsa.RSAPrivateKey, str]:
    """The key WeChat signs with for this merchant account: its public key mode or platform certs."""
    keys = _keys_now()
    if runtime.settings().wechat_pay_sim_key_mode == "public_key":
        return keys.pay_key, keys.public_key_id
    key, cert = keys.platform[-1]
    return key, serial_hex(cert)


def _decrypt_key(serial: str) -> rsa.RSAPrivateKey | None:
    keys = _keys_now()
    if serial == keys.public_key_id:
        return keys.pay_key
    for key, cert in keys.platform:
        if serial_hex(cert) == serial.upper():
            return key
    return None


def _apiv3_key() -> bytes:
    return runtime.settings().secret("wechat_pay_apiv3_key").encode()


def sign_headers(body: str, *, key: rsa.RSAPrivateKey | None = None, serial: str | None = None,
                 timestamp: int | None = None) -> dict:
    """Wechatpay-* headers over `body` (what WeChat sends with answers and notifications)."""
    default_key, default_serial = _signer()
    ts = str(int(clock.now().timestamp()) if timestamp is None else timestamp)
    nonce = secrets.token_hex(16).upper()
    message = f"{ts}\n{nonce}\n{body}\n".encode()
    sig = (key or default_key).sign(message, padding.PKCS1v15(), hashes.SHA256())
    return {"Wechatpay-Timestamp": ts, "Wechatpay-Nonce": nonce, "Wechatpay-Serial": serial or default_serial,
            "Wechatpay-Signature": base64.b64encode(sig).decode(), "Wechatpay-Signature-Type": SIG_TYPE}


def encrypt_resource(plain: dict, original_type: str, *, key: bytes | None = None) -> dict:
    nonce = secrets.token_hex(6)  # 12 characters, as WeChat's
    ct = AESGCM(key or _apiv3_key()).encrypt(nonce.encode(), orjson.dumps(plain), original_type.encode())
    return {"original_type": original_type, "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": base64.b64encode(ct).decode(), "associated_data": original_type, "nonce": nonce}


def make_notification(event_type: str, summary: str, original_type: str, resource: dict, *,
                      apiv3_key: bytes | None = None, **sign) -> tuple[dict, str]:
    """A notification as WeChat sends it: (headers, body). Tests tamper with the parts."""
    body = orjson.dumps({"id": str(uuid.uuid4()), "create_time": _rfc3339(clock.now()),
                         "resource_type": "encrypt-resource", "event_type": event_type, "summary": summary,
                         "resource": encrypt_resource(resource, original_type, key=apiv3_key)}).decode()
    return sign_headers(body, **sign), body


def _rfc3339(dt: datetime) -> str:
    return dt.astimezone(clock.SHANGHAI).isoformat(timespec="seconds")


# ---- answers and request checks -------------------------------------------------------------------
def _answer(data: dict | None, status: int = 200) -> HTTPResponse:
    body = "" if data is None else orjson.dumps(data).decode()
    headers = {**sign_headers(body), "Request-ID": secrets.token_hex(16)}
    if status == 204:
        return HTTPResponse(status=204, headers=headers)
    return HTTPResponse(body, status=status, headers=headers, content_type="application/json; charset=utf-8")


def _error(status: int, code: str, message: str) -> HTTPResponse:
    return _answer({"code": code, "message": message}, status)


_AUTH = re.compile(r'(\w+)="([^"]*)"')


def _authenticate(request: Request) -> HTTPResponse | None:
    """WeChat's check of our Authorization header; None when it holds."""
    scheme, _, params = (request.headers.get("authorization") or "").partition(" ")
    if scheme != SIG_TYPE:
        return _error(401, "SIGN_ERROR", "Authorization 认证类型错误")
    p = dict(_AUTH.findall(params))
    s, keys = runtime.settings(), _keys_now()
    if p.get("mchid") != s.wechat_mch_id:
        return _error(401, "SIGN_ERROR", "商户号与Authorization中的mchid不符")
    if p.get("serial_no") != keys.merchant_serial:
        return _error(401, "SIGN_ERROR", "商户证书序列号有误")
    try:
        ts = int(p.get("timestamp", ""))
    except ValueError:
        return _error(401, "SIGN_ERROR", "timestamp 格式错误")
    # Wall-clock, as both WeChat's and the merchant's servers are: the SDK stamps requests with time.time().
    if abs(time.time() - ts) > REQUEST_MAX_SKEW:
        return _error(401, "SIGN_ERROR", "请求时间戳与系统时间相差过大")
    path = request.path[len(PREFIX):] + (f"?{request.query_string}" if request.query_string else "")
    message = f"{request.method}\n{path}\n{ts}\n{p.get('nonce_str', '')}\n{(request.body or b'').decode()}\n"
    try:
        keys.merchant_key.public_key().verify(base64.b64decode(p.get("signature", "")), message.encode(),
                                              padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return _error(401, "SIGN_ERROR", "签名错误")
    return None


def _body(request: Request) -> dict | HTTPResponse:
    try:
        data = orjson.loads(request.body or b"{}")
    except orjson.JSONDecodeError:
        return _error(400, "PARAM_ERROR", "请求体不是合法的JSON")
    return data if isinstance(data, dict) else _error(400, "PARAM_ERROR", "请求体不是JSON对象")


def _missing(data: dict, *fields: str) -> HTTPResponse | None:
    """WeChat's PARAM_ERROR for the first required string field that is absent or empty."""
    for f in fields:
        if not isinstance(data.get(f), str) or not data[f]:
            return _error(400, "PARAM_ERROR", f"缺少参数{f}")
    return None


def authed(handler):
    @functools.wraps(handler)
    async def wrapped(request: Request, *args, **kw):
        refused = _authenticate(request)
        if refused is not None:
            return refused
        return await handler(request, *args, **kw)
    return wrapped


def _k(*parts) -> str:
    return kr.key("sim", "wxpay3", *parts)


def faultable(api: str):
    """The v2 simulator's fault switch (POST /__sim__/wechatpay/faults, v2 API names) applies here too:
    a delay, an HTTP error status, or a refusal with that code."""
    def deco(handler):
        @functools.wraps(handler)
        async def wrapped(request: Request, *args, **kw):
            fault = await sim_v2.active_fault(api)
            if fault and fault.get("http_status"):
                return HTTPResponse("<html><body>Internal Server Error</body></html>", status=fault["http_status"],
                                    content_type="text/html")
            if fault and fault.get("err_code"):
                return _error(400, fault["err_code"], "模拟的微信支付错误")
            return await handler(request, *args, **kw)
        return wrapped
    return deco


async def _get(kind: str, key: str) -> dict | None:
    raw = await kr.redis().get(_k(kind, key))
    return orjson.loads(raw) if raw else None


async def _put(kind: str, key: str, value: dict) -> None:
    await kr.redis().set(_k(kind, key), orjson.dumps(value), ex=7 * 86400)


# ---- transactions ----------------------------------------------------------------------------------
async def _prepay(request: Request, trade_type: str):
    data = _body(request)
    if isinstance(data, HTTPResponse):
        return data
    s = runtime.settings()
    if data.get("appid") != s.wechat_app_id:
        return _error(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
    if data.get("mchid") != s.wechat_mch_id:
        return _error(400, "MCH_NOT_EXISTS", "商户号不存在")
    if missing := _missing(data, "description", "out_trade_no", "notify_url"):
        return missing
    if not str(data["notify_url"]).startswith(("http://", "https://")):
        return _error(400, "PARAM_ERROR", "notify_url格式错误")
    total = (data.get("amount") or {}).get("total")
    if not isinstance(total, int) or total < 1:
        return _error(400, "PARAM_ERROR", "amount.total必须为大于0的整数")
    openid = (data.get("payer") or {}).get("openid")
    if trade_type == "JSAPI" and not openid:
        return _error(400, "PARAM_ERROR", "JSAPI下单必须传payer.openid")
    otn = data["out_trade_no"]
    order = await _get("order", otn)
    if order:
        if order["state"] == "SUCCESS":
            return _error(403, "ORDERPAID", "该订单已支付")
        if _state(order) == "CLOSED":
            return _error(400, "ORDER_CLOSED", "订单已关闭")
        if order["total"] != total or order["trade_type"] != trade_type or order.get("openid") != openid:
            return _error(403, "OUT_TRADE_NO_USED", "商户订单号重复")
    else:
        now = clock.now().timestamp()
        expire = now + 7200
        if data.get("time_expire"):
            try:
                expire = datetime.fromisoformat(data["time_expire"]).timestamp()
            except ValueError:
                return _error(400, "PARAM_ERROR", "time_expire格式错误")
        if expire - now < 60:
            return _error(400, "PARAM_ERROR", "time_expire时间过短")
        order = {"out_trade_no": otn, "total": total, "trade_type": trade_type, "openid": openid,
                 "notify_url": data["notify_url"], "state": "NOTPAY", "created": now, "expire": expire,
                 "prepay_id": "wx" + secrets.token_hex(15), "refunded": 0}
        await _put("order", otn, order)
    if trade_type == "NATIVE":
        return _answer({"code_url": "weixin://wxpay/bizpayurl?pr=" + order["prepay_id"][-8:]})
    return _answer({"prepay_id": order["prepay_id"]})


@bp.post("/v3/pay/transactions/jsapi")
@authed
@faultable("unifiedorder")
async def jsapi(request: Request):
    return await _prepay(request, "JSAPI")


@bp.post("/v3/pay/transactions/native")
@authed
@faultable("unifiedorder")
async def native(request: Request):
    return await _prepay(request, "NATIVE")


def _state(order: dict) -> str:
    if order["state"] == "NOTPAY" and clock.now().timestamp() > order["expire"]:
        return "CLOSED"
    return order["state"]


def _transaction(order: dict) -> dict:
    s = runtime.settings()
    state = _state(order)
    out = {"appid": s.wechat_app_id, "mchid": s.wechat_mch_id, "out_trade_no": order["out_trade_no"],
           "trade_type": order["trade_type"], "trade_state": state, "trade_state_desc": state,
           "amount": {"total": order["total"], "currency": "CNY"}}
    if state in ("SUCCESS", "REFUND"):
        out.update(transaction_id=order["transaction_id"], success_time=order["success_time"], bank_type="OTHERS",
                   payer={"openid": order.get("openid") or "o-native-payer"},
                   amount={"total": order["total"], "payer_total": order["total"], "currency": "CNY",
                           "payer_currency": "CNY"})
    return out


@bp.get("/v3/pay/transactions/out-trade-no/<otn:str>")
@authed
@faultable("orderquery")
async def query(request: Request, otn: str):
    if request.args.get("mchid") != runtime.settings().wechat_mch_id:
        return _error(400, "PARAM_ERROR", "mchid参数错误")
    order = await _get("order", otn)
    if order is None:
        return _error(404, "ORDER_NOT_EXIST", "订单不存在")
    return _answer(_transaction(order))


@bp.post("/v3/pay/transactions/out-trade-no/<otn:str>/close")
@authed
@faultable("closeorder")
async def close(request: Request, otn: str):
    data = _body(request)
    if isinstance(data, HTTPResponse):
        return data
    if data.get("mchid") != runtime.settings().wechat_mch_id:
        return _error(400, "PARAM_ERROR", "mchid参数错误")
    order = await _get("order", otn)
    if order is None:
        return _error(404, "ORDER_NOT_EXIST", "订单不存在")
    if order["state"] in ("SUCCESS", "REFUND"):
        return _error(400, "ORDERPAID", "订单已支付")
    if clock.now().timestamp() - order["created"] < 300:
        return _error(400, "SYSTEM_ERROR", "订单生成后不能马上调用关单接口，最短调用时间间隔为5分钟")
    order["state"] = "CLOSED"
    await _put("order", otn, order)
    return _answer(None, 204)


# ---- notifications out ------------------------------------------------------------------------------
async def _deliver(url: str, headers: dict, body: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=5) as c:
            r = await c.post(url, content=body.encode(), headers={**headers, "Content-Type": "application/json"})
        return r.status_code in (200, 204)
    except Exception as exc:  # noqa: BLE001 - an unreachable merchant is retried
        log.info("v3 notification delivery failed: %r", exc)
        return False


async def _notify(url: str, key: str, event_type: str, summary: str, original_type: str, resource: dict) -> bool:
    headers, body = make_notification(event_type, summary, original_type, resource)
    await kr.redis().set(_k("note", key), orjson.dumps({"url": url, "headers": headers, "body": body}),
                         ex=7 * 86400)
    return await send_notification(functools.partial(_deliver, url, headers, body), _k("attempts", key))


def _problem(status: int, code: str, message: str, field: str | None = None):
    details = [{"field": field, "message": "required"}] if field else None
    return json({"error": {"code": code, "message": message, "details": details}}, status=status)


@bp.post("/pay")
async def buyer_pays(request: Request):
    otn = json_body(request).get("out_trade_no")
    if not isinstance(otn, str) or not otn:
        return _problem(422, "validation_failed", "out_trade_no is required", "out_trade_no")
    order = await _get("order", otn)
    if order is None:
        return _problem(404, "not_found", "no such prepay order")
    state = _state(order)
    if state != "NOTPAY":
        return _problem(409, "conflict", f"the prepay order is {state}")
    order.update(state="SUCCESS", transaction_id="42000" + secrets.token_hex(12)[:23],
                 success_time=_rfc3339(clock.now()))
    await _put("order", otn, order)
    delivered = await _notify(order["notify_url"], otn, "TRANSACTION.SUCCESS", "支付成功", "transaction",
                              _transaction(order))
    return json({"transaction_id": order["transaction_id"], "delivered": delivered})


@bp.post("/renotify")
async def renotify(request: Request):
    data = json_body(request)
    key = next((data[k] for k in ("out_trade_no", "out_refund_no", "out_bill_no") if isinstance(data.get(k), str)), "")
    raw = await kr.redis().get(_k("note", key)) if key else None
    if raw is None:
        return _problem(404, "not_found", "no notification was sent for it")
    note = orjson.loads(raw)
    return json({"delivered": await _deliver(note["url"], note["headers"], note["body"])})


@bp.get("/attempts/<key:str>")
async def attempts(request: Request, key: str):
    return json({"attempts": int(await kr.redis().get(_k("attempts", key)) or 0)})


@bp.get("/notification/<key:str>")
async def last_notification(request: Request, key: str):
    raw = await kr.redis().get(_k("note", key))
    if raw is None:
        return _problem(404, "not_found", "no notification was sent for it")
    return json(orjson.loads(raw))


# ---- refunds ----------------------------------------------------------------------------------------
def _refund_out(refund: dict, order: dict) -> dict:
    return {"refund_id": refund["refund_id"], "out_refund_no": refund["out_refund_no"],
            "transaction_id": order["transaction_id"], "out_trade_no": order["out_trade_no"],
            "channel": "ORIGINAL", "user_received_account": "支付用户零钱", "create_time": refund["create_time"],
            "status": refund["status"], "funds_account": "AVAILABLE",
            **({"success_time": refund["success_time"]} if refund.get("success_time") else {}),
            "amount": {"total": order["total"], "refund": refund["refund"], "payer_total": order["total"],
                       "payer_refund": refund["refund"], "settlement_refund": refund["refund"],
                       "settlement_total": order["total"], "discount_refund": 0, "currency": "CNY"}}


async def _finish_refund(out_refund_no: str) -> None:
    await asyncio.sleep(0.05)  # WeChat completes refunds asynchronously
    refund = await _get("refund", out_refund_no)
    if refund is None or refund["status"] != "PROCESSING":
        return
    refund.update(status="SUCCESS", success_time=_rfc3339(clock.now()))
    await _put("refund", out_refund_no, refund)
    order = await _get("order", refund["out_trade_no"])
    if refund.get("notify_url") and order:
        s = runtime.settings()
        resource = {"mchid": s.wechat_mch_id, "out_trade_no": order["out_trade_no"],
                    "transaction_id": order["transaction_id"], "out_refund_no": out_refund_no,
                    "refund_id": refund["refund_id"], "refund_status": "SUCCESS",
                    "success_time": refund["success_time"], "user_received_account": "支付用户零钱",
                    "amount": {"total": order["total"], "refund": refund["refund"], "payer_total": order["total"],
                               "payer_refund": refund["refund"]}}
        await _notify(refund["notify_url"], out_refund_no, "REFUND.SUCCESS", "退款成功", "refund", resource)


@bp.post("/v3/refund/domestic/refunds")
@authed
@faultable("refund")
async def refund_apply(request: Request):
    data = _body(request)
    if isinstance(data, HTTPResponse):
        return data
    order = await _get("order", str(data.get("out_trade_no") or ""))
    if order is None:
        return _error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
    if order["state"] not in ("SUCCESS", "REFUND"):
        return _error(400, "INVALID_REQUEST", "订单未支付，不能退款")
    amount = data.get("amount") or {}
    total, fee = amount.get("total"), amount.get("refund")
    if not isinstance(fee, int) or fee < 1 or amount.get("currency", "CNY") != "CNY":
        return _error(400, "PARAM_ERROR", "amount.refund必须为大于0的整数")
    if total != order["total"]:
        return _error(400, "INVALID_REQUEST", "订单金额与原订单不一致")
    orn = str(data.get("out_refund_no") or "")
    if not orn:
        return _error(400, "PARAM_ERROR", "缺少参数out_refund_no")
    refund = await _get("refund", orn)
    if refund:  # the same out_refund_no again: the same refund
        if refund["refund"] != fee or refund["out_trade_no"] != order["out_trade_no"]:
            return _error(400, "INVALID_REQUEST", "退款金额与之前请求不一致")
    else:
        if order["refunded"] + fee > order["total"]:
            return _error(403, "NOT_ENOUGH", "申请退款金额超过订单可退金额")
        refund = {"out_refund_no": orn, "out_trade_no": order["out_trade_no"], "refund": fee,
                  "refund_id": "50000" + secrets.token_hex(12)[:23], "status": "PROCESSING",
                  "notify_url": data.get("notify_url"), "create_time": _rfc3339(clock.now())}
        order.update(refunded=order["refunded"] + fee, state="REFUND")
        await _put("order", order["out_trade_no"], order)
        await _put("refund", orn, refund)
        spawn(_finish_refund(orn))
    return _answer(_refund_out(refund, order))


@bp.get("/v3/refund/domestic/refunds/<orn:str>")
@authed
@faultable("refundquery")
async def refund_query(request: Request, orn: str):
    refund = await _get("refund", orn)
    if refund is None:
        return _error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
    order = await _get("order", refund["out_trade_no"]) or {}
    return _answer(_refund_out(refund, order))


# ---- bills -----------------------------------------------------------------------------------------
@bp.get("/v3/bill/tradebill")
@authed
@faultable("downloadbill")
async def tradebill(request: Request):
    bill_date = request.args.get("bill_date") or ""
    try:
        day = datetime.strptime(bill_date, "%Y-%m-%d").date()
    except ValueError:
        return _error(400, "PARAM_ERROR", "bill_date格式错误")
    if day >= clock.now().astimezone(clock.SHANGHAI).date():
        return _error(400, "INVALID_REQUEST", "账单日期不能是今天或以后")  # bills exist from the next day
    s = runtime.settings()
    rows = ["交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
            "货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,"
            "商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"]
    count, total = 0, 0
    async for key in kr.redis().scan_iter(match=_k("order", "*"), count=500):
        order = orjson.loads(await kr.redis().get(key) or b"null")
        if not order or order.get("state") not in ("SUCCESS", "REFUND"):
            continue
        paid = datetime.fromisoformat(order["success_time"])
        if paid.astimezone(clock.SHANGHAI).date() != day:
            continue
        yuan = f"{order['total'] / 100:.2f}"
        rows.append(",".join("`" + str(v) for v in (
            paid.astimezone(clock.SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"), s.wechat_app_id, s.wechat_mch_id, "0", "",
            order["transaction_id"], order["out_trade_no"], order.get("openid") or "", order["trade_type"],
            "SUCCESS", "OTHERS", "CNY", yuan, "0.00", "0", "0", "0.00", "0.00", "", "", "喀左特色馆", "", "0.00",
            "0.60%", yuan, "0.00", "")))
        count, total = count + 1, total + order["total"]
    refunded = 0
    async for key in kr.redis().scan_iter(match=_k("refund", "*"), count=500):
        refund = orjson.loads(await kr.redis().get(key) or b"null")
        if not refund:
            continue
        asked = datetime.fromisoformat(refund["create_time"])
        order = await _get("order", refund["out_trade_no"])
        if asked.astimezone(clock.SHANGHAI).date() != day or order is None:
            continue
        yuan = f"{refund['refund'] / 100:.2f}"
        rows.append(",".join("`" + str(v) for v in (
            asked.astimezone(clock.SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"), s.wechat_app_id, s.wechat_mch_id, "0",
            "", order["transaction_id"], order["out_trade_no"], order.get("openid") or "", order["trade_type"],
            "REFUND", "OTHERS", "CNY", "0.00", "0.00", refund["refund_id"], refund["out_refund_no"], yuan, "0.00",
            "ORIGINAL", refund["status"], "喀左特色馆", "", "0.00", "0.60%", f"{order['total'] / 100:.2f}", yuan, "")))
        count, refunded = count + 1, refunded + refund["refund"]
    rows.append("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额")
    rows.append(",".join("`" + v for v in (str(count), f"{total / 100:.2f}", f"{refunded / 100:.2f}", "0.00",
                                           "0.00", f"{total / 100:.2f}", f"{refunded / 100:.2f}")))
    content = ("\n".join(rows) + "\n").encode()
    if request.args.get("tar_type") == "GZIP":
        content = gzip.compress(content)
    token = secrets.token_hex(16)
    await kr.redis().set(_k("billfile", token), content, ex=300)
    return _answer({"hash_type": "SHA1", "hash_value": hashlib.sha1(content).hexdigest(),
                    "download_url": f"{s.base_url}{PREFIX}/v3/billdownload/file?token={token}"})


@bp.get("/v3/billdownload/file")
@authed
async def billdownload(request: Request):
    content = await kr.redis().get(_k("billfile", request.args.get("token") or ""))
    if content is None:
        return _error(404, "RESOURCE_NOT_EXISTS", "账单文件不存在或已过期")
    return HTTPResponse(content, content_type="application/octet-stream")


# ---- platform certificates -------------------------------------------------------------------------
@bp.get("/v3/certificates")
@authed
async def certificates(request: Request):
    data = []
    for _key, cert in _keys_now().platform:
        pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        nonce = secrets.token_hex(6)
        ct = AESGCM(_apiv3_key()).encrypt(nonce.encode(), pem.encode(), b"certificate")
        data.append({"serial_no": serial_hex(cert), "effective_time": _rfc3339(cert.not_valid_before_utc),
                     "expire_time": _rfc3339(cert.not_valid_after_utc),
                     "encrypt_certificate": {"algorithm": "AEAD_AES_256_GCM", "nonce": nonce,
                                             "associated_data": "certificate",
                                             "ciphertext": base64.b64encode(ct).decode()}})
    return _answer({"data": data})


@bp.post("/rotate-cert")
async def rotate_cert(request: Request):
    return json({"serial_no": rotate(runtime.settings().data_dir)})


# ---- transfers to a WeChat balance (商家转账) ---------------------------------------------------------
TRANSFER_FINAL = ("SUCCESS", "FAIL", "CANCELLED")


def _bill_out(bill: dict) -> dict:
    return {k: bill[k] for k in ("mch_id", "out_bill_no", "transfer_bill_no", "appid", "state", "transfer_amount",
                                 "transfer_remark", "openid", "create_time", "update_time", "fail_reason")
            if bill.get(k) not in (None, "")}


async def _finish_transfer(bill: dict, state: str, fail_reason: str = "") -> None:
    bill.update(state=state, fail_reason=fail_reason, update_time=_rfc3339(clock.now()))
    await _put("bill", bill["out_bill_no"], bill)
    if bill.get("notify_url"):
        resource = {k: bill.get(k) for k in ("out_bill_no", "transfer_bill_no", "state", "mch_id", "transfer_amount",
                                             "openid", "fail_reason", "create_time", "update_time")}
        await _notify(bill["notify_url"], bill["out_bill_no"], "MCHTRANSFER.BILL.FINISHED", "商家转账单据终态通知",
                      "mch_payment", resource)


async def _expire_if_due(bill: dict) -> dict:
    due = datetime.fromisoformat(bill["create_time"]) + timedelta(hours=TRANSFER_CONFIRM_HOURS)
    if bill["state"] == "WAIT_USER_CONFIRM" and clock.now() >= due:
        await _finish_transfer(bill, "FAIL", "USER_NOT_CONFIRM")  # WeChat closes it and returns the money
    return bill


@bp.post("/v3/fund-app/mch-transfer/transfer-bills")
@authed
async def transfer(request: Request):
    data = _body(request)
    if isinstance(data, HTTPResponse):
        return data
    s = runtime.settings()
    if data.get("appid") != s.wechat_app_id:
        return _error(400, "PARAM_ERROR", "appid与商户号不匹配")
    if missing := _missing(data, "out_bill_no", "transfer_scene_id", "openid", "transfer_remark"):
        return missing
    if not re.fullmatch(r"[0-9A-Za-z]{5,32}", data["out_bill_no"]):
        return _error(400, "PARAM_ERROR", "out_bill_no只能由数字、大小写字母组成")
    amount = data.get("transfer_amount")
    if not isinstance(amount, int) or amount < 10:
        return _error(400, "PARAM_ERROR", "转账金额不能低于0.1元")
    name = None
    if data.get("user_name"):
        key = _decrypt_key(request.headers.get("wechatpay-serial") or "")
        if key is None:
            return _error(400, "PARAM_ERROR", "Wechatpay-Serial 与敏感信息加密所用的公钥不符")
        try:
            name = key.decrypt(base64.b64decode(data["user_name"]), padding.OAEP(
                mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)).decode()
        except ValueError:
            return _error(400, "PARAM_ERROR", "user_name解密失败，请使用微信支付公钥加密")
    elif amount >= 200000:
        return _error(400, "PARAM_ERROR", "转账金额>=2000元时，收款用户姓名必填")
    existing = await _get("bill", data["out_bill_no"])
    if existing:
        if existing["transfer_amount"] != amount or existing["openid"] != data["openid"]:
            return _error(400, "INVALID_REQUEST", "商户单号重复，且参数与原单不一致")
        bill = existing
    else:
        now = _rfc3339(clock.now())
        bill = {"mch_id": s.wechat_mch_id, "appid": data["appid"], "out_bill_no": data["out_bill_no"],
                "transfer_bill_no": "1330000" + secrets.token_hex(16), "state": "WAIT_USER_CONFIRM",
                "transfer_amount": amount, "transfer_remark": data["transfer_remark"], "openid": data["openid"],
                "user_name": name, "notify_url": data.get("notify_url"), "create_time": now, "update_time": now,
                "package_info": base64.b64encode(secrets.token_bytes(48)).decode()}
        await _put("bill", bill["out_bill_no"], bill)
    out = {"out_bill_no": bill["out_bill_no"], "transfer_bill_no": bill["transfer_bill_no"],
           "create_time": bill["create_time"], "state": bill["state"]}
    if bill["state"] == "WAIT_USER_CONFIRM":
        out["package_info"] = bill["package_info"]
    return _answer(out)


@bp.get("/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/<no:str>")
@authed
async def transfer_query(request: Request, no: str):
    bill = await _get("bill", no)
    if bill is None:
        return _error(404, "NOT_FOUND", "转账单不存在")
    return _answer(_bill_out(await _expire_if_due(bill)))


@bp.post("/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/<no:str>/cancel")
@authed
async def transfer_cancel(request: Request, no: str):
    bill = await _get("bill", no)
    if bill is None:
        return _error(404, "NOT_FOUND", "转账单不存在")
    bill = await _expire_if_due(bill)
    if bill["state"] in TRANSFER_FINAL:
        return _error(400, "INVALID_REQUEST", f"转账单已是终态{bill['state']}，不能撤销")
    await _finish_transfer(bill, "CANCELLED")
    return _answer({"out_bill_no": no, "transfer_bill_no": bill["transfer_bill_no"], "state": "CANCELING",
                    "update_time": bill["update_time"]})


@bp.post("/real-name")
async def real_name(request: Request):
    data = json_body(request)
    if not isinstance(data.get("openid"), str) or not isinstance(data.get("name"), str):
        return _problem(422, "validation_failed", "openid and name are required", "openid")
    await kr.redis().set(_k("name", data["openid"]), data["name"].encode(), ex=7 * 86400)
    return json({"ok": True})


@bp.post("/transfer-confirm")
async def transfer_confirm(request: Request):
    no = json_body(request).get("out_bill_no")
    bill = await _get("bill", no) if isinstance(no, str) and no else None
    if bill is None:
        return _problem(404, "not_found", "no such transfer")
    bill = await _expire_if_due(bill)
    if bill["state"] != "WAIT_USER_CONFIRM":
        return _problem(409, "conflict", f"the transfer is {bill['state']}")
    real = await kr.redis().get(_k("name", bill["openid"]))
    if bill.get("user_name") and real is not None and real.decode() != bill["user_name"]:
        await _finish_transfer(bill, "FAIL", "REAL_NAME_CHECK_FAIL")  # the name does not match the account
    else:
        await _finish_transfer(bill, "SUCCESS")
    return json({"state": bill["state"], "fail_reason": bill.get("fail_reason") or ""})


@bp.post("/tick")
async def tick(request: Request):
    expired = []
    async for key in kr.redis().scan_iter(match=_k("bill", "*"), count=500):
        bill = orjson.loads(await kr.redis().get(key) or b"null")
        if bill and bill["state"] == "WAIT_USER_CONFIRM":
            if (await _expire_if_due(bill))["state"] == "FAIL":
                expired.append(bill["out_bill_no"])
    return json({"expired": expired})
