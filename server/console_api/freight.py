"""The county's freight template (运费模板), set by the office."""
from sanic import Blueprint, Request

from server.freight import service as freight
from server.freight.schemas import MerchantTemplateList, MerchantTemplateQuery, TemplateIn, TemplateOut
from server.kit.auth import Role
from server.kit.http import endpoint

bp = Blueprint("console_freight", url_prefix="/api/v1/console/freight")
ADMIN = (Role.admin,)
TAGS = ("console: freight",)


@bp.get("/county")
@endpoint(summary="The county's freight template (null until set: every shipment free)", roles=ADMIN,
          response=TemplateOut | None, tags=TAGS)
async def get_county(request: Request, principal):
    return await freight.county_template()


@bp.put("/county")
@endpoint(summary="Set the county's freight template (zones by region, by weight or piece, cold chain, free above)",
          roles=ADMIN, body=TemplateIn, response=TemplateOut, tags=TAGS, errors=(422,))
async def set_county(request: Request, principal, body: TemplateIn):
    return await freight.set_county_template(body, actor_id=principal.user_id)


# ---- merchants' own templates (the office's view, with the limits check) -------------------------
@bp.get("/merchants")
@endpoint(summary="Merchants' own freight templates, each checked against the office's limits", roles=ADMIN,
          query=MerchantTemplateQuery, response=MerchantTemplateList, tags=TAGS, errors=(422,))
async def merchant_templates(request: Request, principal, query: MerchantTemplateQuery):
    return await freight.merchant_templates(query.cursor, query.limit, over_only=query.over_only)
