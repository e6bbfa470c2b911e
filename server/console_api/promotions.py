"""The county office's promotions over JSON (#28): platform coupons (list, create, pause / resume; the
shops' coupons are listed too) and festival campaigns (list, create, edit, publish, withdraw, figures).
The same services as the console pages /console/coupons and /console/campaigns."""
from sanic import Blueprint, Request

from server.kit.auth import Role
from server.kit.http import endpoint
from server.promotions import campaigns
from server.promotions import service as promotions
from server.promotions.schemas import (CampaignFiguresOut, CampaignIn, CampaignOut, CampaignsOut, CouponIn,
                                       CouponOut, CouponsOut, CouponStatusIn, OfficeCouponQuery)

bp = Blueprint("console_promotions", url_prefix="/api/v1/console")
ADMIN = (Role.admin,)
TAGS = ("console: promotions",)


@bp.get("/coupons")
@endpoint(summary="Coupons, newest first (funder=platform: the office's; merchant: the shops')", roles=ADMIN,
          query=OfficeCouponQuery, response=CouponsOut, tags=TAGS)
async def coupon_list(request: Request, principal, query: OfficeCouponQuery):
    return CouponsOut(items=await promotions.list_coupons(platform_only=query.funder == "platform",
                                                         shops_only=query.funder == "merchant"))


@bp.post("/coupons")
@endpoint(summary="Create a platform-funded coupon (money in fen, rate_bp 8500 = 85折)", roles=ADMIN,
          body=CouponIn, response=CouponOut, status=201, tags=TAGS)
async def coupon_create(request: Request, principal, body: CouponIn):
    return await promotions.create_coupon(body, actor_id=principal.user_id)


@bp.get("/coupons/<coupon_id:int>")
@endpoint(summary="One coupon", roles=ADMIN, response=CouponOut, tags=TAGS, errors=(404,))
async def coupon_get(request: Request, principal, coupon_id: int):
    return await promotions.get_coupon(coupon_id)


@bp.post("/coupons/<coupon_id:int>/status")
@endpoint(summary="Pause (paused) or resume (active) a coupon's claims (claimed ones stay usable)", roles=ADMIN,
          body=CouponStatusIn, response=CouponOut, tags=TAGS, errors=(404,))
async def coupon_status(request: Request, principal, coupon_id: int, body: CouponStatusIn):
    return await promotions.set_coupon_status(coupon_id, body.status, actor_id=principal.user_id)


@bp.get("/campaigns")
@endpoint(summary="Festival campaigns, latest start first", roles=ADMIN, response=CampaignsOut, tags=TAGS)
async def campaign_list(request: Request, principal):
    return CampaignsOut(items=await campaigns.list_campaigns())


@bp.post("/campaigns")
@endpoint(summary="Create a campaign as a draft (publish it to show it)", roles=ADMIN, body=CampaignIn,
          response=CampaignOut, status=201, tags=TAGS)
async def campaign_create(request: Request, principal, body: CampaignIn):
    return await campaigns.create_campaign(body, actor_id=principal.user_id)


@bp.get("/campaigns/<campaign_id:int>")
@endpoint(summary="One campaign", roles=ADMIN, response=CampaignOut, tags=TAGS, errors=(404,))
async def campaign_get(request: Request, principal, campaign_id: int):
    return await campaigns.get_campaign(campaign_id)


@bp.put("/campaigns/<campaign_id:int>")
@endpoint(summary="Edit a campaign that has not ended (a published one may not overlap another)", roles=ADMIN,
          body=CampaignIn, response=CampaignOut, tags=TAGS, errors=(404, 409))
async def campaign_update(request: Request, principal, campaign_id: int, body: CampaignIn):
    return await campaigns.update_campaign(campaign_id, body, actor_id=principal.user_id)


@bp.post("/campaigns/<campaign_id:int>/publish")
@endpoint(summary="Publish a draft (409 campaign_overlap naming the published campaign it overlaps)",
          roles=ADMIN, response=CampaignOut, tags=TAGS, errors=(404, 409))
async def campaign_publish(request: Request, principal, campaign_id: int):
    return await campaigns.publish(campaign_id, actor_id=principal.user_id)


@bp.post("/campaigns/<campaign_id:int>/withdraw")
@endpoint(summary="Take a published campaign down (its figures stay)", roles=ADMIN, response=CampaignOut,
          tags=TAGS, errors=(404, 409))
async def campaign_withdraw(request: Request, principal, campaign_id: int):
    return await campaigns.withdraw(campaign_id, actor_id=principal.user_id)


@bp.get("/campaigns/<campaign_id:int>/figures")
@endpoint(summary="A campaign's orders, GMV (paid fen), coupons used and their saving", roles=ADMIN,
          response=CampaignFiguresOut, tags=TAGS, errors=(404,))
async def campaign_figures(request: Request, principal, campaign_id: int):
    return await campaigns.figures(campaign_id)
