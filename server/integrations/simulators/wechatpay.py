"""WeChat Pay v2 simulator: unifiedorder, orderquery, closeorder, refund (secapi), refundquery and
downloadbill (the trade bill in WeChat's CSV-like text) with MD5 signatures checked and answered,
WeChat's error codes, and its notifications: a signed payment notification to our notify_url (retried
like WeChat while we do not answer SUCCESS) and refund notifications with req_info AES-256-ECB
encrypted. State lives in Redis (every process sees it).

Demo/test helpers (not WeChat APIs):
  POST /__sim__/wechatpay/pay     {"out_trade_no": ...}  the simulated buyer pays; the notification
                                   is sent at once (first attempt awaited), then retried in background
  POST /__sim__/wechatpay/renotify {"out_trade_no": ...} send the same notification again
  POST /__sim__/wechatpay/faults  {"api": "refund"|"*"|..., "delay_seconds": 0-30, "http_status": 500-599,
                                   "err_code": "NOTENOUGH"} make an API slow, answer an HTTP error, or
                                   refuse with WeChat's error code; DELETE /__sim__/wechatpay/faults ends them
"""
from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import secrets
from datetime import date, datetime, timedelta
from typing import Awaitable, Callable

import httpx
import orjson
import xmltodict
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from wechatpy.crypto import RefundCrypto
from wechatpy.pay.utils import calculate_signature, dict_to_xml

from server.integrations.simulators.wechatpay_tls import CN_HEADER, PROOF_HEADER, proof
from server.kit import clock, runtime
from server.kit import redis as kr

bp = Blueprint("sim_wechatpay", url_prefix="/__sim__/wechatpay")
log = logging.getLogger("kazuo.sim.wechatpay")
_tasks: set[asyncio.Task] = set()


def _k(*parts) -> str:
    return kr.key("sim", "wxpay", *parts)


def _key() -> str:
    return runtime.settings().secret("wechat_pay_api_key")


def _xml(data: dict) -> HTTPResponse:
    data = {k: v for k, v in data.items() if v is not None and v != ""}
    sign = calculate_signature(data, _key())
    return HTTPResponse(dict_to_xml(data, sign), content_type="text/xml; charset=utf-8")


def _fail(msg: str) -> HTTPResponse:
    # Communication-level failure: no signature, return_code FAIL.
    return HTTPResponse(f"<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[{msg}]]>"
                        "</return_msg></xml>", content_type="text/xml; charset=utf-8")


def _base() -> dict:
    s = runtime.settings()
    return {"return_code": "SUCCESS", "return_msg": "OK", "appid": s.wechat_app_id, "mch_id": s.wechat_mch_id,
            "nonce_str": secrets.token_hex(16)}


def _biz_err(code: str, des: str) -> HTTPResponse:
    return _xml({**_base(), "result_code": "FAIL", "err_code": code, "err_code_des": des})


# ---- fault switch (tests and drills) ------------------------------------------------------------
FAULT_APIS = ("unifiedorder", "orderquery", "closeorder", "refund", "refundquery", "downloadbill")


async def active_fault(api: str) -> dict | None:
    """The fault set for this API (or "*"), after its delay; the v3 simulator obeys the same switch."""
    raw = await kr.redis().get(_k("faults"))
    faults = orjson.loads(raw) if raw else {}
    fault = faults.get(api) or faults.get("*")
    if fault and fault.get("delay_seconds"):
        await asyncio.sleep(fault["delay_seconds"])
    return fault


def _faultable(api: str):
    """Apply the fault set for this API (or "*"): a delay, an HTTP error status or a refusal."""
    def deco(handler):
        @functools.wraps(handler)
        async def wrapped(request: Request, *args, **kwargs):
            fault = await active_fault(api)
            if fault:
                if fault.get("http_status"):
                    status = fault["http_status"]
                    return HTTPResponse(f"<html><body>{status} Internal Server Error</body></html>", status=status,
                                        content_type="text/html")
                if fault.get("err_code"):
                    return _biz_err(fault["err_code"], "模拟的微信支付错误")
            return await handler(request, *args, **kwargs)
        return wrapped
    return deco


