"""The buyer's address book (收货地址) and the region picker (省/市/县/乡镇)."""
from sanic import Blueprint, Request

from server.addresses import service as addresses
from server.addresses.schemas import AddressBody, AddressOut, RegionOut
from server.kit.http import endpoint
from server.orders import pricing
from server.orders.schemas import CheckoutIn

bp = Blueprint("mp_addresses", url_prefix="/api/v1")
TAGS = ("addresses",)


@bp.get("/addresses")
@endpoint(summary="My saved addresses, the default first (phones masked)", auth="user",
          response=list[AddressOut], tags=TAGS)
async def list_addresses(request: Request, principal):
    return [a.model_dump(mode="json") for a in await addresses.list_addresses(principal.user_id)]


@bp.post("/addresses")
@endpoint(summary="Save an address (the first one becomes the default)", auth="user", body=AddressBody,
          response=AddressOut, status=201, tags=TAGS, errors=(409,))
async def create_address(request: Request, principal, body: AddressBody):
    return await addresses.create_address(principal.user_id, body)


@bp.get("/addresses/<address_id:int>")
@endpoint(summary="One of my addresses (the phone whole, for editing)", auth="user", response=AddressOut,
          tags=TAGS, errors=(404,))
async def get_address(request: Request, principal, address_id: int):
    return await addresses.get_address(principal.user_id, address_id)


@bp.put("/addresses/<address_id:int>")
@endpoint(summary="Replace one of my addresses", auth="user", body=AddressBody, response=AddressOut,
          tags=TAGS, errors=(404,))
async def update_address(request: Request, principal, address_id: int, body: AddressBody):
    return await addresses.update_address(principal.user_id, address_id, body)


@bp.post("/addresses/<address_id:int>/default")
@endpoint(summary="Make one of my addresses the default", auth="user", response=AddressOut, tags=TAGS,
          errors=(404,))
async def set_default(request: Request, principal, address_id: int):
    return await addresses.set_default(principal.user_id, address_id)


@bp.delete("/addresses/<address_id:int>")
@endpoint(summary="Delete one of my addresses", auth="user", status=204, tags=TAGS, errors=(404,))
async def delete_address(request: Request, principal, address_id: int):
    await addresses.delete_address(principal.user_id, address_id)


@bp.get("/regions")
@endpoint(summary="The provinces, for the address picker",
          response=list[RegionOut], tags=TAGS)
async def provinces(request: Request):
    return [r.model_dump() for r in addresses.region_children("")]


@bp.get("/regions/<code:str>")
@endpoint(summary="The regions directly under a region code", response=list[RegionOut], tags=TAGS,
          errors=(404,))
async def region_children(request: Request, code: str):
    return [r.model_dump() for r in addresses.region_children(code)]


@bp.post("/freight/quote")
@endpoint(summary="The freight a checkout with this body would charge now (per merchant)", auth="user",
          body=CheckoutIn, response=pricing.FreightQuoteOut, tags=TAGS, errors=(404, 422))
async def freight_quote(request: Request, principal, body: CheckoutIn):
    return await pricing.quote(principal.user_id, body)
