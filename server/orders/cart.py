"""The buyer's cart (购物车): SKUs and quantities only; prices and availability are recomputed on
every read, and lines whose product went off sale or out of stock are flagged."""
from __future__ import annotations

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from server.kit import runtime
from server.kit.errors import Conflict, NotFound, ValidationFailed
from server.kit.schemas import Out
from server.models.cart import CartItem
from server.models.catalog import Sku
from server.orders.errors import OrderCode


class CartLineOut(Out):
    sku_id: int
    product_id: int
    merchant_id: int
    product_name: str
    sku_spec: str
    image: str
    unit_price: int
    quantity: int
    amount: int
    available: bool
    problem: str | None = None  # off_sale | out_of_stock | insufficient_stock


class CartOut(Out):
    lines: list[CartLineOut]
    total_fen: int
    available_count: int


async def _sellable_sku(sku_id: int) -> Sku:
    sku = await Sku.filter(id=sku_id).select_related("product", "product__merchant").first()
    if sku is None:
        raise NotFound("SKU not found")
    if not sku.is_active or sku.product.status != "on_sale" or sku.product.merchant.status != "active":
        raise Conflict("this product is not on sale", code=OrderCode.NOT_ON_SALE)
    return sku


async def get_cart(user_id: int) -> CartOut:
    """The cart with current prices; unavailable lines are flagged and not counted in the total."""
    items = await CartItem.filter(user_id=user_id).order_by("id").select_related(
        "sku", "sku__product", "sku__product__merchant")
    lines = []
    for it in items:
        sku, p = it.sku, it.sku.product
        problem = None
        if not sku.is_active or p.status != "on_sale" or p.merchant.status != "active":
            problem = "off_sale"
        elif sku.stock <= 0:
            problem = "out_of_stock"
        elif sku.stock < it.quantity:
            problem = "insufficient_stock"
        image = p.images[0] if p.images and isinstance(p.images[0], str) else ""
        lines.append(CartLineOut(sku_id=sku.id, product_id=p.id, merchant_id=p.merchant_id, product_name=p.name,
                                 sku_spec=sku.spec, image=image, unit_price=sku.price, quantity=it.quantity,
                                 amount=sku.price * it.quantity, available=problem is None, problem=problem))
    ok = [x for x in lines if x.available]
    return CartOut(lines=lines, total_fen=sum(x.amount for x in ok), available_count=len(ok))


async def set_quantity(user_id: int, sku_id: int, quantity: int, *, add: bool = False) -> CartOut:
    """Put a SKU in the cart with this quantity (add=True adds to what is there)."""
    s = runtime.settings()
    await _sellable_sku(sku_id)
    if quantity > s.order_max_quantity:
        raise ValidationFailed.field("quantity", f"at most {s.order_max_quantity}")
    updated = 0
    if add:
        updated = await CartItem.filter(user_id=user_id, sku_id=sku_id,
                                        quantity__lte=s.order_max_quantity - quantity).update(
            quantity=F("quantity") + quantity)
        if not updated and await CartItem.filter(user_id=user_id, sku_id=sku_id).exists():
            raise ValidationFailed.field("quantity", f"at most {s.order_max_quantity} in all")
    else:
        updated = await CartItem.filter(user_id=user_id, sku_id=sku_id).update(quantity=quantity)
    if not updated:
        if await CartItem.filter(user_id=user_id).count() >= s.cart_max_items:
            raise Conflict(f"the cart holds at most {s.cart_max_items} items", code=OrderCode.CART_FULL)
        try:
            await CartItem.create(user_id=user_id, sku_id=sku_id, quantity=quantity)
        except IntegrityError:  # a concurrent add created it: retry as an update
            await CartItem.filter(user_id=user_id, sku_id=sku_id).update(quantity=quantity)
    return await get_cart(user_id)


async def remove(user_id: int, sku_id: int) -> CartOut:
    """Take a SKU out of the cart (absent is not an error)."""
    await CartItem.filter(user_id=user_id, sku_id=sku_id).delete()
    return await get_cart(user_id)