@bp.post("/faults")
async def set_fault(request: Request):
    body = json_body(request)
    api = body.get("api", "*")
    delay, status, err = body.get("delay_seconds", 0), body.get("http_status", 0), body.get("err_code", "")
    problems = []
    if api != "*" and api not in FAULT_APIS:
        problems.append({"field": "api", "message": "one of " + ", ".join(("*",) + FAULT_APIS)})
    if not isinstance(delay, (int, float)) or isinstance(delay, bool) or not 0 <= delay <= 30:
        problems.append({"field": "delay_seconds", "message": "a number of seconds, 0 to 30"})
    if not isinstance(status, int) or isinstance(status, bool) or not (status == 0 or 500 <= status <= 599):
        problems.append({"field": "http_status", "message": "0 or 500-599"})
    if not isinstance(err, str) or len(err) > 32:
        problems.append({"field": "err_code", "message": "a WeChat error code"})
    if problems:
        return json({"error": {"code": "validation_failed", "message": problems[0]["field"] + ": invalid",
                               "details": problems}}, status=422)
    raw = await kr.redis().get(_k("faults"))
    faults = orjson.loads(raw) if raw else {}
    faults[api] = {"delay_seconds": delay, "http_status": status, "err_code": err}
    await kr.redis().set(_k("faults"), orjson.dumps(faults), ex=86400)
    return json({"faults": faults})


@bp.delete("/faults")
async def clear_faults(request: Request):
    await kr.redis().delete(_k("faults"))
    return json({"faults": {}})


def _parse(request: Request) -> dict | HTTPResponse:
    try:
        data = xmltodict.parse(request.body or b"")["xml"]
    except Exception:  # noqa: BLE001
        return _fail("XML格式错误")
    if not isinstance(data, dict):
        return _fail("XML格式错误")
    sign = data.pop("sign", None)
    if data.get("sign_type", "MD5") != "MD5":
        return _fail("签名类型错误")  # this merchant is configured for MD5
    if sign != calculate_signature(data, _key()):
        return _fail("签名错误")
    s = runtime.settings()
    if data.get("appid") != s.wechat_app_id:
        return _fail("appid不存在")
    if data.get("mch_id") != s.wechat_mch_id:
        return _fail("mch_id参数格式错误")
    return data


async def _order(out_trade_no: str) -> dict | None:
    raw = await kr.redis().get(_k("order", out_trade_no))
    return orjson.loads(raw) if raw else None


async def _save(out_trade_no: str, order: dict) -> None:
    await kr.redis().set(_k("order", out_trade_no), orjson.dumps(order), ex=7 * 86400)


def _ts(value: str) -> float:
    return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=clock.SHANGHAI).timestamp()


@bp.post("/pay/unifiedorder")
@_faultable("unifiedorder")
async def unifiedorder(request: Request):
    data = _parse(request)
    if isinstance(data, HTTPResponse):
        return data
    for f in ("body", "out_trade_no", "total_fee", "spbill_create_ip", "notify_url", "trade_type"):
        if not data.get(f):
            return _fail(f"缺少参数{f}")
    try:
        fee = int(data["total_fee"])
    except ValueError:
        return _fail("total_fee参数格式错误")
    if fee < 1:
        return _biz_err("PARAM_ERROR", "total_fee 必须大于0")
    tt = data["trade_type"]
    if tt == "JSAPI" and not data.get("openid"):
        return _biz_err("PARAM_ERROR", "JSAPI支付必须传openid")
    if tt == "NATIVE" and not data.get("product_id"):
        return _biz_err("PARAM_ERROR", "NATIVE支付必须传product_id")
    if tt not in ("JSAPI", "NATIVE", "APP", "MWEB"):
        return _biz_err("PARAM_ERROR", "trade_type参数错误")
    otn = data["out_trade_no"]
    existing = await _order(otn)
    if existing:
        if existing["state"] == "SUCCESS":
            return _biz_err("ORDERPAID", "该订单已支付")
        if existing["state"] == "CLOSED":
            return _biz_err("ORDERCLOSED", "该订单已关")
        if existing["total_fee"] != fee or existing["trade_type"] != tt or existing.get("openid") != data.get("openid"):
            return _biz_err("INVALID_REQUEST", "201 商户订单号重复")
        order = existing
    else:
        now = clock.now().timestamp()
        expire = _ts(data["time_expire"]) if data.get("time_expire") else now + 7200
        if expire - now < 60:
            return _biz_err("PARAM_ERROR", "time_expire时间过短，刷卡至少1分钟，其他5分钟")
        order = {"out_trade_no": otn, "total_fee": fee, "trade_type": tt, "openid": data.get("openid"),
                 "notify_url": data["notify_url"], "state": "NOTPAY", "created": now, "expire": expire,
                 "prepay_id": "wx" + secrets.token_hex(15), "attach": data.get("attach")}
        await _save(otn, order)
    resp = {**_base(), "result_code": "SUCCESS", "trade_type": tt, "prepay_id": order["prepay_id"]}
    if tt == "NATIVE":
        resp["code_url"] = "weixin://wxpay/bizpayurl?pr=" + order["prepay_id"][-8:]
    return _xml(resp)


