"""Login, the caller's identity and phone binding."""
from sanic import Blueprint, Request

from server.accounts import console
from server.accounts import service as accounts
from server.accounts.schemas import LoginOut, ScanConfirmOut, UserOut, WechatLoginIn
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


@bp.post("/auth/console-scan/<ticket:str>/confirm")
@endpoint(summary="扫码登录: confirm the web console sign-in shown by the scanned code (operators only)",
          auth="user", response=ScanConfirmOut, tags=("auth",), errors=(403, 409, 410, 422))
async def confirm_console_scan(request: Request, principal, ticket: str):
    await console.confirm_scan(ticket, principal)
    return ScanConfirmOut(confirmed=True)
