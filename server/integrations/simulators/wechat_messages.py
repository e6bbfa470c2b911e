"""WeChat subscribe-message simulator (subscribeMessage.send): checks the access token, the message
shape and every keyword value against WeChat's documented rules (server/integrations/wechat_keywords.py:
a time must read 2019年10月1日 15:01, a thing has at most 20 characters, a phrase is at most 5 Chinese
characters...), answering 47003 like WeChat, and keeps what was sent so the demo and tests can read it."""
from __future__ import annotations

import orjson
from sanic import Blueprint, Request
from sanic.response import json

from server.integrations import wechat_keywords
from server.integrations.simulators.wechat import _err, _k, check_access_token
from server.kit import redis as kr
from server.notify import registry

bp = Blueprint("sim_wechat_messages", url_prefix="/__sim__/wechat")
KEEP = 50


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
    if not isinstance(template_id, str) or template_id not in {m.template_id() for m in registry.MOMENTS.values()}:
        # WeChat knows the templates added to the mini-program; here: the registered moments' ids.
        return _err(40037, "invalid template_id")
    if not isinstance(data, dict) or not data:
        return _err(47003, "argument invalid! data is empty")
    for name, item in data.items():
        value = item.get("value") if isinstance(item, dict) else None
        why = wechat_keywords.problem(name, value)
        if why:
            return _err(47003, f"argument invalid! data.{name}.value {why}")
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
