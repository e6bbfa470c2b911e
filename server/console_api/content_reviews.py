"""The county office's JSON API for its own pages (内容) and for buyers' reviews (评价 moderation), #30.
The merchant's replies are in the merchant desk (/console/shop/ratings) and here for the app."""
from sanic import Blueprint, Request

from server.content import service as content
from server.content.schemas import ContentIn, ContentListQuery, ContentOut, ContentPage
from server.kit.auth import Role
from server.kit.http import endpoint
from server.reviews import service as reviews
from server.reviews.schemas import HideIn, ReplyIn, ReviewListQuery, ReviewOut, ReviewPage, SummaryQuery, SummaryRow

bp = Blueprint("console_content_reviews", url_prefix="/api/v1/console")
ADMIN = (Role.admin,)
TAGS = ("console: content and reviews",)


@bp.get("/content")
@endpoint(summary="Banners, announcements and articles, newest first", roles=ADMIN, query=ContentListQuery,
          response=ContentPage, tags=TAGS)
async def content_list(request: Request, principal, query: ContentListQuery):
    return await content.office_list(query)


@bp.post("/content")
@endpoint(summary="Write a banner, announcement or article (HTML sanitised; scheduled)", roles=ADMIN,
          body=ContentIn, response=ContentOut, status=201, tags=TAGS, errors=(422,))
async def content_create(request: Request, principal, body: ContentIn):
    return await content.create(principal.user_id, body)


@bp.get("/content/<item_id:int>")
@endpoint(summary="One content item", roles=ADMIN, response=ContentOut, tags=TAGS, errors=(404,))
async def content_get(request: Request, principal, item_id: int):
    return await content.get(item_id)


@bp.put("/content/<item_id:int>")
@endpoint(summary="Replace a content item", roles=ADMIN, body=ContentIn, response=ContentOut, tags=TAGS,
          errors=(404, 422))
async def content_update(request: Request, principal, item_id: int, body: ContentIn):
    return await content.update(principal.user_id, item_id, body)


@bp.get("/line-reviews")
@endpoint(summary="Buyers' reviews, newest first (held: waiting for a decision)", roles=ADMIN,
          query=ReviewListQuery, response=ReviewPage, tags=TAGS)
async def review_list(request: Request, principal, query: ReviewListQuery):
    return await reviews.office_reviews(query)


@bp.post("/line-reviews/<review_id:int>/hide")
@endpoint(summary="Hide a review with a reason (audited)", roles=ADMIN, body=HideIn, response=ReviewOut,
          tags=TAGS, errors=(404, 422))
async def review_hide(request: Request, principal, review_id: int, body: HideIn):
    return await reviews.hide(principal.user_id, review_id, body.reason)


@bp.post("/line-reviews/<review_id:int>/show")
@endpoint(summary="Show a held or hidden review (audited)", roles=ADMIN, response=ReviewOut, tags=TAGS,
          errors=(404,))
async def review_show(request: Request, principal, review_id: int):
    return await reviews.show(principal.user_id, review_id)


@bp.get("/line-reviews/summary")
@endpoint(summary="Ratings per merchant or per station (most reviewed first)", roles=ADMIN, query=SummaryQuery,
          response=list[SummaryRow], tags=TAGS, errors=(422,))
async def review_summary(request: Request, principal, query: SummaryQuery):
    return await reviews.summaries(query.subject)


@bp.post("/merchant-reviews/<review_id:int>/reply")
@endpoint(summary="Reply once to a review of my merchant's goods", roles=(Role.merchant,), body=ReplyIn,
          response=ReviewOut, tags=("merchant: reviews",), errors=(404, 409, 422))
async def review_reply(request: Request, principal, review_id: int, body: ReplyIn):
    return await reviews.reply(principal, review_id, body)


@bp.get("/merchant-reviews")
@endpoint(summary="Reviews of my merchants' goods, newest first", roles=(Role.merchant,), query=ReviewListQuery,
          response=ReviewPage, tags=("merchant: reviews",), errors=(404,))
async def merchant_list(request: Request, principal, query: ReviewListQuery):
    return await reviews.merchant_reviews(principal, query)
