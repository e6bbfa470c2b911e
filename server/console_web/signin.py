"""Sign-in (phone + SMS code, or a scan with the mini-program) and sign-out of the web console."""
from __future__ import annotations

from sanic import Blueprint, HTTPResponse, Request
from sanic.response import raw, redirect

from server.accounts import console as signin
from server.kit import audit, sessions
from server.kit.auth import Principal
from server.kit.errors import AppError, ValidationFailed
from server.kit.schemas import Phone, Schema
from server.console_web import messages
from server.console_web.web import Ctx, field_errors, flash, page, parse

bp = Blueprint("console_web_signin", url_prefix="/console")


class PhoneIn(Schema):
    phone: Phone


class CodeIn(Schema):
    phone: Phone
    code: str

    model_config = {"str_strip_whitespace": True}


def _next(request: Request) -> str:
    target = request.args.get("next") or (request.form or {}).get("next") or "/console/"
    # Only the console's own pages: never an open redirect.
    if not target.startswith("/console/") or target.startswith("//") or "\\" in target:
        return "/console/"
    return target


def _with_session(ctx: Ctx, sid: str, target: str) -> HTTPResponse:
    if ctx.htmx:
        response = HTTPResponse(status=200, headers={"HX-Redirect": target})
    else:
        response = redirect(target, status=303)
    response.add_cookie(sessions.COOKIE, sid, path="/", httponly=True, samesite="Strict",
                        secure=sessions.cookie_secure(),
                        max_age=ctx.request.app.ctx.settings.console_session_absolute_seconds)
    return response


async def _begin(ctx: Ctx, signed: tuple[Principal, int]) -> HTTPResponse:
    """A new session id at every sign-in (the old one, if any, ends)."""
    principal, tv = signed
    await sessions.destroy(ctx.request.cookies.get(sessions.COOKIE))
    sid = await sessions.create(principal.user_id, tv, await signin.display_name(principal.user_id))
    return _with_session(ctx, sid, _next(ctx.request))


@bp.get("/login")
@page(public=True)
async def login_page(request: Request, ctx: Ctx):
    if await sessions.load(request.cookies.get(sessions.COOKIE)) is not None and "reason" not in request.args:
        return redirect(_next(request), status=303)
    reason = messages.SESSION_REASONS.get(request.args.get("reason", ""), "")
    return ctx.render("login.html", reason=reason, next=_next(request), form={}, errors={})


@bp.post("/login/code")
@page(public=True)
async def send_code(request: Request, ctx: Ctx):
    form = ctx.form()
    try:
        body = parse(PhoneIn, form)
        seconds = await signin.send_signin_code(body.phone, audit.client_ip(request))
    except ValidationFailed as exc:
        return ctx.render("_code_sent.html", errors=field_errors(exc))
    except AppError as exc:
        return ctx.render("_code_sent.html", errors={"phone": messages.error_message(exc)})
    return ctx.render("_code_sent.html", errors={}, minutes=seconds // 60, headers={"X-Kz-Sent": "1"})


@bp.post("/login")
@page(public=True)
async def login(request: Request, ctx: Ctx):
    form = ctx.form()
    try:
        body = parse(CodeIn, form)
        if not body.code.isdigit() or len(body.code) != 6:
            raise ValidationFailed.field("code", "a 6-digit code is required")
        signed = await signin.sign_in_by_code(body.phone, body.code, audit.client_ip(request))
    except ValidationFailed as exc:
        return ctx.render("_login_form.html", form=form, errors=field_errors(exc), next=_next(request))
    return await _begin(ctx, signed)


@bp.get("/login/scan")
@page(public=True)
async def scan_panel(request: Request, ctx: Ctx):
    ticket = await signin.new_scan_ticket(audit.client_ip(request))
    return ctx.render("_scan.html", ticket=ticket.ticket, seconds=ticket.expires_in, next=_next(request))


@bp.get("/login/scan/<ticket:str>/code.png")
@page(public=True)
async def scan_png(request: Request, ctx: Ctx, ticket: str):
    return raw(await signin.scan_code_png(ticket), content_type="image/png",
               headers={"Cache-Control": "no-store"})


@bp.get("/login/scan/<ticket:str>")
@page(public=True)
async def scan_poll(request: Request, ctx: Ctx, ticket: str):
    try:
        signed = await signin.take_scan(ticket)
    except AppError as exc:
        if exc.code == "not_operator":
            return flash(ctx, messages.NO_OPERATOR_ROLE, status=403)
        return ctx.render("_scan_expired.html", next=_next(request))
    if signed is None:
        return HTTPResponse(status=204)   # htmx leaves the page as it is and polls again
    return await _begin(ctx, signed)


@bp.post("/logout")
async def logout(request: Request):
    """Sign out: any live session may end itself (also one whose roles were taken away meanwhile)."""
    sid = request.cookies.get(sessions.COOKIE)
    session = await sessions.load(sid)
    if session is not None:
        token = request.headers.get("x-csrf-token") or (request.form or {}).get("_csrf")
        if not sessions.csrf_ok(sid, token):
            return flash(Ctx(request), messages.CSRF_FAILED, status=403)
        await signin.sign_out(session.user_id)
        await sessions.destroy(sid)
    response = redirect("/console/login?reason=signout", status=303)
    response.delete_cookie(sessions.COOKIE, path="/")
    return response
