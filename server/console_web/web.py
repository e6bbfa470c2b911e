"""The web console's plumbing: Jinja2 templates, the @page decorator (session, live roles, CSRF, errors
as pages), and form parsing with errors next to their fields.

@page is to the console what server.kit.http's @endpoint is to the JSON API: a handler receives the
request and a Ctx (the principal, the CSRF token, whether htmx asked for a fragment) and returns
ctx.render(...). The session comes from server.kit.sessions; the principal is loaded on every request
by server.kit.auth.load_principal, exactly as for a bearer token, so a revoked role or a disabled
account ends console access as fast as it ends API access."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache, wraps
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from pydantic import BaseModel
from sanic import HTTPResponse, Request
from sanic.response import html, redirect

from server.accounts.console import is_operator
from server.kit import clock, pools, runtime, sessions
from server.kit.auth import Principal, Role, load_principal
from server.kit.errors import AppError, Unauthorized, ValidationFailed
from server.kit.http import validate
from server.media import media_origins
from server.console_web import messages

HERE = Path(__file__).parent
STATIC_VERSION = "3"
ADMIN = (Role.admin.value,)
WAREHOUSE = (Role.warehouse.value,)
STATION = (Role.station_staff.value,)
ROLE_NAMES = {"admin": "县电商办", "warehouse": "县仓操作员", "station_staff": "服务站工作人员",
              "merchant": "商户成员", "livestreamer": "主播", "consumer": "消费者"}
# Scripts only from our own static files (no inline script, no eval); no framing (clickjacking);
# images also from where the uploads are kept (an Aliyun OSS bucket in production: media_origins).
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:{media}; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


@lru_cache(maxsize=8)
def _security_headers(media: tuple[str, ...]) -> dict[str, str]:
    return {"Content-Security-Policy": _CSP.format(media="".join(f" {o}" for o in media)),
            "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin", "Cache-Control": "no-store"}


def security_headers() -> dict[str, str]:
    """Every console page's security headers."""
    return _security_headers(media_origins())


# The console's navigation: (path, label, roles that see it).
NAV = [
    ("/console/", "首页", ADMIN),
    ("/console/merchants", "商户", ADMIN),
    ("/console/reviews", "商品审核", ADMIN),
    ("/console/stations", "服务站", ADMIN),
    ("/console/taxonomy", "类目与品牌", ADMIN),
    ("/console/training", "电商培训", ADMIN),
    ("/console/trace", "质量追溯", ADMIN),
    ("/console/statistics", "数据统计", ADMIN),
    ("/console/shares", "分享带来的订单", ADMIN),  # #29
    ("/console/users", "用户与角色", ADMIN),
    ("/console/audit", "审计日志", ADMIN),
    ("/console/payees", "收款信息", ADMIN),
    ("/console/payouts", "打款", ADMIN),
    ("/console/cash-handovers", "现金解缴确认", ADMIN),
    ("/console/live-pool", "选品池", ADMIN),
    ("/console/fee-terms", "费率", ADMIN),
    ("/console/ratings", "评价管理", ADMIN),   # buyers' reviews (#30)
    ("/console/content", "内容管理", ADMIN),   # banners, announcements, articles (#30)
    ("/console/complaints", "投诉举报", ADMIN),  # complaints and reports (#26)
    ("/console/freight", "运费模板", ADMIN),  # #25
    ("/console/coupons", "优惠券", ADMIN),  # promotions (#28)
    ("/console/campaigns", "节庆活动", ADMIN),
    ("/console/presales", "预售审核", ADMIN),  # pre-sale (#28)
    ("/console/shop/", "商户工作台", ("merchant",)),
    ("/console/live-consents", "直播合作", ("merchant",)),
    ("/console/live/", "直播工作台", ("livestreamer",)),
    ("/console/live/consents", "直播合作申请", ("livestreamer",)),
    ("/console/warehouse", "县仓作业台", WAREHOUSE),
    ("/console/warehouse/inbound", "入库", WAREHOUSE),
    ("/console/warehouse/dispatch", "发货", WAREHOUSE),
    ("/console/warehouse/sla", "时效看板", WAREHOUSE),
    ("/console/warehouse/stock", "库存", WAREHOUSE),
    ("/console/warehouse/collections", "揽收到货", WAREHOUSE),  # first-mile collection (#26)
    ("/console/statistics/collections", "农产品上行", ADMIN),  # first-mile collection (#26)
    ("/console/station", "服务站", STATION),
    ("/console/cash", "现金解缴", STATION),
    ("/console/statements", "结算单", (*ADMIN, "merchant", "livestreamer", "station_staff")),
    ("/console/my-payouts", "结算与提现", ("merchant", "livestreamer", "station_staff")),
    # after-sales (#25)
    ("/console/aftersales", "售后介入", ADMIN),
    ("/console/shop/aftersales", "售后", ("merchant",)),
    ("/console/warehouse/unpicks", "退款回架", WAREHOUSE),
    ("/console/station/returns", "售后退货", STATION),
]
# Where /console/ sends a non-admin operator: the first workspace of theirs in this list.
HOMES = [
    ("merchant", "/console/shop/"),
    ("livestreamer", "/console/live/"),
    ("warehouse", "/console/warehouse"),
    ("station_staff", "/console/station"),
]


