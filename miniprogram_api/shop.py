"""The pavilion storefront (anonymous or logged in): home, categories, listing and search, detail,
shop pages. Responses are cached JSON bytes (server.catalog.query)."""
from sanic import Blueprint, HTTPResponse, Request

from server.catalog import query
from server.catalog.schemas import (CategoryNode, HomeOut, ProductCardPage, ProductDetail, ProductListQuery,
                                    ShopOut)
from server.kit.http import endpoint
from server.catalog import query as q

bp = Blueprint("mp_shop", url_prefix="/api/v1")
TAGS = ("shop",)


def _json(body: bytes) -> HTTPResponse:
    return HTTPResponse(body, content_type="application/json")




@bp.get("/home")
@endpoint(summary="Pavilion home: featured products per category and regional-brand products",
          response=HomeOut, tags=TAGS)
async def home(request: Request):
    return _json(await query.home())


@bp.get("/categories")
@endpoint(summary="The category tree", response=list[CategoryNode], tags=TAGS)
async def categories(request: Request):
    return _json(await query.category_tree())


@bp.get("/products")
@endpoint(summary="List or search products (keyset pages; stock as in_stock/low/sold_out)",
          query=ProductListQuery, response=ProductCardPage, tags=TAGS, errors=(422,))
async def products(request: Request, query: ProductListQuery):
    return _json(await q.list_products(query))


@bp.get("/products/<product_id:int>")
@endpoint(summary="A product with its SKUs, certificates and stock states", response=ProductDetail, tags=TAGS,
          errors=(404,))
async def product(request: Request, product_id: int):
    return _json(await query.product_detail(product_id))


@bp.get("/shops/<merchant_id:int>")
@endpoint(summary="A merchant's shop page with a page of their products", query=ProductListQuery,
          response=ShopOut, tags=TAGS, errors=(404, 422))
async def shop(request: Request, merchant_id: int, query: ProductListQuery):
    return _json(await q.shop(merchant_id, query))
