"""Sharing a product or a festival campaign (分享): the caller's share (scene, path), its poster PNG
with the mini-program code, and what a share code's scene opens (the product or campaign, and the
share id checkout takes)."""
from sanic import Blueprint, HTTPResponse, Request

from server.kit.http import endpoint
from server.sharing import service as sharing
from server.sharing.schemas import SceneOut, SceneQuery, ShareOut

bp = Blueprint("mp_share", url_prefix="/api/v1")
TAGS = ("sharing",)


@bp.post("/products/<product_id:int>/share")
@endpoint(summary="Share an on-sale product: my share's id, code scene, card path and poster URL",
          auth="user", response=ShareOut, tags=TAGS)
async def share_product(request: Request, principal, product_id: int):
    return await sharing.share_product(principal.user_id, product_id)


@bp.post("/campaigns/<campaign_id:int>/share")
@endpoint(summary="Share a published campaign (not ended): my share's id, code scene, card path and poster URL",
          auth="user", response=ShareOut, tags=TAGS, errors=(404, 409))
async def share_campaign(request: Request, principal, campaign_id: int):
    return await sharing.share_campaign(principal.user_id, campaign_id)


@bp.get("/shares/<share_id:int>/poster.png")
@endpoint(summary="My share's poster (PNG): photo, name, price, county brand and mini-program code",
          auth="user", response_content={"image/png": {}}, tags=TAGS, errors=(429, 502))
async def poster(request: Request, principal, share_id: int):
    png = await sharing.share_poster(principal.user_id, share_id)
    return HTTPResponse(png, content_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@bp.get("/share-scene")
@endpoint(summary="What a share code opens: the product, and the share id to send with checkout (share_id)",
          query=SceneQuery, response=SceneOut, tags=TAGS, errors=(422,))
async def resolve_scene(request: Request, query: SceneQuery):
    return await sharing.resolve_scene(query.scene)
