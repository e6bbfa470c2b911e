"""Coupons (领券, my coupons) and festival campaign pages for mini-program users (issue #28).
Spending a coupon is part of checkout: POST /api/v1/orders with coupon_ids."""
from sanic import Blueprint, HTTPResponse, Request

from server.kit.http import endpoint
from server.promotions import campaigns
from server.promotions import service as promotions
from server.promotions.schemas import CampaignPageOut, CouponListQuery, CouponOut, MyCouponsQuery, UserCouponOut

bp = Blueprint("mp_promotions", url_prefix="/api/v1")
TAGS = ("promotions",)


@bp.get("/coupons")
@endpoint(summary="Coupons being handed out now (those that could apply to a product or a shop)",
          query=CouponListQuery, response=list[CouponOut], tags=TAGS, errors=(404,))
async def claimable(request: Request, query: CouponListQuery):
    return [c.model_dump(mode="json") for c in
            await promotions.claimable(product_id=query.product_id, merchant_id=query.merchant_id)]


@bp.post("/coupons/<coupon_id:int>/claim")
@endpoint(summary="Claim a coupon (领券): within its window, its total and the per-person limit",
          auth="user", response=UserCouponOut, status=201, tags=TAGS, errors=(404, 409))
async def claim(request: Request, principal, coupon_id: int):
    return await promotions.claim(principal.user_id, coupon_id)


@bp.get("/me/coupons")
@endpoint(summary="My coupons, newest first, each saying whether it can be used now",
          auth="user", query=MyCouponsQuery, response=list[UserCouponOut], tags=TAGS)
async def my_coupons(request: Request, principal, query: MyCouponsQuery):
    return [c.model_dump(mode="json") for c in await promotions.my_coupons(principal.user_id, query.status)]


@bp.get("/campaigns/running")
@endpoint(summary="The festival campaign running now (campaign null when none): products and coupons",
          response=CampaignPageOut, tags=TAGS)
async def running(request: Request):
    return HTTPResponse(await campaigns.running_page(), content_type="application/json")


@bp.get("/campaigns/<campaign_id:int>")
@endpoint(summary="A published festival campaign's page", response=CampaignPageOut, tags=TAGS, errors=(404,))
async def campaign(request: Request, campaign_id: int):
    return HTTPResponse(await campaigns.campaign_page(campaign_id), content_type="application/json")
