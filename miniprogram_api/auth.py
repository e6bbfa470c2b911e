"""Login, the caller's identity and phone binding."""
from sanic import Blueprint, Request

from server.accounts import service as accounts
from server.accounts.schemas import LoginOut, UserOut, WechatLoginIn
from server.kit.http import endpoint

bp = Blueprint("mp_auth", url_prefix="/api/v1")


def client_ip(request: Request) -> str:
    return request.remote_addr or request.ip or "unknown"


@bp.post("/auth/wechat-login")
@endpoint(summary="Log in with a wx.login() code", body=WechatLoginIn, response=LoginOut,
          tags=("auth",), errors=(429, 502))
async def wechat_login(request: Request, body: WechatLoginIn):
    return await accounts.wechat_login(body.code, client_ip(request))


@bp.get("/me")
@endpoint(summary="The caller: id, roles, bound stations and merchants", auth="user",
          response=UserOut, tags=("auth",))
async def me(request: Request, principal):
    return await accounts.me(principal)
