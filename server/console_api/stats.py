"""County e-commerce office (admins): statistics for any date range against last year and the plan's
targets, exports, rollup re-runs, screen tokens; and the big-screen page (/screen) with its data."""
from __future__ import annotations

from datetime import date
from importlib import resources

from sanic import Blueprint, HTTPResponse, Request
from sanic.response import html, redirect

from server.kit import clock
from server.kit.auth import Role
from server.kit.errors import AppError
from server.kit.http import endpoint
from server.stats import exports, screen
from server.stats import service as stats
from server.stats.schemas import ExportQuery, RangeQuery, RollupIn, ScreenPageQuery, ScreenTokenIn

bp = Blueprint("console_stats")
ADMIN = (Role.admin,)
TAGS = ("console: statistics",)
P = "/api/v1/console/stats"
FILES = {"text/csv": {"schema": {"type": "string"}},
         exports.XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}}}
HTML = {"text/html": {"schema": {"type": "string"}}}


def _range(q: RangeQuery) -> tuple[date, date]:
    end = q.to or clock.local_today()
    start = q.from_ or end.replace(month=1, day=1)
    return start, end


@bp.get(f"{P}/summary")
@endpoint(summary="Every figure for a date range, vs the same period a year before and the plan's targets",
          roles=ADMIN, query=RangeQuery, response=dict, tags=TAGS, errors=(422,))
async def summary(request: Request, principal, query: RangeQuery):
    return await stats.summary(*_range(query))


@bp.get(f"{P}/daily")
@endpoint(summary="Headline figures day by day", roles=ADMIN, query=RangeQuery, response=list[dict], tags=TAGS,
          errors=(422,))
async def daily(request: Request, principal, query: RangeQuery):
    return await stats.daily_series(*_range(query))


@bp.get(f"{P}/coverage")
@endpoint(summary="Station coverage of towns, villages and poor villages vs the plan", roles=ADMIN,
          response=dict, tags=TAGS)
async def coverage(request: Request, principal):
    return await stats.coverage()


@bp.get(f"{P}/export/<table:str>")
@endpoint(summary="Export one table (or 'all' as xlsx) as CSV or xlsx", roles=ADMIN, query=ExportQuery,
          response_content=FILES, tags=TAGS, errors=(404, 422),
          description="tables: " + ", ".join(stats.EXPORTS), session_ok=True)
async def export(request: Request, principal, table: str, query: ExportQuery):
    start, end = _range(query)
    stats.check_range(start, end)
    name = f"kazuo-stats-{table}-{start.isoformat()}-{end.isoformat()}"
    if query.format == "csv":
        body, ctype = await exports.export_csv(table, start, end), exports.CSV_TYPE
    else:
        body, ctype = await exports.export_xlsx(table, start, end), exports.XLSX_TYPE
    return HTTPResponse(body, content_type=ctype, headers={
        "Content-Disposition": f'attachment; filename="{name}.{query.format}"'})


@bp.post(f"{P}/rollups")
@endpoint(summary="Recompute the daily rollups of a range of days (after a correction)", roles=ADMIN,
          body=RollupIn, response=dict, status=202, tags=TAGS, errors=(422,))
async def rollups(request: Request, principal, body: RollupIn):
    return {"days": await stats.rollup_range(body.from_, body.to)}


@bp.get(f"{P}/screen-tokens")
@endpoint(summary="The big screen's read-only tokens", roles=ADMIN, response=list[dict], tags=TAGS)
async def list_tokens(request: Request, principal):
    return await screen.list_tokens()


@bp.post(f"{P}/screen-tokens")
@endpoint(summary="Mint a read-only screen token (shown once)", roles=ADMIN, body=ScreenTokenIn, response=dict,
          status=201, tags=TAGS, errors=(422,))
async def mint_token(request: Request, principal, body: ScreenTokenIn):
    return await screen.mint(body.name, actor_id=principal.user_id)


@bp.delete(f"{P}/screen-tokens/<token_id:int>")
@endpoint(summary="Revoke a screen token", roles=ADMIN, response=dict, tags=TAGS, errors=(404,))
async def revoke_token(request: Request, principal, token_id: int):
    return await screen.revoke(token_id, actor_id=principal.user_id)


# ---- the big screen -------------------------------------------------------------------------------
def _page(name: str) -> str:
    return resources.files("server.stats").joinpath("static", name).read_text(encoding="utf-8")


_SECURITY = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
             "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                                        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
                                        "form-action 'none'; frame-ancestors 'none'"}


@bp.get("/screen")
@endpoint(summary="The big-screen dashboard page (1920×1080): admin login or ?token= a screen token",
          query=ScreenPageQuery, response_content=HTML, tags=TAGS, errors=(401,))
async def screen_page(request: Request, query: ScreenPageQuery):
    if query.token:
        # Take the credential once, keep it in an HttpOnly cookie, and drop it from the address bar.
        if not await screen.allowed(query.token):
            return html(_page("denied.html"), status=401, headers=_SECURITY)
        resp = redirect("/screen", headers=_SECURITY)
        long_lived = query.token.startswith(screen.PREFIX)
        resp.add_cookie(screen.COOKIE, query.token, path="/screen", httponly=True, samesite="Strict",
                        secure=request.scheme == "https", max_age=30 * 86400 if long_lived else None)
        return resp
    try:
        await screen.require(request.cookies.get(screen.COOKIE), request.headers.get("authorization"))
    except AppError:
        return html(_page("denied.html"), status=401, headers=_SECURITY)
    return html(_page("screen.html"), headers=_SECURITY)


@bp.get("/screen/data")
@endpoint(summary="The big screen's figures (polled): today's GMV, towns, live sessions, top products, "
                  "on-time rate, training", response=dict, tags=TAGS, errors=(401,))
async def screen_data(request: Request):
    await screen.require(request.cookies.get(screen.COOKIE), request.headers.get("authorization"))
    return await stats.screen_figures()
