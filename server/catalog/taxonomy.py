"""Categories and regional public brands (区域公共品牌) as data the county office keeps: create, rename,
reorder, hide. A rename rebuilds the search text of the products that carry the name, and every change
drops the cached storefront reads (catalog namespace), so a shopper sees it at once.

The plan's three brands (喀左紫砂, 喀左陈醋, 喀左杂粮) are written the first time brands are needed on an
empty table (server.catalog.service.ensure_default_brands)."""
from __future__ import annotations

import orjson
from pydantic import Field
from tortoise.exceptions import IntegrityError

from server.catalog import cache
from server.catalog import service as catalog
from server.kit import audit, runtime
from server.kit.db import atomic
from server.kit.errors import Conflict, NotFound, ValidationFailed
from server.kit import versions
from server.kit.schemas import Schema
from server.kit.versions import VERSION_FIELD, VersionedOut
from server.models.catalog import Brand, Category, Product
from server.catalog.errors import CatalogCode

REBUILD_BATCH = 200


class BrandOut(VersionedOut):
    id: int
    code: str
    name: str
    sort: int
    hidden: bool


class BrandIn(Schema):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,15}$", description="stable code products carry (kazuo_zisha)")
    name: str = Field(min_length=1, max_length=32)
    sort: int = Field(0, ge=-10_000, le=10_000)


class BrandPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=32)
    sort: int | None = Field(None, ge=-10_000, le=10_000)
    hidden: bool | None = None
    version: str | None = VERSION_FIELD


class CategoryOut(VersionedOut):
    id: int
    name: str
    slug: str
    parent_id: int | None
    sort: int
    is_farm_product: bool
    hidden: bool


class CategoryIn(Schema):
    name: str = Field(min_length=1, max_length=32)
    slug: str = Field(pattern=r"^[a-z][a-z0-9_\-]{1,31}$")
    parent_id: int | None = Field(None, ge=1, le=2**63 - 1)
    sort: int = Field(0, ge=-10_000, le=10_000)
    is_farm_product: bool = False


class CategoryPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=32)
    sort: int | None = Field(None, ge=-10_000, le=10_000)
    hidden: bool | None = None
    is_farm_product: bool | None = None
    version: str | None = VERSION_FIELD


# ---- brands ---------------------------------------------------------------------------------------

async def _load_brands() -> list[dict]:
    await catalog.ensure_default_brands()
    return await Brand.all().order_by("sort", "id").values("id", "code", "name", "sort", "hidden")


async def brands() -> list[BrandOut]:
    """Every brand, in the office's order (cached with the storefront's reads)."""
    body = await cache.cached_bytes((cache.CATALOG_NS,), "brands", _load_brands,
                                    runtime.settings().catalog_list_ttl)
    return [BrandOut(**b) for b in orjson.loads(body)]


async def brand_labels(*, shown_only: bool = False) -> dict[str, str]:
    """{code: name} of the brands (only those not hidden, when asked)."""
    return {b.code: b.name for b in await brands() if not (shown_only and b.hidden)}


async def _rebuild(product_ids: list[int]) -> None:
    """Recompute the products' search text (a name they show changed) in batches."""
    for i in range(0, len(product_ids), REBUILD_BATCH):
        async with atomic() as conn:
            for pid in product_ids[i:i + REBUILD_BATCH]:
                await catalog.refresh_derived(pid, conn)
    if product_ids:
        await cache.invalidate_products(product_ids)
    else:
        await cache.invalidate_catalog()


async def create_brand(body: BrandIn, *, actor_id: int | None) -> BrandOut:
    """Add a regional brand."""
    try:
        async with atomic() as conn:
            b = await Brand.create(code=body.code, name=body.name, sort=body.sort, using_db=conn)
            await audit.record(actor_id, "brand.create", "brand", b.id, body.model_dump(), conn=conn)
    except IntegrityError:
        raise Conflict("a brand with this code exists", code=CatalogCode.BRAND_CODE_TAKEN,
                       details=[{"field": "code", "message": "taken"}]) from None
    await cache.invalidate_catalog()
    return BrandOut.model_validate(b)


async def _update(model: type[Brand] | type[Category], out: type[BrandOut] | type[CategoryOut], row_id: int,
                  patch: BrandPatch | CategoryPatch, kind: str, actor_id: int | None,
                  products: dict[str, str]) -> None:
    """Apply a patch to a brand or category row (only if nobody changed it since patch.version, when
    given); a rename rebuilds the search text of the products that show the name (products: how they
    point at the row, e.g. {"brand": "code"})."""
    changes = {k: v for k, v in patch.model_dump(exclude_unset=True, exclude={"version"}).items() if v is not None}
    async with atomic() as conn:
        row = await model.filter(id=row_id).using_db(conn).select_for_update().first()
        if row is None:
            raise NotFound(f"{kind} not found")
        versions.check(patch.version, out.model_validate(row))
        renamed = "name" in changes and changes["name"] != row.name
        if changes:
            await model.filter(id=row.id).using_db(conn).update(**changes)
            await audit.record(actor_id, f"{kind}.update", kind, row.id, changes, conn=conn)
    pointer = {k: getattr(row, v) for k, v in products.items()}
    await _rebuild(list(await Product.filter(**pointer).values_list("id", flat=True)) if renamed else [])


async def update_brand(brand_id: int, patch: BrandPatch, *, actor_id: int | None) -> BrandOut:
    """Rename, reorder or hide a brand; a rename rebuilds the search text of its products."""
    await _update(Brand, BrandOut, brand_id, patch, "brand", actor_id, {"brand": "code"})
    return BrandOut.model_validate(await Brand.get(id=brand_id))


# ---- categories -----------------------------------------------------------------------------------

async def categories() -> list[CategoryOut]:
    """Every category (hidden ones too), in the storefront's order."""
    return [CategoryOut.model_validate(c) for c in await Category.all().order_by("sort", "id")]


async def create_category(body: CategoryIn, *, actor_id: int | None) -> CategoryOut:
    """Add a category (at the top, or under a parent)."""
    try:
        async with atomic() as conn:
            if body.parent_id is not None and not await Category.filter(id=body.parent_id).using_db(conn).exists():
                raise ValidationFailed.field("parent_id", "no such category")
            c = await Category.create(**body.model_dump(), using_db=conn)
            await audit.record(actor_id, "category.create", "category", c.id, body.model_dump(), conn=conn)
    except IntegrityError:
        raise Conflict("a category with this slug exists", code=CatalogCode.CATEGORY_SLUG_TAKEN,
                       details=[{"field": "slug", "message": "taken"}]) from None
    await cache.invalidate_catalog()
    return CategoryOut.model_validate(c)


async def update_category(category_id: int, patch: CategoryPatch, *, actor_id: int | None) -> CategoryOut:
    """Rename, reorder or hide a category; a rename rebuilds the search text of its products."""
    await _update(Category, CategoryOut, category_id, patch, "category", actor_id, {"category_id": "id"})
    return CategoryOut.model_validate(await Category.get(id=category_id))
