"""The product's rating columns (products.rating, rating_count), written only by the reviews service
(server/reviews) inside its own transaction, so listings sort and show ratings without a join."""
from __future__ import annotations

from typing import Any

from server.catalog import cache
from server.kit.db import on_commit
from server.models.catalog import Product


async def set_product_rating(product_id: int, rating_x100: int, count: int, conn: Any) -> None:
    """Store a product's mean stars (x100) and count; its detail page is forgotten after commit.
    Listings pick the new rating up within catalog_list_ttl (a review does not flush every listing)."""
    await Product.filter(id=product_id).using_db(conn).update(rating=rating_x100, rating_count=count)

    async def _forget() -> None:
        await cache.invalidate_product_only(product_id)

    on_commit(_forget)