def _fen(v: Any) -> str:
    try:
        return f"¥{int(v) / 100:,.2f}"
    except (TypeError, ValueError):
        return "—"


def _local(v: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if isinstance(v, str):
        try:
            v = datetime.fromisoformat(v)
        except ValueError:
            return v
    if isinstance(v, datetime):
        return v.astimezone(clock.SHANGHAI).strftime(fmt)
    if isinstance(v, date):
        return v.isoformat()
    return "—" if v is None else str(v)


# auto_reload off: the templates ship with the code (a restart picks up an edit), and checking each
# template's file time on every render was ~4% of a console page's server time.
env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(default=True),
                  trim_blocks=True, lstrip_blocks=True, auto_reload=False)
env.filters.update(fen=_fen, local=_local, role_name=lambda r: ROLE_NAMES.get(r, r),
                   label=messages.label, urlq=lambda v: quote(str(v), safe=""))
env.globals.update(static=lambda name: f"/console/static/{name}?v={STATIC_VERSION}")


@lru_cache(maxsize=64)
def _nav_links(roles: frozenset[str]) -> tuple[tuple[str, str], ...]:
    return tuple((path, label) for path, label, allowed in NAV if any(r in roles for r in allowed))


@lru_cache(maxsize=1024)
def _nav_html(links: tuple[tuple[str, str], ...], on: tuple[bool, ...]) -> Markup:
    # Rendered once per role set and current section: every page carries it, and as a template loop
    # its ~27 links (escaped, each matched against the path) were ~10% of a console page's server time.
    link = Markup('<a href="{}"{}>{}</a>')
    return Markup("\n").join(link.format(href, Markup(' class="on"') if is_on else "", label)
                              for (href, label), is_on in zip(links, on))


@dataclass
class Ctx:
    request: Request
    principal: Principal | None = None
    csrf: str = ""
    new_pre: str | None = None   # a pre-session cookie to set (the sign-in pages' CSRF material)
    data: dict = field(default_factory=dict)

    @property
    def htmx(self) -> bool:
        return self.request.headers.get("hx-request") == "true"

    @property
    def user_id(self) -> int:
        assert self.principal is not None
        return self.principal.user_id

    def nav(self) -> Markup:
        """The header's links for the principal's roles, the current section's marked "on"."""
        if self.principal is None:
            return Markup()
        links = _nav_links(self.principal.roles)
        path = self.request.path
        on = tuple(path == href if href == "/console/" else path.startswith(href) for href, _ in links)
        return _nav_html(links, on)

    def render(self, template: str, status: int = 200, headers: dict | None = None, **values: Any) -> HTTPResponse:
        body = env.get_template(template).render(ctx=self, path=self.request.path, args=self.request.args,
                                                  **values)
        response = html(body, status=status, headers={**security_headers(), **(headers or {})})
        if self.new_pre:
            response.add_cookie(sessions.PRE_COOKIE, self.new_pre, path="/console", httponly=True,
                                samesite="Strict", secure=sessions.cookie_secure(), max_age=86400)
        return response

    def form(self) -> dict[str, str]:
        """The submitted form's fields (first value of each), stripped."""
        raw = self.request.form or {}
        return {k: (raw.get(k) or "").strip() for k in raw.keys() if k != "_csrf"}


def parse(model: type[BaseModel], data: dict) -> BaseModel:
    """Validate a form with a schema; blank fields count as absent, fields the schema does not take
    (next, the page's own hidden fields) are left out. ValidationFailed names the field."""
    names = {f.alias or n for n, f in model.model_fields.items()}
    # A form's fields are text: validate() parses numbers from it as from a query string.
    return validate(model, {k: v for k, v in data.items() if v != "" and k in names}, "form")


