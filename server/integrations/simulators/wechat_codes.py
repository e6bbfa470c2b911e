"""WeChat mini-program code simulator: `POST /__sim__/wechat/wxa/getwxacodeunlimit` answers
wxacode.getUnlimited (获取不限制的小程序码) as WeChat documents it — a PNG (here a QR code of the
app, version, page and scene) or WeChat's errcode JSON.

Checked as documented: scene of 1-32 visible characters from WeChat's set (digits, letters and
!#$&'()*+,/:;=?@-._~); page without a leading "/" and without parameters; width 280-1280;
check_path and is_hyaline/auto_color booleans; env_version release | trial | develop. With
check_path true (WeChat's default) the page must exist in the published mini-program: the
simulator knows the pages published through `POST /__sim__/wechat/published-pages` (none at first,
as before the first release), so a code for an unpublished page needs check_path=false."""
from __future__ import annotations

import io
import re

import orjson
import qrcode
from sanic import Blueprint, HTTPResponse, Request
from sanic.response import json

from server.integrations.simulators.wechat import _err, _k, check_access_token
from server.kit import pools, runtime
from server.kit import redis as kr

bp = Blueprint("sim_wechat_codes", url_prefix="/__sim__/wechat")
SCENE = re.compile(r"^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}$")
PAGE = re.compile(r"^[0-9A-Za-z_\-./]{1,256}$")
ENV_VERSIONS = ("release", "trial", "develop")
INVALID_SCENE = 40169
INVALID_WIDTH = 40159
INVALID_PAGE = 41030
INVALID_ARGS = 40097
DATA_FORMAT = 47001


def _png(text: str) -> bytes:
    buf = io.BytesIO()
    qrcode.make(text).save(buf, format="PNG")
    return buf.getvalue()


@bp.post("/wxa/getwxacodeunlimit")
async def get_unlimited(request: Request):
    bad = await check_access_token(request)
    if bad is not None:
        return bad
    try:
        data = orjson.loads(request.body or b"null")
    except orjson.JSONDecodeError:
        return _err(DATA_FORMAT, "data format error")
    if not isinstance(data, dict):
        return _err(DATA_FORMAT, "data format error")
    scene = data.get("scene")
    if not isinstance(scene, str) or not SCENE.match(scene):
        return _err(INVALID_SCENE, "invalid length for scene, or the data is not json string")
    page = data.get("page", "")
    if not isinstance(page, str) or (page and (page.startswith("/") or not PAGE.match(page))):
        return _err(INVALID_PAGE, "invalid page rid")
    width = data.get("width", 430)
    if isinstance(width, bool) or not isinstance(width, int) or not (280 <= width <= 1280):
        return _err(INVALID_WIDTH, "invalid width")
    for name in ("check_path", "auto_color", "is_hyaline"):
        if name in data and not isinstance(data[name], bool):
            return _err(DATA_FORMAT, f"data format error: {name} must be a boolean")
    env = data.get("env_version", "release")
    if env not in ENV_VERSIONS:
        return _err(INVALID_ARGS, "invalid args: env_version")
    if data.get("check_path", True) and page and not await kr.redis().sismember(_k("pages"), page):
        return _err(INVALID_PAGE, "invalid page: not in the published mini-program")
    png = await pools.cpu(_png, f"wxacode:{runtime.settings().wechat_app_id}:{env}:{page}?{scene}")
    return HTTPResponse(png, content_type="image/png")


@bp.post("/published-pages")
async def publish_pages(request: Request):
    """Demo/test helper: these pages exist in the published mini-program (check_path=true finds them)."""
    body = request.json if request.body else None
    pages = body.get("pages") if isinstance(body, dict) else None
    if not isinstance(pages, list) or not pages or not all(isinstance(p, str) and p for p in pages):
        return json({"error": {"code": "validation_failed", "message": "pages: a list of page paths",
                               "details": [{"field": "pages", "message": "a list of page paths"}]}}, status=422)
    await kr.redis().sadd(_k("pages"), *pages)
    return json({"ok": True})
