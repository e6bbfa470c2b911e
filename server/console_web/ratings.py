"""Buyers' reviews in the console (#30): the office's moderation (评价管理: hold, hide with a reason,
show again; audited) with the ratings per merchant and station, and the merchant's replies in its
workspace (/console/shop/ratings). A surface: every read and write goes through server.reviews with
the caller's principal; a review outside a merchant's scope is a 404, in pages and fragments alike."""
from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import Field
from sanic import Blueprint, Request

from server.console_web.web import Ctx, field_errors, filters, next_url, page, parse
from server.kit.errors import ValidationFailed
from server.kit.schemas import QuerySchema, Schema
from server.reviews import service as reviews
from server.reviews.schemas import ReplyIn, ReviewListQuery

bp = Blueprint("console_web_ratings", url_prefix="/console")
MERCHANT = ("merchant",)
PAGE_SIZE = 20
STATUS_LABELS = {"visible": "已展示", "held": "待审核（含敏感词）", "hidden": "已屏蔽"}


class RatingFilter(QuerySchema):
    status: Literal["visible", "held", "hidden"] | None = None
    merchant_id: int | None = Field(None, ge=1, le=2**63 - 1)
    cursor: str | None = Field(None, max_length=200)


class HideForm(Schema):
    reason: str = Field(min_length=1, max_length=200)


class ReplyForm(Schema):
    text: str = Field(min_length=1, max_length=500)


# ---- the office ---------------------------------------------------------------------------------
@bp.get("/ratings")
@page()
async def office_list(request: Request, ctx: Ctx):
    f, errors = filters(ctx, RatingFilter)
    result = await reviews.office_reviews(ReviewListQuery(status=f.status, merchant_id=f.merchant_id,
                                                          cursor=f.cursor, limit=PAGE_SIZE))
    return ctx.render("ratings.html", f=f, errors=errors, rows=result.items, labels=STATUS_LABELS,
                      next_href=next_url(result.next_cursor, request))


def _row(ctx: Ctx, r, notice: str = "", errors: dict | None = None, form: dict | None = None):
    return ctx.render("_rating_row.html", r=r, labels=STATUS_LABELS, notice=notice, errors=errors or {},
                      form=form or {})


@bp.post("/ratings/<review_id:int>/hide")
@page()
async def office_hide(request: Request, ctx: Ctx, review_id: int):
    form = ctx.form()
    try:
        reason = parse(HideForm, form).reason
    except ValidationFailed as exc:
        return _row(ctx, await reviews.get_review(review_id), errors=field_errors(exc), form=form)
    return _row(ctx, await reviews.hide(ctx.user_id, review_id, reason), notice="已屏蔽，买家和商品页不再展示。")


@bp.post("/ratings/<review_id:int>/show")
@page()
async def office_show(request: Request, ctx: Ctx, review_id: int):
    return _row(ctx, await reviews.show(ctx.user_id, review_id), notice="已展示，计入评分。")


@bp.get("/ratings/summary")
@page()
async def office_summary(request: Request, ctx: Ctx):
    # the two tables side by side: each sequential read is one more event-loop turn under load
    merchants, stations = await asyncio.gather(reviews.summaries("merchant"), reviews.summaries("station"))
    return ctx.render("ratings_summary.html", merchants=merchants, stations=stations)


# ---- the merchant's workspace --------------------------------------------------------------------
@bp.get("/shop/ratings")
@page(roles=MERCHANT)
async def merchant_list(request: Request, ctx: Ctx):
    f, errors = filters(ctx, RatingFilter)
    result = await reviews.merchant_reviews(ctx.principal, ReviewListQuery(
        status=f.status if f.status != "held" else None, merchant_id=f.merchant_id, cursor=f.cursor,
        limit=PAGE_SIZE))
    return ctx.render("mer_ratings.html", f=f, errors=errors, rows=result.items, labels=STATUS_LABELS,
                      summary=await reviews.merchant_summary(ctx.principal),
                      next_href=next_url(result.next_cursor, request))


@bp.post("/shop/ratings/<review_id:int>/reply")
@page(roles=MERCHANT)
async def merchant_reply(request: Request, ctx: Ctx, review_id: int):
    form = ctx.form()
    try:
        text = parse(ReplyForm, form).text
        r = await reviews.reply(ctx.principal, review_id, ReplyIn(text=text))
    except ValidationFailed as exc:
        return ctx.render("_mer_rating.html", r=await reviews.merchant_review(ctx.principal, review_id),
                          labels=STATUS_LABELS, errors=field_errors(exc), form=form)
    return ctx.render("_mer_rating.html", r=r, labels=STATUS_LABELS, errors={}, form={}, notice="已回复。")
