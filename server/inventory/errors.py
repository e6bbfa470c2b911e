"""Error codes of the stock (the strings clients see in error.code; the catalogue: /docs/error-codes),
and the inventory's one refusal: StockRefused (409), with a code that says which guard refused.

- `out_of_stock`: fewer sellable units (or live quota) than asked — checkout, a manual decrease, a
  quota taken from the shelf. It replaces `insufficient_stock`, which the merchant stock adjustment
  answered before (same meaning): sent as error.aliases for one release, listed in the README's
  changelog.
- `stock_inconsistent`: the books disagree — a SKU holds fewer reserved units than an order's goods
  that leave or go back to the shelf. The change is refused and its whole transaction rolls back, on
  every path (see server/inventory/__init__.py, "under-reserved")."""
from __future__ import annotations

from server.kit.errors import Conflict, DeclaredCode


class InventoryCode(DeclaredCode):
    OUT_OF_STOCK = "out_of_stock", 409, ("insufficient_stock",)
    STOCK_INCONSISTENT = "stock_inconsistent", 409


class StockRefused(Conflict):
    """A guarded stock change found too few units: nothing was changed."""

    @classmethod
    def out_of_stock(cls, sku_id: int, message: str = "not enough stock") -> "StockRefused":
        return cls(message, code=InventoryCode.OUT_OF_STOCK, details={"sku_id": sku_id})

    @classmethod
    def inconsistent(cls, sku_id: int, quantity: int) -> "StockRefused":
        return cls("the SKU's reserved stock is lower than the units moved; check the stock",
                   code=InventoryCode.STOCK_INCONSISTENT, details={"sku_id": sku_id, "quantity": quantity})