def _state(order: dict) -> str:
    if order["state"] == "NOTPAY" and clock.now().timestamp() > order["expire"]:
        return "CLOSED"  # an expired prepay order can no longer be paid
    return order["state"]


@bp.post("/pay/orderquery")
@_faultable("orderquery")
async def orderquery(request: Request):
    data = _parse(request)
    if isinstance(data, HTTPResponse):
        return data
    order = await _order(data.get("out_trade_no") or "")
    if order is None:
        return _biz_err("ORDERNOTEXIST", "订单不存在")
    state = _state(order)
    resp = {**_base(), "result_code": "SUCCESS", "out_trade_no": order["out_trade_no"], "trade_state": state,
            "trade_type": order["trade_type"], "total_fee": order["total_fee"], "openid": order.get("openid")}
    if state in ("SUCCESS", "REFUND"):
        resp.update(transaction_id=order["transaction_id"], time_end=order["time_end"], cash_fee=order["total_fee"],
                    bank_type="OTHERS", fee_type="CNY", is_subscribe="N")
    return _xml(resp)


@bp.post("/pay/closeorder")
@_faultable("closeorder")
async def closeorder(request: Request):
    data = _parse(request)
    if isinstance(data, HTTPResponse):
        return data
    otn = data.get("out_trade_no") or ""
    order = await _order(otn)
    if order is None:
        return _biz_err("ORDERNOTEXIST", "订单不存在")
    if order["state"] in ("SUCCESS", "REFUND"):
        return _biz_err("ORDERPAID", "订单已支付，不能发起关单")
    if order["state"] == "CLOSED":
        return _biz_err("ORDERCLOSED", "订单已关闭，无法重复关闭")
    if clock.now().timestamp() - order["created"] < 300:
        return _biz_err("SYSTEMERROR", "订单生成后不能马上调用关单接口，最短调用时间间隔为5分钟")
    order["state"] = "CLOSED"
    await _save(otn, order)
    return _xml({**_base(), "result_code": "SUCCESS"})


# ---- the simulated buyer pays, and the notifications -----------------------------------------
def _pay_notification(order: dict) -> str:
    s = runtime.settings()
    data = {"appid": s.wechat_app_id, "mch_id": s.wechat_mch_id, "nonce_str": secrets.token_hex(16),
            "result_code": "SUCCESS", "return_code": "SUCCESS", "openid": order.get("openid") or "o-native-payer",
            "is_subscribe": "N", "trade_type": order["trade_type"], "bank_type": "OTHERS",
            "total_fee": order["total_fee"], "cash_fee": order["total_fee"], "fee_type": "CNY",
            "transaction_id": order["transaction_id"], "out_trade_no": order["out_trade_no"],
            "time_end": order["time_end"]}
    if order.get("attach"):
        data["attach"] = order["attach"]
    return dict_to_xml(data, calculate_signature(data, _key()))


async def _deliver(url: str, body: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=5) as c:
            r = await c.post(url, content=body.encode(), headers={"Content-Type": "text/xml"})
        reply = xmltodict.parse(r.text)["xml"]
        return r.status_code == 200 and reply.get("return_code") == "SUCCESS"
    except Exception as exc:  # noqa: BLE001 - an unreachable merchant is retried
        log.info("notification delivery failed: %r", exc)
        return False


def spawn(coro) -> None:
    """Run a simulator's background step (WeChat finishing a refund) without losing the task."""
    t = asyncio.get_running_loop().create_task(coro)
    _tasks.add(t)
    t.add_done_callback(_tasks.discard)


