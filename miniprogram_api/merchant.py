"""Merchant self-service: apply to sell, manage products, SKUs, stock and images, follow reviews.
Every object is checked against the caller's merchants (member, or staff of the operating station):
anything else is a 404."""
from sanic import Blueprint, Request

from server.catalog import service as catalog
from server.catalog.schemas import (ImageOut, MerchantProductOut, MerchantProductsQuery, ProductIn,
                                    ProductPatch, ReviewOut, SkuIn, SkuOut, SkuPatch, StockAdjustIn)
from server.inventory.schemas import StockMovesPage, StockMovesQuery
from server.kit.auth import Role
from server.kit.errors import NotFound
from server.kit.http import endpoint
from server.kit.schemas import Page
from server.media import IMAGE_KINDS, read_upload, store_upload
from server.merchants import service as merchants
from server.merchants.schemas import ApplicationIn, MerchantOut, SmsCodeIn, SmsCodeOut
from server.kit import runtime

bp = Blueprint("mp_merchant", url_prefix="/api/v1/merchant")
TAGS = ("merchant",)
MANAGERS = (Role.merchant, Role.station_staff)
MULTIPART = {"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
    "file": {"type": "string", "format": "binary"}}}}}


@bp.post("/applications/sms-code")
@endpoint(summary="Send the SMS code for an application's contact phone", auth="user", body=SmsCodeIn,
          response=SmsCodeOut, tags=TAGS, errors=(429,))
async def application_code(request: Request, principal, body: SmsCodeIn):
    return SmsCodeOut(expires_in=await merchants.send_application_code(body.phone))


@bp.post("/applications")
@endpoint(summary="Apply to become a merchant (or, as station staff, for a household: 代卖)",
          auth="user", body=ApplicationIn, response=MerchantOut, status=201, tags=TAGS,
          errors=(404, 409, 422))
async def apply(request: Request, principal, body: ApplicationIn):
    return await merchants.apply(principal, body)


@bp.get("/applications")
@endpoint(summary="My applications and their outcome", auth="user", response=list[MerchantOut], tags=TAGS)
async def applications(request: Request, principal):
    return [m.model_dump(mode="json") for m in await merchants.my_applications(principal)]


@bp.get("/merchants")
@endpoint(summary="Merchants I manage", roles=MANAGERS, response=list[MerchantOut], tags=TAGS)
async def my_merchants(request: Request, principal):
    return [m.model_dump(mode="json") for m in await merchants.my_merchants(principal)]


@bp.get("/merchants/<merchant_id:int>/products")
@endpoint(summary="A merchant's products (all states)", roles=MANAGERS, query=MerchantProductsQuery,
          response=Page[MerchantProductOut], tags=TAGS, errors=(404,))
async def list_products(request: Request, principal, merchant_id: int, query: MerchantProductsQuery):
    return await catalog.list_products(principal, merchant_id, query.status, query.cursor, query.limit)


@bp.post("/merchants/<merchant_id:int>/products")
@endpoint(summary="Create a draft product with SKUs", roles=MANAGERS, body=ProductIn,
          response=MerchantProductOut, status=201, tags=TAGS, errors=(404, 409, 422))
async def create_product(request: Request, principal, merchant_id: int, body: ProductIn):
    return await catalog.create_product(principal, merchant_id, body)


@bp.get("/products/<product_id:int>")
@endpoint(summary="One of my products, with review outcome and pending changes", roles=MANAGERS,
          response=MerchantProductOut, tags=TAGS, errors=(404,))
async def get_product(request: Request, principal, product_id: int):
    return await catalog.get_product(principal, product_id)


@bp.patch("/products/<product_id:int>")
@endpoint(summary="Edit a product (sensitive changes to an on-sale product wait for review)",
          roles=MANAGERS, body=ProductPatch, response=MerchantProductOut, tags=TAGS, errors=(404, 409, 422))
async def update_product(request: Request, principal, product_id: int, body: ProductPatch):
    return await catalog.update_product(principal, product_id, body)


