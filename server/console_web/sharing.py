"""The office's share attribution page (分享带来的订单): which shares brought orders in a date range, by
sharer, and the latest ones (one level: no commission is derived from it)."""
from __future__ import annotations

from sanic import Blueprint, Request

from server.console_web.web import Ctx, field_errors, page, parse
from server.kit.errors import ValidationFailed
from server.sharing import service as sharing
from server.sharing.schemas import AttributionQuery

bp = Blueprint("console_web_sharing", url_prefix="/console")


@bp.get("/shares")
@page()
async def shares(request: Request, ctx: Ctx):
    data = {k: v[0] for k, v in request.args.items() if k in ("from", "to")}
    errors: dict = {}
    try:
        f = parse(AttributionQuery, data)
        report = await sharing.report(f.from_, f.to)
    except ValidationFailed as exc:
        errors = {("from" if k == "from_" else k): v for k, v in field_errors(exc).items()}
        report = await sharing.report(None, None)
    return ctx.render("shares.html", r=report, errors=errors)
