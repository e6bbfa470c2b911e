"""The freight pricing step of checkout (运费): called once per checkout, after the lines are known
and before either writer (the PostgreSQL group-commit statement or the ORM) writes the order.

It resolves the delivery address (a saved address_id from the buyer's book, 404 for anyone else's,
or the address typed inline), prices the freight per merchant (server/freight: the merchant's own
template or the county's), and leaves on the new order what the writers store: the address snapshot,
shipping_fen and its split per merchant ({merchant_id, fen, carrier, template_id}); total_fen is
goods + shipping. Pickup at a station is free. Goods are priced here as the writers price them
(the catalogue price, or the source's when lower); on PostgreSQL the statement re-reads the price,
so a price changed in the same instant can move the free-above threshold by that change only."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.addresses import service as addresses
from server.freight import service as freight
from server.kit.errors import ValidationFailed
from server.kit.schemas import Out
from server.models.catalog import Sku
from server.orders import hooks
from server.orders.schemas import CheckoutIn


async def price_shipping(new: Any, conn: Any = None) -> None:
    """Fill new.address, new.shipping and new.shipping_split (new: orders.service._NewOrder)."""
    d = new.data
    address_id = getattr(d, "address_id", None)
    if d.fulfilment != "delivery":
        new.address, new.shipping, new.shipping_split = None, 0, []
        return
    if address_id is not None and d.address is not None:
        raise ValidationFailed.field("address_id", "a saved address_id or an address, not both")
    if address_id is not None:
        new.address = await addresses.order_snapshot(new.buyer_id, address_id, conn)
    elif d.address is None:
        raise ValidationFailed.field("address", "required for delivery (or address_id)")
    else:
        new.address = await addresses.inline_snapshot(d.address.model_dump(), conn)
    ids = [x.sku_id for x in d.lines]
    rows = {r["id"]: r for r in await Sku.filter(id__in=ids).using_db(conn).values(
        "id", "price", "weight_g", "cold_chain", "product__merchant_id")}
    items = []
    for i, x in enumerate(d.lines):
        r = rows.get(x.sku_id)
        if r is None:
            raise ValidationFailed.field(f"lines.{i}.sku_id", "no such SKU")
        unit = min(new.source.unit_prices.get(x.sku_id, r["price"]), r["price"])
        items.append(freight.Item(sku_id=x.sku_id, merchant_id=r["product__merchant_id"], quantity=x.quantity,
                                  unit_price=unit, weight_g=r["weight_g"], cold_chain=r["cold_chain"]))
    shipments = await freight.quote(new.address, items, conn)
    new.shipping = sum(s.fen for s in shipments)
    new.shipping_split = [{"merchant_id": s.merchant_id, "fen": s.fen, "carrier": s.income_to,
                           "template_id": s.template_id} for s in shipments if s.fen]


class FreightQuoteOut(Out):
    shipping_fen: int
    shipping_split: list[dict]
    address: dict | None


@dataclass
class _Draft:
    """What price_shipping reads and fills, for a quote (no order is written)."""
    buyer_id: int
    data: CheckoutIn
    source: hooks.SourceResult = field(default_factory=hooks.SourceResult)
    address: dict | None = None
    shipping: int = 0
    shipping_split: list = field(default_factory=list)


async def quote(buyer_id: int, data: CheckoutIn) -> FreightQuoteOut:
    """The freight a checkout with this body would charge now (catalogue prices), for the order page."""
    draft = _Draft(buyer_id=buyer_id, data=data)
    await price_shipping(draft)
    return FreightQuoteOut(shipping_fen=draft.shipping, shipping_split=draft.shipping_split, address=draft.address)
