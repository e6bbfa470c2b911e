"""WeChat simulator: jscode2session with single-use codes and WeChat's real error codes, the access
token endpoint, and the demo's `POST /__sim__/wechat/login-code` that mints a code for an openid."""
from __future__ import annotations

import secrets

from sanic import Blueprint, Request
from sanic.response import json

from server.kit import runtime
from server.kit import redis as kr

bp = Blueprint("sim_wechat", url_prefix="/__sim__/wechat")
CODE_TTL = 300


def _k(*parts) -> str:
    return kr.key("sim", "wx", *parts)


def _err(errcode: int, errmsg: str):
    # WeChat answers errors with HTTP 200 and an errcode in the body.
    return json({"errcode": errcode, "errmsg": f"{errmsg} rid: {secrets.token_hex(6)}"})


def _check_app(request: Request):
    s = runtime.settings()
    if request.args.get("appid") != s.wechat_app_id:
        return _err(40013, "invalid appid")
    if request.args.get("secret") != s.secret("wechat_app_secret"):
        return _err(40125, "invalid appsecret")
    return None


@bp.post("/login-code")
async def mint_login_code(request: Request):
    """Demo/test helper: a one-time wx.login() code for an openid (and optional unionid)."""
    data = request.json if request.body else None
    openid = (data or {}).get("openid") if isinstance(data, dict) else None
    if not isinstance(openid, str) or not (1 <= len(openid) <= 64) or not openid.isprintable():
        return json({"error": {"code": "validation_failed", "message": "openid: a string of 1-64 characters is required",
                               "details": [{"field": "openid", "message": "required"}]}}, status=422)
    unionid = data.get("unionid") if isinstance(data.get("unionid"), str) else ""
    code = secrets.token_urlsafe(24)
    await kr.redis().set(_k("code", code), f"{openid}\n{unionid}", ex=CODE_TTL)
    return json({"code": code, "expires_in": CODE_TTL})


@bp.get("/sns/jscode2session")
async def jscode2session(request: Request):
    bad = _check_app(request)
    if bad:
        return bad
    if request.args.get("grant_type") != "authorization_code":
        return _err(40002, "invalid grant_type")
    code = request.args.get("js_code") or ""
    if not code:
        return _err(41008, "missing code")
    raw = await kr.redis().getdel(_k("code", code))
    if raw is None:
        if await kr.redis().exists(_k("used", code)):
            return _err(40163, "code been used")
        return _err(40029, "invalid code")
    await kr.redis().set(_k("used", code), 1, ex=CODE_TTL)
    openid, unionid = raw.decode().split("\n", 1)
    body = {"openid": openid, "session_key": secrets.token_urlsafe(16)}
    if unionid:
        body["unionid"] = unionid
    return json(body)


@bp.get("/cgi-bin/token")
async def access_token(request: Request):
    if request.args.get("grant_type") != "client_credential":
        return _err(40002, "invalid grant_type")
    bad = _check_app(request)
    if bad:
        return bad
    token = secrets.token_urlsafe(32)
    await kr.redis().set(_k("token", token), 1, ex=7200)
    return json({"access_token": token, "expires_in": 7200})


async def check_access_token(request: Request):
    """For simulated APIs that need a token: None when valid, else WeChat's 40001 answer."""
    token = request.args.get("access_token") or ""
    if not token or not await kr.redis().exists(_k("token", token)):
        return _err(40001, "invalid credential, access_token is invalid or not latest")
    return None