def retry_delivery(deliver: Callable[[], Awaitable[bool]], counter_key: str) -> None:
    """Retry an unacknowledged notification in the background on WeChat's schedule (the setting)."""
    delays = list(runtime.settings().wechat_pay_sim_retry_seconds)

    async def run():
        for d in delays:
            await asyncio.sleep(d)
            try:
                await kr.redis().incr(counter_key)
            except Exception:  # noqa: BLE001 - the server may be stopping
                return
            if await deliver():
                return

    spawn(run())


async def send_notification(deliver: Callable[[], Awaitable[bool]], counter_key: str) -> bool:
    """The first delivery (awaited), then WeChat's retries while we do not acknowledge it."""
    await kr.redis().incr(counter_key)
    ok = await deliver()
    if not ok:
        retry_delivery(deliver, counter_key)
    return ok


def _send(url: str, body: str, counter_key: str):
    return send_notification(functools.partial(_deliver, url, body), counter_key)


def json_body(request: Request) -> dict:
    """A simulator helper's JSON object body ({} when it is not one)."""
    try:
        data = orjson.loads(request.body or b"{}")
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


@bp.post("/pay")
async def buyer_pays(request: Request):
    otn = json_body(request).get("out_trade_no")
    if not isinstance(otn, str) or not otn:
        return json({"error": {"code": "validation_failed", "message": "out_trade_no is required",
                               "details": [{"field": "out_trade_no", "message": "required"}]}}, status=422)
    order = await _order(otn)
    if order is None:
        return json({"error": {"code": "not_found", "message": "no such prepay order", "details": None}}, status=404)
    state = _state(order)
    if state != "NOTPAY":
        return json({"error": {"code": "conflict", "message": f"the prepay order is {state}", "details": None}},
                    status=409)
    order.update(state="SUCCESS", transaction_id="42000" + secrets.token_hex(12)[:23],
                 time_end=clock.now().astimezone(clock.SHANGHAI).strftime("%Y%m%d%H%M%S"))
    order["notification"] = _pay_notification(order)
    await _save(otn, order)
    await _bill_index(clock.now(), "P", otn)
    delivered = await _send(order["notify_url"], order["notification"], _k("attempts", otn))
    return json({"transaction_id": order["transaction_id"], "delivered": delivered})


@bp.post("/renotify")
async def renotify(request: Request):
    otn = json_body(request).get("out_trade_no")
    order = await _order(otn) if isinstance(otn, str) and otn else None
    if order is None or "notification" not in order:
        return json({"error": {"code": "not_found", "message": "no paid order", "details": None}}, status=404)
    ok = await _deliver(order["notify_url"], order["notification"])
    return json({"delivered": ok})


@bp.get("/attempts/<out_trade_no:str>")
async def attempts(request: Request, out_trade_no: str):
    n = await kr.redis().get(_k("attempts", out_trade_no))
    return json({"attempts": int(n or 0)})


