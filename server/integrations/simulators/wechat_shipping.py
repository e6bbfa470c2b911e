"""WeChat order-shipping simulator (小程序发货信息管理服务): POST /__sim__/wechat/wxa/sec/order/
upload_shipping_info checks the access token and the body, and answers with the error codes WeChat
documents for it. Its state lives in Redis (every server process sees it).

Per payment (out_trade_no), as WeChat documents:
  * the first upload ships it (errcode 0);
  * the same shipping information again: 10060023 发货信息未更新 (nothing changed);
  * different information while the buyer has not confirmed receipt: the one re-upload (重新发货,
    errcode 0; its upload_time must be later than the first's), then 10060003 支付单已使用重新发货机会;
  * different information after the buyer confirmed receipt: 10060002 支付单已完成发货，无法继续发货.
A payment WeChat does not know (another mchid, or marked `missing`) gets 10060001 支付单不存在; one
marked `refunded` gets 10060004 支付单处于不可发货的状态. Payments are known and shippable unless a
test or the demo says otherwise with `POST /__sim__/wechat/shipping/order-state`.

Body checks, with WeChat's codes: order_key (268485194-268485197), logistics_type (10060005),
delivery_mode (268485224), unified delivery takes exactly one item (268485228), split delivery only
by courier (10060006) and with is_all_delivered (10060007), at most 15 items (10060024), item_desc
present (10060008) and at most 120 characters (10060009), courier items with tracking_no (268485226)
and express_company (268485227) and, for SF (顺丰), a masked contact, upload_time in RFC 3339
(268485216), payer.openid (47001)."""
from __future__ import annotations

from datetime import datetime

import orjson
from sanic import Blueprint, Request
from sanic.response import json

from server.integrations.simulators.wechat import _err, _k, check_access_token
from server.kit import runtime
from server.kit import redis as kr

bp = Blueprint("sim_wechat_shipping", url_prefix="/__sim__/wechat")
TTL = 7 * 86400
STATES = ("paid", "missing", "refunded", "received")
FORMAT = 47001


def upload_key(out_trade_no: str) -> str:
    return kr.key("sim", "wx", "shipping", out_trade_no)


def _state_key(out_trade_no: str) -> str:
    return _k("shipping-state", out_trade_no)


def _rfc3339(value) -> datetime | None:
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def _problem(body) -> tuple[int, str] | None:
    if not isinstance(body, dict):
        return FORMAT, "data format error"
    key = body.get("order_key")
    if not isinstance(key, dict) or key.get("order_number_type") not in (1, 2):
        return 268485194, "订单单号类型非法"
    if key["order_number_type"] == 2 and not key.get("transaction_id"):
        return 268485195, "微信支付单号形式下 transaction_id 字段不能为空"
    if key["order_number_type"] == 1 and not key.get("mchid"):
        return 268485196, "商户侧单号形式下 mchid 字段不能为空"
    if key["order_number_type"] == 1 and not key.get("out_trade_no"):
        return 268485197, "商户侧单号形式下 out_trade_no 字段不能为空"
    lt = body.get("logistics_type")
    if lt not in (1, 2, 3, 4):
        return 10060005, "物流类型有误"
    mode = body.get("delivery_mode")
    if mode not in (1, 2):
        return 268485224, "发货模式非法"
    items = body.get("shipping_list")
    if not isinstance(items, list) or not items or not all(isinstance(it, dict) for it in items):
        return FORMAT, "data format error: shipping_list"
    if mode == 1 and len(items) != 1:
        return 268485228, "统一发货模式下，物流信息列表长度必须为 1"
    if mode == 2 and lt != 1:
        return 10060006, "非快递发货时不允许分拆发货"
    if mode == 2 and not isinstance(body.get("is_all_delivered"), bool):
        return 10060007, "分拆发货模式下必须填写 is_all_delivered 字段"
    if len(items) > 15:
        return 10060024, "物流信息列表太长"
    for it in items:
        desc = it.get("item_desc")
        if not isinstance(desc, str) or not desc:
            return 10060008, "商品描述 item_desc 字段不能为空"
        if len(desc) > 120:
            return 10060009, "商品描述 item_desc 字段太长"
        if lt == 1:
            if not it.get("tracking_no"):
                return 268485226, "物流单号不能为空"
            if not it.get("express_company"):
                return 268485227, "物流公司编码不能为空"
            contact = it.get("contact") or {}
            if it["express_company"] == "SF" and not (contact.get("receiver_contact") or contact.get("consignor_contact")):
                return 10060014, "参数错误: 顺丰发货时联系方式必填"
    if _rfc3339(body.get("upload_time")) is None:
        return 268485216, "上传时间非法，请按照 RFC 3339 格式填写"
    payer = body.get("payer")
    if not isinstance(payer, dict) or not payer.get("openid"):
        return FORMAT, "data format error: payer.openid"
    return None


