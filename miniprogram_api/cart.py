"""The buyer's cart."""
from typing import Annotated

from pydantic import Field
from sanic import Blueprint, Request

from server.kit.http import endpoint
from server.kit.schemas import Schema
from server.orders import cart
from server.orders.cart import CartOut
from server.orders.schemas import Qty

bp = Blueprint("mp_cart", url_prefix="/api/v1/cart")
TAGS = ("cart",)


class CartAddIn(Schema):
    sku_id: Annotated[int, Field(ge=1, le=2**63 - 1)]
    quantity: Qty = 1


class CartSetIn(Schema):
    quantity: Annotated[int, Field(ge=1, le=10_000)]


@bp.get("")
@endpoint(summary="My cart, with current prices; unavailable lines flagged", auth="user", response=CartOut, tags=TAGS)
async def get_cart(request: Request, principal):
    return await cart.get_cart(principal.user_id)


@bp.post("/items")
@endpoint(summary="Add a SKU (adds to the quantity already there)", auth="user", body=CartAddIn,
          response=CartOut, tags=TAGS, errors=(404, 409))
async def add_item(request: Request, principal, body: CartAddIn):
    return await cart.set_quantity(principal.user_id, body.sku_id, body.quantity, add=True)


@bp.put("/items/<sku_id:int>")
@endpoint(summary="Set a SKU's quantity", auth="user", body=CartSetIn, response=CartOut, tags=TAGS,
          errors=(409,))
async def set_item(request: Request, principal, sku_id: int, body: CartSetIn):
    return await cart.set_quantity(principal.user_id, sku_id, body.quantity)


@bp.delete("/items/<sku_id:int>")
@endpoint(summary="Remove a SKU", auth="user", response=CartOut, tags=TAGS)
async def remove_item(request: Request, principal, sku_id: int):
    return await cart.remove(principal.user_id, sku_id)
