"""A merchant's freight: the county's template or its own within the office's limits."""
from sanic import Blueprint, Request

from server.freight import service as freight
from server.freight.schemas import MerchantFreightOut, TemplateIn
from server.kit.auth import Role
from server.kit.http import endpoint

bp = Blueprint("mp_merchant_freight", url_prefix="/api/v1/merchant/merchants")
MANAGERS = (Role.merchant, Role.station_staff)
TAGS = ("merchant",)


@bp.get("/<merchant_id:int>/freight")
@endpoint(summary="The freight template my shop's orders are priced by (mine or the county's)", roles=MANAGERS,
          response=MerchantFreightOut, tags=TAGS, errors=(404,))
async def get_freight(request: Request, principal, merchant_id: int):
    return await freight.scoped_freight(principal, merchant_id)


@bp.put("/<merchant_id:int>/freight")
@endpoint(summary="Set and use my own freight template (within the office's limits)", roles=MANAGERS,
          body=TemplateIn, response=MerchantFreightOut, tags=TAGS, errors=(404, 422))
async def set_freight(request: Request, principal, merchant_id: int, body: TemplateIn):
    return await freight.scoped_set_template(principal, merchant_id, body)


@bp.delete("/<merchant_id:int>/freight")
@endpoint(summary="Go back to the county's freight template", roles=MANAGERS, response=MerchantFreightOut,
          tags=TAGS, errors=(404,))
async def use_county(request: Request, principal, merchant_id: int):
    return await freight.scoped_use_county(principal, merchant_id)