@bp.post("/products/<product_id:int>/submit")
@endpoint(summary="Submit for review", roles=MANAGERS, response=MerchantProductOut, tags=TAGS,
          errors=(404, 409, 422))
async def submit(request: Request, principal, product_id: int):
    return await catalog.submit_product(principal, product_id)


@bp.post("/products/<product_id:int>/off-shelf")
@endpoint(summary="Stop selling (下架)", roles=MANAGERS, response=MerchantProductOut, tags=TAGS,
          errors=(404, 409))
async def off_shelf(request: Request, principal, product_id: int):
    return await catalog.take_off_shelf(principal, product_id)


@bp.get("/products/<product_id:int>/reviews")
@endpoint(summary="Review history and outcomes", roles=MANAGERS, response=list[ReviewOut], tags=TAGS,
          errors=(404,))
async def reviews(request: Request, principal, product_id: int):
    return [r.model_dump(mode="json") for r in await catalog.product_reviews(principal, product_id)]


@bp.post("/products/<product_id:int>/skus")
@endpoint(summary="Add a SKU", roles=MANAGERS, body=SkuIn, response=MerchantProductOut, status=201,
          tags=TAGS, errors=(404, 409, 422))
async def add_sku(request: Request, principal, product_id: int, body: SkuIn):
    return await catalog.add_sku(principal, product_id, body)


@bp.patch("/skus/<sku_id:int>")
@endpoint(summary="Edit a SKU (a price cut of more than half on sale waits for review)", roles=MANAGERS,
          body=SkuPatch, response=MerchantProductOut, tags=TAGS, errors=(404, 409, 422))
async def update_sku(request: Request, principal, sku_id: int, body: SkuPatch):
    return await catalog.update_sku(principal, sku_id, body)


@bp.post("/skus/<sku_id:int>/stock")
@endpoint(summary="Add or remove stock", roles=MANAGERS, body=StockAdjustIn, response=SkuOut, tags=TAGS,
          errors=(404, 409, 422))
async def adjust_stock(request: Request, principal, sku_id: int, body: StockAdjustIn):
    return await catalog.adjust_stock(principal, sku_id, body.delta)


@bp.get("/skus/<sku_id:int>/stock-moves")
@endpoint(summary="The stock journal (库存流水) of a SKU: every change, why and what caused it, newest first",
          roles=MANAGERS, query=StockMovesQuery, response=StockMovesPage, tags=TAGS, errors=(404, 422))
async def stock_moves(request: Request, principal, sku_id: int, query: StockMovesQuery):
    return await catalog.sku_stock_moves(principal, sku_id, query.cursor, query.limit)


@bp.post("/merchants/<merchant_id:int>/images")
@endpoint(summary="Upload a product image (JPEG/PNG/WebP, checked by content)", roles=MANAGERS,
          response=ImageOut, status=201, tags=TAGS, request_content=MULTIPART, errors=(404, 413, 422))
async def upload_image(request: Request, principal, merchant_id: int):
    await catalog.merchant_in_scope(principal, merchant_id)
    return await _store_image(request)


@bp.post("/images")
@endpoint(summary="Upload a product image for my (only) merchant", roles=MANAGERS, response=ImageOut,
          status=201, tags=TAGS, request_content=MULTIPART, errors=(404, 413, 422))
async def upload_image_default(request: Request, principal):
    if not principal.merchant_ids and not principal.station_ids:
        raise NotFound("merchant not found")
    mine = await merchants.my_merchants(principal)
    if not any(m.status == "active" for m in mine):
        raise NotFound("merchant not found")
    return await _store_image(request)


async def _store_image(request: Request) -> ImageOut:
    data, filename = read_upload(request, "file")
    stored = await store_upload(data, kind="product", filename=filename, allowed=IMAGE_KINDS,
                                max_bytes=runtime.settings().media_image_max_bytes)
    return ImageOut(url=stored.url, width=stored.width or 0, height=stored.height or 0, size=stored.size)
