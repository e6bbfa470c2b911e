"""WeChat order-shipping simulator (小程序发货信息管理服务): POST /wxa/sec/order/upload_shipping_info
checks the access token and the body as WeChat documents it, keeps each upload in Redis (so every
server process sees it), and refuses a second upload for the same order as WeChat does."""
from __future__ import annotations

import orjson
from sanic import Blueprint, Request
from sanic.response import json

from server.integrations.simulators.wechat import _err, check_access_token
from server.kit import runtime
from server.kit import redis as kr

bp = Blueprint("sim_wechat_shipping", url_prefix="/__sim__/wechat")
TTL = 7 * 86400
ORDER_NOT_FOUND = 10060001
ALREADY_SHIPPED = 10060002
INVALID_PARAM = 47001


def upload_key(out_trade_no: str) -> str:
    return kr.key("sim", "wx", "shipping", out_trade_no)


def _problem(body) -> str | None:
    if not isinstance(body, dict):
        return "data format error"
    key = body.get("order_key")
    if not isinstance(key, dict) or key.get("order_number_type") not in (1, 2):
        return "order_key.order_number_type"
    if key.get("order_number_type") == 1:
        if key.get("mchid") != runtime.settings().wechat_mch_id or not key.get("out_trade_no"):
            return "order_key.mchid/out_trade_no"
    elif not key.get("transaction_id"):
        return "order_key.transaction_id"
    lt = body.get("logistics_type")
    if lt not in (1, 2, 3, 4):
        return "logistics_type"
    mode = body.get("delivery_mode")
    if mode not in (1, 2):
        return "delivery_mode"
    items = body.get("shipping_list")
    if not isinstance(items, list) or not (1 <= len(items) <= 10):
        return "shipping_list"
    if mode == 1 and len(items) != 1:
        return "shipping_list: UNIFIED_DELIVERY takes one item"
    if mode == 2 and not isinstance(body.get("is_all_delivered"), bool):
        return "is_all_delivered"
    for it in items:
        if not isinstance(it, dict) or not isinstance(it.get("item_desc"), str) or not it["item_desc"] \
                or len(it["item_desc"]) > 120:
            return "shipping_list.item_desc"
        if lt == 1 and (not it.get("tracking_no") or not it.get("express_company")):
            return "shipping_list.tracking_no/express_company"
    if not isinstance(body.get("upload_time"), str) or "T" not in body["upload_time"]:
        return "upload_time"
    payer = body.get("payer")
    if not isinstance(payer, dict) or not payer.get("openid"):
        return "payer.openid"
    return None


@bp.post("/wxa/sec/order/upload_shipping_info")
async def upload_shipping_info(request: Request):
    bad = await check_access_token(request)
    if bad:
        return bad
    try:
        body = orjson.loads(request.body or b"null")
    except orjson.JSONDecodeError:
        return _err(INVALID_PARAM, "data format error")
    problem = _problem(body)
    if problem:
        return _err(INVALID_PARAM, f"invalid args: {problem}")
    ref = body["order_key"].get("out_trade_no") or body["order_key"].get("transaction_id")
    stored = await kr.redis().set(upload_key(ref), orjson.dumps(body), ex=TTL, nx=True)
    if not stored:
        return _err(ALREADY_SHIPPED, "支付单已完成发货，无法继续发货")
    return json({"errcode": 0, "errmsg": "ok"})


async def uploaded(out_trade_no: str) -> dict | None:
    """What was uploaded for an order (tests and the demo)."""
    raw = await kr.redis().get(upload_key(out_trade_no))
    return orjson.loads(raw) if raw else None