def _shipping(body: dict) -> dict:
    """What a re-upload is compared on (not upload_time)."""
    return {k: body.get(k) for k in ("logistics_type", "delivery_mode", "is_all_delivered", "shipping_list")}


@bp.post("/wxa/sec/order/upload_shipping_info")
async def upload_shipping_info(request: Request):
    bad = await check_access_token(request)
    if bad:
        return bad
    try:
        body = orjson.loads(request.body or b"null")
    except orjson.JSONDecodeError:
        return _err(FORMAT, "data format error")
    problem = _problem(body)
    if problem:
        return _err(*problem)
    key = body["order_key"]
    if key["order_number_type"] == 1 and key["mchid"] != runtime.settings().wechat_mch_id:
        return _err(10060001, "支付单不存在")
    ref = key.get("out_trade_no") or key.get("transaction_id")
    state = (await kr.redis().get(_state_key(ref)) or b"paid").decode()
    if state == "missing":
        return _err(10060001, "支付单不存在")
    if state == "refunded":
        return _err(10060004, "支付单处于不可发货的状态")
    raw = await kr.redis().get(upload_key(ref))
    record = orjson.loads(raw) if raw else None
    if record is None:
        record = {"count": 0}
    elif _shipping(record["body"]) == _shipping(body):
        return _err(10060023, "发货信息未更新")
    elif state == "received":
        return _err(10060002, "支付单已完成发货，无法继续发货")
    elif record["count"] >= 2:
        return _err(10060003, "支付单已使用重新发货机会")
    elif _rfc3339(body["upload_time"]) <= _rfc3339(record["body"]["upload_time"]):
        return _err(10060014, "参数错误: upload_time 必须晚于上一次上传")
    await kr.redis().set(upload_key(ref), orjson.dumps({"count": record["count"] + 1, "body": body}), ex=TTL)
    return json({"errcode": 0, "errmsg": "ok"})


@bp.post("/shipping/order-state")
async def set_order_state(request: Request):
    """Demo/test helper: how WeChat sees a payment — paid (shippable), missing (unknown to the
    shipping service), refunded (not shippable) or received (the buyer confirmed receipt)."""
    data = request.json if request.body else None
    ref = data.get("out_trade_no") if isinstance(data, dict) else None
    state = data.get("state") if isinstance(data, dict) else None
    if not isinstance(ref, str) or not ref or state not in STATES:
        return json({"error": {"code": "validation_failed", "message": "out_trade_no and state are required",
                               "details": [{"field": "state", "message": "one of " + ", ".join(STATES)}]}},
                    status=422)
    await kr.redis().set(_state_key(ref), state, ex=TTL)
    return json({"ok": True})


async def uploaded(out_trade_no: str) -> dict | None:
    """The latest shipping information WeChat holds for a payment (tests and the demo)."""
    raw = await kr.redis().get(upload_key(out_trade_no))
    return orjson.loads(raw)["body"] if raw else None


async def upload_count(out_trade_no: str) -> int:
    """How many uploads WeChat accepted for a payment (1, or 2 after the re-upload)."""
    raw = await kr.redis().get(upload_key(out_trade_no))
    return orjson.loads(raw)["count"] if raw else 0