# ---- refunds ---------------------------------------------------------------------------------
def _refund_notification(order: dict, refund: dict) -> str:
    s = runtime.settings()
    inner = {"root": {"transaction_id": order["transaction_id"], "out_trade_no": order["out_trade_no"],
                      "refund_id": refund["refund_id"], "out_refund_no": refund["out_refund_no"],
                      "total_fee": str(order["total_fee"]), "refund_fee": str(refund["refund_fee"]),
                      "settlement_refund_fee": str(refund["refund_fee"]), "refund_status": refund["status"],
                      "success_time": clock.now().astimezone(clock.SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
                      "refund_recv_accout": "支付用户零钱", "refund_account": "REFUND_SOURCE_RECHARGE_FUNDS",
                      "refund_request_source": "API"}}
    text = xmltodict.unparse(inner, full_document=False)
    key = hashlib.md5(_key().encode()).hexdigest().encode()
    req_info = RefundCrypto(key).encrypt(text).decode()
    return ("<xml><return_code>SUCCESS</return_code>"
            f"<appid><![CDATA[{s.wechat_app_id}]]></appid><mch_id><![CDATA[{s.wechat_mch_id}]]></mch_id>"
            f"<nonce_str><![CDATA[{secrets.token_hex(16)}]]></nonce_str>"
            f"<req_info><![CDATA[{req_info}]]></req_info></xml>")


async def _finish_refund(out_refund_no: str) -> None:
    await asyncio.sleep(0.05)  # WeChat completes refunds asynchronously
    raw = await kr.redis().get(_k("refund", out_refund_no))
    if raw is None:
        return
    refund = orjson.loads(raw)
    if refund["status"] != "PROCESSING":
        return
    refund["status"] = "SUCCESS"
    await kr.redis().set(_k("refund", out_refund_no), orjson.dumps(refund), ex=7 * 86400)
    order = await _order(refund["out_trade_no"])
    if refund.get("notify_url") and order:
        await _send(refund["notify_url"], _refund_notification(order, refund), _k("rattempts", out_refund_no))


@bp.post("/secapi/pay/refund")
@_faultable("refund")
async def refund_apply(request: Request):
    # WeChat serves /secapi/ only to the merchant API certificate (two-way TLS): see wechatpay_tls.
    if (request.headers.get(PROOF_HEADER) != proof(_key())
            or request.headers.get(CN_HEADER) != runtime.settings().wechat_mch_id):
        return _fail("证书错误：退款需要商户API证书")
    data = _parse(request)
    if isinstance(data, HTTPResponse):
        return data
    order = await _order(data.get("out_trade_no") or "")
    if order is None:
        return _biz_err("ORDERNOTEXIST", "订单不存在")
    if order["state"] not in ("SUCCESS", "REFUND"):
        return _biz_err("TRADE_STATE_ERROR", "订单状态错误")
    try:
        total, fee = int(data.get("total_fee") or 0), int(data.get("refund_fee") or 0)
    except ValueError:
        return _fail("参数格式错误")
    if total != order["total_fee"]:
        return _biz_err("INVALID_REQUEST", "订单金额或退款金额与之前请求不一致")
    orn = data.get("out_refund_no") or ""
    if not orn or fee < 1:
        return _biz_err("PARAM_ERROR", "参数错误")
    raw = await kr.redis().get(_k("refund", orn))
    if raw:  # the same out_refund_no again: the same refund (WeChat is idempotent on it)
        refund = orjson.loads(raw)
        if refund["refund_fee"] != fee or refund["out_trade_no"] != order["out_trade_no"]:
            return _biz_err("INVALID_REQUEST", "订单金额或退款金额与之前请求不一致")
    else:
        refunded = int(order.get("refunded", 0))
        if refunded + fee > order["total_fee"]:
            return _biz_err("INVALID_REQUEST", "退款金额大于支付金额")
        refund = {"out_refund_no": orn, "out_trade_no": order["out_trade_no"], "refund_fee": fee,
                  "refund_id": "50000" + secrets.token_hex(12)[:23], "status": "PROCESSING",
                  "notify_url": data.get("notify_url"), "created": clock.now().timestamp()}
        order["refunded"] = refunded + fee
        order["state"] = "REFUND"
        await _save(order["out_trade_no"], order)
        await kr.redis().set(_k("refund", orn), orjson.dumps(refund), ex=7 * 86400)
        await _bill_index(clock.now(), "R", orn)
        spawn(_finish_refund(orn))
    return _xml({**_base(), "result_code": "SUCCESS", "transaction_id": order["transaction_id"],
                 "out_trade_no": order["out_trade_no"], "out_refund_no": orn, "refund_id": refund["refund_id"],
                 "refund_fee": fee, "total_fee": order["total_fee"], "cash_fee": order["total_fee"]})


@bp.post("/pay/refundquery")
@_faultable("refundquery")
async def refundquery(request: Request):
    data = _parse(request)
    if isinstance(data, HTTPResponse):
        return data
    raw = await kr.redis().get(_k("refund", data.get("out_refund_no") or ""))
    if raw is None:
        return _biz_err("REFUNDNOTEXIST", "退款订单查询失败")
    refund = orjson.loads(raw)
    order = await _order(refund["out_trade_no"]) or {}
    return _xml({**_base(), "result_code": "SUCCESS", "out_trade_no": refund["out_trade_no"],
                 "transaction_id": order.get("transaction_id"), "total_fee": order.get("total_fee"),
                 "refund_count": 1, "out_refund_no_0": refund["out_refund_no"], "refund_id_0": refund["refund_id"],
                 "refund_fee_0": refund["refund_fee"], "refund_status_0": refund["status"]})


# ---- the trade bill (下载对账单) -----------------------------------------------------------------
# The ALL bill's columns as WeChat documents them; every value is prefixed with a backtick (so that a
# spreadsheet keeps long numbers as text), amounts are yuan with two decimals, then two summary rows.
BILL_HEADER = ("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,"
               "付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,"
               "退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注")
BILL_SUMMARY_HEADER = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
FEE_RATE_BP = 60  # 0.60%


async def _bill_index(when: datetime, kind: str, ref: str) -> None:
    day = when.astimezone(clock.SHANGHAI).strftime("%Y%m%d")
    await kr.redis().rpush(_k("bill", day), f"{kind}:{ref}")
    await kr.redis().expire(_k("bill", day), 40 * 86400)


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _local(ts: float) -> str:
    return datetime.fromtimestamp(ts, clock.SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def _bill_row(values: list) -> str:
    return ",".join("`" + str(v) for v in values)


async def _bill_text(day: str) -> str | None:
    refs = await kr.redis().lrange(_k("bill", day), 0, -1)
    if not refs:
        return None
    s = runtime.settings()
    lines, paid, refunded, fees = [BILL_HEADER], 0, 0, 0
    for ref in dict.fromkeys(r.decode() if isinstance(r, bytes) else r for r in refs):
        kind, _, key = ref.partition(":")
        if kind == "P":
            order = await _order(key)
            if order is None:
                continue
            fee = (order["total_fee"] * FEE_RATE_BP + 5000) // 10000
            paid, fees = paid + order["total_fee"], fees + fee
            when = datetime.strptime(order["time_end"], "%Y%m%d%H%M%S").replace(tzinfo=clock.SHANGHAI)
            lines.append(_bill_row([
                when.strftime("%Y-%m-%d %H:%M:%S"), s.wechat_app_id, s.wechat_mch_id, "0", "",
                order["transaction_id"], order["out_trade_no"], order.get("openid") or "", order["trade_type"],
                "SUCCESS", "OTHERS", "CNY", _yuan(order["total_fee"]), "0.00", "0", "0", "0.00", "0.00", "", "",
                "喀左特色馆", order.get("attach") or "", _yuan(fee), "0.60%", _yuan(order["total_fee"]), "0.00", ""]))
        else:
            raw = await kr.redis().get(_k("refund", key))
            if raw is None:
                continue
            refund = orjson.loads(raw)
            order = await _order(refund["out_trade_no"]) or {}
            fee = -((refund["refund_fee"] * FEE_RATE_BP + 5000) // 10000)
            refunded, fees = refunded + refund["refund_fee"], fees + fee
            lines.append(_bill_row([
                _local(refund.get("created") or clock.now().timestamp()), s.wechat_app_id, s.wechat_mch_id, "0", "",
                order.get("transaction_id", ""), refund["out_trade_no"], order.get("openid") or "",
                order.get("trade_type", "JSAPI"), "REFUND", "OTHERS", "CNY", "0.00", "0.00", refund["refund_id"],
                refund["out_refund_no"], _yuan(refund["refund_fee"]), "0.00", "ORIGINAL", refund["status"],
                "喀左特色馆", "", _yuan(fee), "0.60%", "0.00", _yuan(refund["refund_fee"]), ""]))
    lines.append(BILL_SUMMARY_HEADER)
    lines.append(_bill_row([len(lines) - 2, _yuan(paid), _yuan(refunded), "0.00", _yuan(fees), _yuan(paid),
                            _yuan(refunded)]))
    return "\r\n".join(lines) + "\r\n"


def _bill_fail(msg: str, code: str) -> HTTPResponse:
    return HTTPResponse(f"<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[{msg}]]></return_msg>"
                        f"<error_code><![CDATA[{code}]]></error_code></xml>", content_type="text/xml; charset=utf-8")


@bp.post("/pay/downloadbill")
@_faultable("downloadbill")
async def downloadbill(request: Request):
    data = _parse(request)
    if isinstance(data, HTTPResponse):
        return data
    day = data.get("bill_date") or ""
    try:
        bill_day = datetime.strptime(day, "%Y%m%d").date()
    except ValueError:
        return _bill_fail("invalid bill_date", "20001")
    if data.get("bill_type", "ALL") != "ALL":
        return _bill_fail("invalid bill_type", "20001")  # only the ALL bill is simulated
    today: date = clock.now().astimezone(clock.SHANGHAI).date()
    if bill_day >= today or bill_day < today - timedelta(days=90):
        return _bill_fail("invalid bill_date", "20001")  # a day's bill exists from the next morning
    text = await _bill_text(day)
    if text is None:
        return _bill_fail("No Bill Exist", "20002")
    return HTTPResponse(text, content_type="text/plain; charset=utf-8")
