"""Buyers' reviews (评价): review a completed order line, append once, photos; a product's reviews and
the ratings of products, merchants and stations on the storefront (#30)."""
from sanic import Blueprint, HTTPResponse, Request

from server.catalog.schemas import ImageOut
from server.kit.http import endpoint
from server.kit.schemas import PageQuery
from server.media import read_upload
from server.reviews import service as reviews
from server.reviews.schemas import (AppendIn, PendingLineOut, PublicReviewPage, PublicReviewQuery, RatingOut,
                                    ReviewIn, ReviewOut, ReviewPage)

bp = Blueprint("mp_reviews", url_prefix="/api/v1")
TAGS = ("reviews",)
MULTIPART = {"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
    "file": {"type": "string", "format": "binary"}}}}}


@bp.post("/review-photos")
@endpoint(summary="Upload a review photo (JPEG/PNG/WebP, checked by content)", auth="user", response=ImageOut,
          status=201, tags=TAGS, request_content=MULTIPART, errors=(413, 422, 429))
async def upload_photo(request: Request, principal):
    data, filename = read_upload(request, "file")
    return await reviews.upload_photo(principal.user_id, data, filename)


@bp.post("/order-lines/<line_id:int>/review")
@endpoint(summary="Review one of my completed order lines (once)", auth="user", body=ReviewIn,
          response=ReviewOut, status=201, tags=TAGS, errors=(404, 409, 422))
async def create(request: Request, principal, line_id: int, body: ReviewIn):
    return await reviews.create_review(principal.user_id, line_id, body)


@bp.get("/order-lines/<line_id:int>/review")
@endpoint(summary="My review of an order line", auth="user", response=ReviewOut, tags=TAGS, errors=(404,))
async def mine(request: Request, principal, line_id: int):
    return await reviews.my_review(principal.user_id, line_id)


@bp.post("/order-lines/<line_id:int>/review/append")
@endpoint(summary="Append to my review once (追评)", auth="user", body=AppendIn, response=ReviewOut,
          tags=TAGS, errors=(404, 409, 422))
async def append(request: Request, principal, line_id: int, body: AppendIn):
    return await reviews.append_review(principal.user_id, line_id, body)


@bp.get("/reviews/mine")
@endpoint(summary="My reviews, newest first", auth="user", query=PageQuery, response=ReviewPage, tags=TAGS)
async def my_reviews(request: Request, principal, query: PageQuery):
    return await reviews.my_reviews(principal.user_id, query.cursor, query.limit)


@bp.get("/reviews/pending")
@endpoint(summary="My completed lines waiting for a review (待评价)", auth="user",
          response=list[PendingLineOut], tags=TAGS)
async def pending(request: Request, principal):
    return [x.model_dump(mode="json") for x in await reviews.pending_lines(principal.user_id)]


@bp.get("/products/<product_id:int>/reviews")
@endpoint(summary="A product's reviews and rating, newest first", query=PublicReviewQuery,
          response=PublicReviewPage, tags=TAGS, errors=(422,))
async def product_reviews(request: Request, product_id: int, query: PublicReviewQuery):
    return HTTPResponse(await reviews.product_reviews(product_id, query), content_type="application/json")


@bp.get("/shops/<merchant_id:int>/rating")
@endpoint(summary="A merchant's rating from its buyers' reviews", response=RatingOut, tags=TAGS, errors=(404,))
async def merchant_rating(request: Request, merchant_id: int):
    return await reviews.rating_of("merchant", merchant_id)


@bp.get("/stations/<station_id:int>/rating")
@endpoint(summary="A station's rating from its buyers' reviews", response=RatingOut, tags=TAGS, errors=(404,))
async def station_rating(request: Request, station_id: int):
    return await reviews.rating_of("station", station_id)
