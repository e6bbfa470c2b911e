"""The office's statistics page (数据统计): the figures against the plan's targets and the daily series,
each drawn as a chart (vendored Chart.js, static/charts.js) over a table that carries the numbers for
reading and for print; export links that download with the session cookie; the big screen's tokens."""
from __future__ import annotations

import asyncio
from datetime import date

from pydantic import ConfigDict, Field
from sanic import Blueprint, Request

from server.console_web.web import Ctx, field_errors, page, parse
from server.kit import clock
from server.kit.errors import ValidationFailed
from server.kit.schemas import QuerySchema, Schema
from server.stats import screen
from server.stats import service as stats

bp = Blueprint("console_web_statistics", url_prefix="/console")


class RangeForm(QuerySchema):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    from_: date | None = Field(None, alias="from")
    to: date | None = None


class TokenForm(Schema):
    name: str = Field(min_length=1, max_length=64)


def chart_data(summary: dict, series: list[dict]) -> dict:
    """What static/charts.js draws (money in fen, as everywhere; the script shows yuan): the daily
    series, and each headline figure beside last year's and the target it is measured against."""
    return {
        "daily": {"labels": [d["day"] for d in series],
                  "gmv_fen": [d["gmv_fen"] for d in series], "orders": [d["orders"] for d in series]},
        "targets": {"labels": [r["label"] for r in summary["headline"]],
                    "gmv_fen": [r["gmv_fen"] for r in summary["headline"]],
                    "last_year_gmv_fen": [r["last_year_gmv_fen"] for r in summary["headline"]],
                    "target_gmv_fen": [r["target_gmv_fen"] for r in summary["headline"]]},
    }


async def _tokens_page(ctx: Ctx, minted: dict | None = None, errors: dict | None = None, form: dict | None = None):
    return ctx.render("_screen_tokens.html", tokens=await screen.list_tokens(), minted=minted,
                      errors=errors or {}, form=form or {})


@bp.get("/statistics")
@page()
async def statistics(request: Request, ctx: Ctx):
    data = {k: v[0] for k, v in request.args.items()}
    errors: dict = {}
    try:
        f = parse(RangeForm, data)
    except ValidationFailed as exc:
        errors = {("from" if k == "from_" else k): v for k, v in field_errors(exc).items()}
        f = RangeForm()
    end = f.to or clock.local_today()
    start = f.from_ or end.replace(month=1, day=1)
    summarise = stats.summary_cached
    try:
        stats.check_range(start, end)   # the month's series lies inside the range: one check for both
    except ValidationFailed as exc:
        errors = {"from": field_errors(exc).get("from") or next(iter(field_errors(exc).values()))}
        start, end, summarise = end.replace(month=1, day=1), end, stats.summary
    # side by side: each sequential read (Redis or SQL) is one more event-loop turn under load
    summary, series, tokens = await asyncio.gather(
        summarise(start, end), stats.daily_series(max(start, end.replace(day=1)), end), screen.list_tokens())
    return ctx.render("statistics.html", start=start, end=end, errors=errors, s=summary, series=series,
                      charts=chart_data(summary, series),
                      exports=stats.EXPORTS, tokens=tokens, minted=None, form={})


@bp.post("/statistics/screen-tokens")
@page()
async def mint_token(request: Request, ctx: Ctx):
    form = ctx.form()
    try:
        body = parse(TokenForm, form)
    except ValidationFailed as exc:
        return await _tokens_page(ctx, errors=field_errors(exc, {"name": "请填写大屏所在位置（1–64 个字）。"}), form=form)
    return await _tokens_page(ctx, minted=await screen.mint(body.name, actor_id=ctx.user_id))


@bp.post("/statistics/screen-tokens/<token_id:int>/revoke")
@page()
async def revoke_token(request: Request, ctx: Ctx, token_id: int):
    await screen.revoke(token_id, actor_id=ctx.user_id)
    return await _tokens_page(ctx)