def filters(ctx: "Ctx", model: type[BaseModel]) -> tuple[BaseModel, dict[str, str]]:
    """A list page's filters from the query string, validated; a bad one is named beside its field
    and left out, the others still apply."""
    data = {k: v[0] for k, v in ctx.request.args.items()}
    try:
        return parse(model, data), {}
    except ValidationFailed as exc:
        errors = field_errors(exc)
        return parse(model, {k: v for k, v in data.items() if k not in errors}), errors


def field_errors(exc: ValidationFailed, hints: dict[str, str] | None = None) -> dict[str, str]:
    """{field: message in Chinese} for a form to show next to its fields (hints: this form's own
    wording for a field, over the console's usual one)."""
    out: dict[str, str] = {}
    for d in exc.details or [{"field": "", "message": exc.message}]:
        name = str(d.get("field", "")).split(".")[-1]
        out.setdefault(name, messages.field_message(name, exc.code, d.get("message", ""), hints))
    return out


def next_url(cursor: str | None, request: Request) -> str | None:
    """The URL of the next keyset page: this page's filters with the next cursor."""
    if not cursor:
        return None
    args = {k: v for k, v in request.args.items() if k != "cursor"}
    return request.path + "?" + urlencode({**{k: v[0] for k, v in args.items()}, "cursor": cursor})


def flash(ctx: Ctx, message: str, kind: str = "error", status: int = 200) -> HTTPResponse:
    """A message for the page's message area: swapped into #flash for htmx, a page otherwise."""
    if ctx.htmx:
        return ctx.render("_flash.html", message=message, kind=kind,
                          headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"})
    return ctx.render("message.html", status=status, message=message, kind=kind)


def _to_login(request: Request, reason: str) -> HTTPResponse:
    target = "/console/login?" + urlencode({"reason": reason, "next": request.path})
    if request.headers.get("hx-request") == "true":
        return HTTPResponse(status=200, headers={"HX-Redirect": target})
    return redirect(target, status=303)


def page(*, roles: tuple[str, ...] = ADMIN, public: bool = False) -> Callable:
    """Declare a console page or fragment: fn(request, ctx, **path params) -> HTTPResponse.
    public: the sign-in pages (no session; CSRF material from a pre-session cookie). Otherwise a live
    session whose user holds an operator role and one of roles is required."""

    def deco(fn: Callable) -> Callable:
        @wraps(fn)
        async def handler(request: Request, **kwargs: Any) -> HTTPResponse:
            # Reads take a turn (KAZUO_CONSOLE_PAGES_AT_ONCE); actions, which may wait on WeChat or
            # Aliyun, and the sign-in pages do not.
            if public or request.method != "GET":
                return await serve(request, **kwargs)
            async with pools.semaphore("console_pages", runtime.settings().console_pages_at_once):
                return await serve(request, **kwargs)

        async def serve(request: Request, **kwargs: Any) -> HTTPResponse:
            ctx = Ctx(request)
            if public:
                material = request.cookies.get(sessions.PRE_COOKIE)
                if not material or len(material) > 100:
                    material = ctx.new_pre = secrets.token_urlsafe(24)
                ctx.csrf = sessions.csrf_token(material)
            else:
                material = request.cookies.get(sessions.COOKIE)
                session = await sessions.load(material)
                if session is None:
                    return _to_login(request, "expired" if material else "signin")
                try:
                    ctx.principal = await load_principal(session.user_id, session.token_version)
                except Unauthorized:
                    await sessions.destroy(material)
                    return _to_login(request, "revoked")
                ctx.csrf = sessions.csrf_token(material)
                ctx.data["me_name"] = session.name
                if not is_operator(ctx.principal):
                    return flash(ctx, messages.NO_OPERATOR_ROLE, status=403)
                if roles and not any(r in ctx.principal.roles for r in roles):
                    return flash(ctx, messages.NEEDS_ROLE.format(
                        "、".join(ROLE_NAMES.get(r, r) for r in roles)), status=403)
            if request.method not in ("GET", "HEAD"):
                token = request.headers.get("x-csrf-token") or (request.form or {}).get("_csrf")
                if not sessions.csrf_ok(material, token):
                    return flash(ctx, messages.CSRF_FAILED, status=403)
            try:
                return await fn(request, ctx, **kwargs)
            except AppError as exc:
                return flash(ctx, messages.error_message(exc), status=exc.status)

        return handler

    return deco
