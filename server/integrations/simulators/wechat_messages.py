"""WeChat subscribe-message simulator (subscribeMessage.send): checks the access token and the
message shape the way WeChat does, and keeps what was sent so the demo and tests can read it."""
from __future__ import annotations

import re

import orjson
from sanic import Blueprint, Request
from sanic.response import json

from server.integrations.simulators.wechat import _err, _k, check_access_token
from server.kit import redis as kr

bp = Blueprint("sim_wechat_messages", url_prefix="/__sim__/wechat")
KEEP = 50
# Value limits of the template keyword types (官方文档: thing 20, character_string 32, time).
_LIMITS = {"thing": 20, "character_string": 32, "phrase": 5, "number": 32, "name": 10}
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$")


@bp.post("/cgi-bin/message/subscribe/send")
async def subscribe_send(request: Request):
    bad = await check_access_token(request)
    if bad:
        return bad
    try:
        body = orjson.loads(request.body or b"")
    except orjson.JSONDecodeError:
        return _err(47001, "data format error")
    if not isinstance(body, dict):
        return _err(47001, "data format error")
    touser, template_id, data = body.get("touser"), body.get("template_id"), body.get("data")
    if not isinstance(touser, str) or not touser:
        return _err(40003, "invalid openid")
    if not isinstance(template_id, str) or not template_id:
        return _err(40037, "invalid template_id")
    if not isinstance(data, dict) or not data:
        return _err(47003, "argument invalid! data is empty")
    for name, item in data.items():
        value = item.get("value") if isinstance(item, dict) else None
        if not isinstance(value, str):
            return _err(47003, f"argument invalid! data.{name}.value invalid")
        kind = re.sub(r"\d+$", "", name)
        if kind in _LIMITS and len(value) > _LIMITS[kind]:
            return _err(47003, f"argument invalid! data.{name}.value exceeds limit")
        if kind == "time" and not _TIME.match(value):
            return _err(47003, f"argument invalid! data.{name}.value invalid time")
    if await kr.redis().sismember(_k("refused"), touser):
        return _err(43101, "user refuse to accept the msg")
    key = _k("subscribe", touser)
    pipe = kr.redis().pipeline(transaction=False)
    pipe.lpush(key, orjson.dumps(body))
    pipe.ltrim(key, 0, KEEP - 1)
    pipe.expire(key, 7 * 24 * 3600)
    await pipe.execute()
    return json({"errcode": 0, "errmsg": "ok", "msgid": 0})


@bp.get("/subscribe-messages")
async def sent_messages(request: Request):
    """Demo/test helper: the messages sent to an openid, newest first."""
    touser = request.args.get("touser") or ""
    items = await kr.redis().lrange(_k("subscribe", touser), 0, KEEP - 1) if touser else []
    return json({"items": [orjson.loads(i) for i in items]})


@bp.post("/subscribe-refuse")
async def refuse(request: Request):
    """Demo/test helper: this openid declined the subscription (WeChat answers 43101)."""
    body = request.json if request.body else None
    touser = body.get("touser") if isinstance(body, dict) else None
    if not isinstance(touser, str) or not touser:
        return json({"error": {"code": "validation_failed", "message": "touser: required",
                               "details": [{"field": "touser", "message": "required"}]}}, status=422)
    await kr.redis().sadd(_k("refused"), touser)
    return json({"ok": True})
