"""Merchant self-service and county review of products (商品): states draft -> pending -> on_sale |
rejected -> off_shelf; a sensitive change to an on-sale product waits for review while the last
approved version stays on sale; 监管 takedowns; every step audited."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tortoise.expressions import F, Q, Subquery
from tortoise.functions import Count, Min

from server.catalog import cache
from server.catalog.schemas import (CertificationIn, DiffRow, ExpiringCertOut, MerchantProductOut,
                                    ProductIn, ProductPatch, ReviewDetailOut, ReviewOut, SkuIn, SkuOut, SkuPatch)
from server.inventory import service as inventory
from server.inventory.schemas import StockMovesPage
from server.kit import audit, clock
from server.kit.audit import AuditEntryOut
from server.kit.auth import Principal
from server.kit.db import atomic, id_page, on_commit
from server.kit.errors import Conflict, KitCode, NotFound, ValidationFailed
from server.kit.schemas import Page, decode_cursor, encode_cursor
from server.media import key_of
from server.models.catalog import Brand, Category, Certification, Product, Sku
from server.models.catalog_reviews import ProductReview
from server.models.inventory import StockReason
from server.models.merchants import Merchant
from server.catalog.errors import CatalogCode

# Fields whose change on an on-sale product needs the county's review again.
SENSITIVE = ("name", "category_id", "images", "brand")
DIRECT = ("subtitle", "description", "origin_town", "origin_village")
EDITABLE = ("draft", "rejected", "off_shelf")


# ---- scope ---------------------------------------------------------------------------------
def can_manage(principal: Principal, merchant: Merchant) -> bool:
    """A member of the merchant, or staff of the station that operates it (代卖)."""
    if merchant.id in principal.merchant_ids:
        return True
    return bool(merchant.operated_by_station_id and merchant.operated_by_station_id in principal.station_ids)


async def merchant_in_scope(principal: Principal, merchant_id: int, conn: Any = None) -> Merchant:
    """The merchant if the caller manages it; 404 otherwise (existence is not revealed)."""
    m = await Merchant.filter(id=merchant_id).using_db(conn).first()
    if m is None or not can_manage(principal, m):
        raise NotFound("merchant not found")
    return m


async def _product_in_scope(principal: Principal, product_id: int, conn: Any, *,
                            lock: bool = False) -> tuple[Product, Merchant]:
    qs = Product.filter(id=product_id).using_db(conn)
    if lock:
        qs = qs.select_for_update()
    p = await qs.first()
    if p is None:
        raise NotFound("product not found")
    m = await Merchant.filter(id=p.merchant_id).using_db(conn).first()
    if m is None or not can_manage(principal, m):
        raise NotFound("product not found")
    return p, m


def _require_active(m: Merchant) -> None:
    if m.status != "active":
        raise Conflict("the merchant is not active", code=CatalogCode.MERCHANT_NOT_ACTIVE)


# ---- helpers -------------------------------------------------------------------------------
async def _category(category_id: int, conn: Any) -> Category:
    cat = await Category.filter(id=category_id).using_db(conn).first()
    if cat is None:
        raise ValidationFailed.field("category_id", "no such category")
    return cat


# The plan's three regional public brands: written on an empty table the first time brands are needed
# (a new installation starts with them; after that they are ordinary rows the office keeps).
DEFAULT_BRANDS = (("kazuo_zisha", "喀左紫砂"), ("kazuo_vinegar", "喀左陈醋"), ("kazuo_grains", "喀左杂粮"))


async def ensure_default_brands(conn: Any = None) -> bool:
    """Write the default brands when there are none (idempotent; True when it wrote them)."""
    if await Brand.all().using_db(conn).exists():
        return False
    await Brand.bulk_create([Brand(code=c, name=n, sort=i) for i, (c, n) in enumerate(DEFAULT_BRANDS)],
                            ignore_conflicts=True, using_db=conn)
    return True


async def check_brand(code: str | None, conn: Any = None, field: str = "brand") -> None:
    """A product carries no brand ("") or a regional brand that is not hidden (422 naming the field)."""
    if not code:
        return
    if await Brand.filter(code=code, hidden=False).using_db(conn).exists():
        return
    if await ensure_default_brands(conn) and await Brand.filter(code=code, hidden=False).using_db(conn).exists():
        return
    raise ValidationFailed.field(field, "no such regional brand (or it is hidden)")


async def _search_text(p: Product, conn: Any, merchant: Merchant | None = None) -> str:
    cat = await Category.filter(id=p.category_id).using_db(conn).first()
    m = merchant or await Merchant.filter(id=p.merchant_id).using_db(conn).first()
    brand = await Brand.filter(code=p.brand).using_db(conn).first() if p.brand else None
    parts = [p.name, p.subtitle, cat.name if cat else "", brand.name if brand else "",
             p.origin_town, p.origin_village, m.name if m else ""]
    return " ".join(x for x in parts if x).lower()


async def refresh_derived(product_id: int, conn: Any) -> None:
    """Recompute min_price (cheapest active SKU), visibility and search text from the rows."""
    p = await Product.filter(id=product_id).using_db(conn).first()
    m = await Merchant.filter(id=p.merchant_id).using_db(conn).first()
    row = await (Sku.filter(product_id=product_id, is_active=True).using_db(conn)
                 .annotate(mp=Min("price")).values("mp"))
    min_price = (row[0]["mp"] if row else None) or 0
    visible = p.status == "on_sale" and m.status == "active"
    await Product.filter(id=product_id).using_db(conn).update(
        min_price=min_price, visible=visible, search_text=await _search_text(p, conn, m))


def _invalidate_after_commit(product_id: int) -> None:
    on_commit(lambda: cache.invalidate_product(product_id))


def _check_sku_prices(skus: list[SkuIn], field: str = "skus") -> None:
    for i, s in enumerate(skus):
        if s.list_price is not None and s.list_price < s.price:
            raise ValidationFailed.field(f"{field}[{i}].list_price", "must not be below the price")


def _check_images(images: list[str] | None) -> None:
    """Only images we stored (the upload endpoint's URLs): no hot-linked or tracking images."""
    for i, url in enumerate(images or ()):
        if key_of(url) is None:
            raise ValidationFailed.field(f"images[{i}]", "use a URL returned by the image upload")


def _certs_json(certs: list[CertificationIn]) -> list[dict]:
    return [c.model_dump(mode="json") for c in certs]


async def _replace_certs(product_id: int, certs: list[dict], conn: Any) -> None:
    await Certification.filter(product_id=product_id).using_db(conn).delete()
    for c in certs:
        await Certification.create(product_id=product_id, kind=c["kind"], number=c["number"],
                                   issuer=c.get("issuer", ""), expires_on=c.get("expires_on"),
                                   using_db=conn)


async def _cert_dicts(product_id: int, conn: Any) -> list[dict]:
    rows = await Certification.filter(product_id=product_id).using_db(conn).order_by("id")
    return [{"kind": c.kind, "number": c.number, "issuer": c.issuer,
             "expires_on": c.expires_on.isoformat() if c.expires_on else None} for c in rows]


async def _pending_revision(product_id: int, conn: Any) -> ProductReview | None:
    return await (ProductReview.filter(product_id=product_id, kind="revision", status="pending")
                  .using_db(conn).order_by("-id").first())


async def product_out(product_id: int, conn: Any = None) -> MerchantProductOut:
    p = await Product.filter(id=product_id).using_db(conn).first()
    skus = await Sku.filter(product_id=product_id).using_db(conn).order_by("id")
    certs = await Certification.filter(product_id=product_id).using_db(conn).order_by("id")
    rev = await _pending_revision(product_id, conn) if p.pending_revision else None
    return MerchantProductOut(
        id=p.id, merchant_id=p.merchant_id, category_id=p.category_id, name=p.name, subtitle=p.subtitle,
        description=p.description, images=list(p.images or []), origin_town=p.origin_town,
        origin_village=p.origin_village, brand=p.brand, status=p.status, min_price=p.min_price,
        sales=p.sales, reject_reason=p.reject_reason, takedown_reason=p.takedown_reason,
        pending_revision=p.pending_revision, pending_changes=rev.snapshot if rev else None,
        certifications=certs, skus=[SkuOut.model_validate(s) for s in skus], created_at=p.created_at,
        updated_at=p.updated_at, published_at=p.published_at)


# ---- merchant: products ----------------------------------------------------------------------
async def create_product(principal: Principal, merchant_id: int, body: ProductIn) -> MerchantProductOut:
    """Create a draft product with its SKUs and certificates."""
    _check_sku_prices(body.skus)
    _check_images(body.images)
    async with atomic() as conn:
        m = await merchant_in_scope(principal, merchant_id, conn)
        _require_active(m)
        await _category(body.category_id, conn)
        await check_brand(body.brand, conn)
        p = await Product.create(
            merchant_id=m.id, category_id=body.category_id, name=body.name, subtitle=body.subtitle,
            description=body.description, images=body.images, origin_town=body.origin_town or m.town,
            origin_village=body.origin_village or m.village, brand=body.brand, status="draft",
            using_db=conn)
        await _replace_certs(p.id, _certs_json(body.certifications), conn)
        for s in body.skus:
            sku = await Sku.create(product_id=p.id, spec=s.spec, price=s.price, list_price=s.list_price or s.price,
                                   weight_g=s.weight_g, cold_chain=s.cold_chain, using_db=conn)
            await _first_units(sku.id, s.stock, principal, conn)
        await refresh_derived(p.id, conn)
        await audit.record(principal.user_id, "product.create", "product", p.id,
                           {"merchant_id": m.id, "name": body.name}, conn=conn)
        return await product_out(p.id, conn)


async def get_product(principal: Principal, product_id: int) -> MerchantProductOut:
    """One of the caller's products, with review outcome and pending changes."""
    await _product_in_scope(principal, product_id, None)
    return await product_out(product_id)


async def list_products(principal: Principal, merchant_id: int, status: str | None, cursor: str | None,
                        limit: int) -> Page[MerchantProductOut]:
    """A merchant's products, newest first."""
    await merchant_in_scope(principal, merchant_id)
    qs = Product.filter(merchant_id=merchant_id)
    if status:
        qs = qs.filter(status=status)
    after = decode_cursor(cursor, 1)
    if after:
        qs = qs.filter(id__lt=after[0])
    ids = await qs.order_by("-id").limit(limit + 1).values_list("id", flat=True)
    items = [await product_out(i) for i in ids[:limit]]
    return Page(items=items, next_cursor=encode_cursor([ids[limit - 1]]) if len(ids) > limit else None)


async def update_product(principal: Principal, product_id: int, body: ProductPatch) -> MerchantProductOut:
    """Edit a product. On sale: name, category, images, brand or certificates go to review (the
    approved version stays on sale); subtitle, description and origin change at once."""
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise ValidationFailed.field("body", "nothing to change")
    for k in ("category_id", "name", "images", "brand", "certifications", "origin_town",
              "origin_village", "subtitle", "description"):
        if k in changes and changes[k] is None:
            raise ValidationFailed.field(k, "must not be null")
    _check_images(changes.get("images"))
    async with atomic() as conn:
        p, m = await _product_in_scope(principal, product_id, conn, lock=True)
        _require_active(m)
        if p.status == "pending":
            raise Conflict("the product is under review", code=CatalogCode.UNDER_REVIEW)
        if "category_id" in changes:
            await _category(changes["category_id"], conn)
        if changes.get("brand") and changes["brand"] != p.brand:
            await check_brand(changes["brand"], conn)
        certs = _certs_json(body.certifications) if "certifications" in changes else None
        if p.status in EDITABLE:
            direct = {k: v for k, v in changes.items() if k != "certifications"}
            if direct:
                await Product.filter(id=p.id).using_db(conn).update(**direct, updated_at=clock.now())
            if certs is not None:
                await _replace_certs(p.id, certs, conn)
        else:  # on_sale
            direct = {k: v for k, v in changes.items() if k in DIRECT}
            review: dict = {k: v for k, v in changes.items()
                            if k in SENSITIVE and v != getattr(p, k)}
            if certs is not None and certs != await _cert_dicts(p.id, conn):
                review["certifications"] = certs
            if direct:
                await Product.filter(id=p.id).using_db(conn).update(**direct, updated_at=clock.now())
                _invalidate_after_commit(p.id)
            if review:
                await _queue_revision(principal, p, {"product": review}, conn)
        await refresh_derived(p.id, conn)
        await audit.record(principal.user_id, "product.update", "product", p.id,
                           {"fields": sorted(changes)}, conn=conn)
        return await product_out(p.id, conn)


async def _queue_revision(principal: Principal, p: Product, change: dict, conn: Any) -> None:
    """Merge a change into the product's pending revision (one open revision per product)."""
    rev = await _pending_revision(p.id, conn)
    if rev is None:
        snapshot = {"product": {}, "sku_prices": {}}
    else:
        snapshot = dict(rev.snapshot)
    product_part = {**snapshot.get("product", {}), **change.get("product", {})}
    if "certifications" in product_part:
        snapshot["certifications"] = product_part.pop("certifications")
    snapshot["product"] = product_part
    snapshot["sku_prices"] = {**snapshot.get("sku_prices", {}), **change.get("sku_prices", {})}
    if rev is None:
        await ProductReview.create(product_id=p.id, merchant_id=p.merchant_id, kind="revision",
                                   snapshot=snapshot, submitted_by_id=principal.user_id, using_db=conn)
    else:
        await ProductReview.filter(id=rev.id).using_db(conn).update(snapshot=snapshot)
    await Product.filter(id=p.id).using_db(conn).update(pending_revision=True, reject_reason="")


async def submit_product(principal: Principal, product_id: int) -> MerchantProductOut:
    """Send a draft, rejected or off-shelf product to the county's review queue."""
    async with atomic() as conn:
        p, m = await _product_in_scope(principal, product_id, conn, lock=True)
        _require_active(m)
        if p.status not in EDITABLE:
            raise Conflict(f"a {p.status} product cannot be submitted", code=KitCode.INVALID_TRANSITION)
        skus = await Sku.filter(product_id=p.id, is_active=True).using_db(conn).order_by("id")
        if not skus:
            raise ValidationFailed.field("skus", "add at least one active SKU before submitting")
        if not p.images:
            raise ValidationFailed.field("images", "add at least one image before submitting")
        n = await Product.filter(id=p.id, status=p.status).using_db(conn).update(
            status="pending", reject_reason="")
        if n != 1:
            raise Conflict("the product changed; retry", code=KitCode.INVALID_TRANSITION)
        snapshot = {"product": {k: getattr(p, k) for k in ("name", "category_id", "images", "brand",
                                                           "subtitle", "description", "origin_town",
                                                           "origin_village")},
                    "certifications": await _cert_dicts(p.id, conn),
                    "skus": [{"id": s.id, "spec": s.spec, "price": s.price, "list_price": s.list_price}
                             for s in skus]}
        await ProductReview.create(product_id=p.id, merchant_id=p.merchant_id, kind="listing",
                                   snapshot=snapshot, submitted_by_id=principal.user_id, using_db=conn)
        await audit.record(principal.user_id, "product.submit", "product", p.id, conn=conn)
        return await product_out(p.id, conn)


async def take_off_shelf(principal: Principal, product_id: int) -> MerchantProductOut:
    """The merchant stops selling an on-sale product (下架)."""
    async with atomic() as conn:
        p, m = await _product_in_scope(principal, product_id, conn, lock=True)
        n = await Product.filter(id=p.id, status="on_sale").using_db(conn).update(
            status="off_shelf", visible=False, takedown_reason="")
        if n != 1:
            raise Conflict(f"a {p.status} product is not on sale", code=KitCode.INVALID_TRANSITION)
        await audit.record(principal.user_id, "product.off_shelf", "product", p.id, conn=conn)
        _invalidate_after_commit(p.id)
        return await product_out(p.id, conn)


async def product_reviews(principal: Principal, product_id: int) -> list[ReviewOut]:
    """The review history of one of the caller's products (outcomes and reasons)."""
    await _product_in_scope(principal, product_id, None)
    rows = await ProductReview.filter(product_id=product_id).order_by("-id").limit(50)
    return [ReviewOut.model_validate(r) for r in rows]


# ---- merchant: SKUs and stock ------------------------------------------------------------
async def _sku_in_scope(principal: Principal, sku_id: int, conn: Any) -> tuple[Sku, Product, Merchant]:
    sku = await Sku.filter(id=sku_id).using_db(conn).first()
    if sku is None:
        raise NotFound("sku not found")
    try:
        p, m = await _product_in_scope(principal, sku.product_id, conn)
    except NotFound:
        raise NotFound("sku not found") from None
    return sku, p, m


async def _first_units(sku_id: int, units: int, principal: Principal, conn: Any) -> None:
    """A new SKU's units go on the shelf through the inventory (journaled as created)."""
    await inventory.restock(conn, [inventory.Move(sku_id, units, "sku", sku_id)], StockReason.CREATE,
                            actor_id=principal.user_id)


async def add_sku(principal: Principal, product_id: int, body: SkuIn) -> MerchantProductOut:
    """Add a SKU (on an on-sale product it goes on sale at once; price cuts are the review's)."""
    _check_sku_prices([body], "body")
    async with atomic() as conn:
        p, m = await _product_in_scope(principal, product_id, conn, lock=True)
        _require_active(m)
        if p.status == "pending":
            raise Conflict("the product is under review", code=CatalogCode.UNDER_REVIEW)
        if p.status == "on_sale" and p.min_price and body.price * 2 < p.min_price:
            raise ValidationFailed.field("price", "less than half the cheapest approved SKU: submit it "
                                         "while the product is off the shelf")
        if await Sku.filter(product_id=p.id).using_db(conn).count() >= 20:
            raise ValidationFailed.field("skus", "at most 20 SKUs per product")
        sku = await Sku.create(product_id=p.id, spec=body.spec, price=body.price,
                               list_price=body.list_price or body.price,
                               weight_g=body.weight_g, cold_chain=body.cold_chain, using_db=conn)
        await _first_units(sku.id, body.stock, principal, conn)
        await refresh_derived(p.id, conn)
        await audit.record(principal.user_id, "sku.create", "product", p.id, {"spec": body.spec}, conn=conn)
        if p.status == "on_sale":
            _invalidate_after_commit(p.id)
        return await product_out(p.id, conn)


async def update_sku(principal: Principal, sku_id: int, body: SkuPatch) -> MerchantProductOut:
    """Edit a SKU; on an on-sale product a price cut of more than half waits for review."""
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise ValidationFailed.field("body", "nothing to change")
    for k, v in changes.items():
        if v is None:
            raise ValidationFailed.field(k, "must not be null")
    async with atomic() as conn:
        sku, p, m = await _sku_in_scope(principal, sku_id, conn)
        _require_active(m)
        if p.status == "pending":
            raise Conflict("the product is under review", code=CatalogCode.UNDER_REVIEW)
        p = await Product.filter(id=p.id).using_db(conn).select_for_update().first()
        sku = await Sku.filter(id=sku_id).using_db(conn).select_for_update().first()
        new_price = changes.get("price", sku.price)
        list_price = changes.get("list_price", sku.list_price)
        if list_price < new_price:
            raise ValidationFailed.field("list_price", "must not be below the price")
        if p.status == "on_sale" and new_price * 2 < sku.price:
            changes.pop("price")
            await _queue_revision(principal, p, {"sku_prices": {str(sku.id): new_price}}, conn)
        if changes:
            await Sku.filter(id=sku.id).using_db(conn).update(**changes)
        await refresh_derived(p.id, conn)
        await audit.record(principal.user_id, "sku.update", "sku", sku.id, {"fields": sorted(changes)},
                           conn=conn)
        if p.status == "on_sale":
            _invalidate_after_commit(p.id)
        return await product_out(p.id, conn)


async def adjust_stock(principal: Principal, sku_id: int, delta: int) -> SkuOut:
    """Add or remove sellable units atomically (never below zero: 409 out_of_stock, never past the
    cap), journaled by the inventory with the operator."""
    if delta == 0:
        raise ValidationFailed.field("delta", "must not be zero")
    async with atomic() as conn:
        sku, p, m = await _sku_in_scope(principal, sku_id, conn)
        await inventory.adjust(conn, sku_id, delta, actor_id=principal.user_id)
        await audit.record(principal.user_id, "sku.stock", "sku", sku_id, {"delta": delta}, conn=conn)
        fresh = await Sku.filter(id=sku_id).using_db(conn).first()
        _invalidate_after_commit(p.id)
        return SkuOut.model_validate(fresh)


async def sku_stock_moves(principal: Principal, sku_id: int, cursor: str | None, limit: int) -> StockMovesPage:
    """The stock journal (库存流水) of one of the caller's SKUs, newest first (another's is a 404)."""
    await _sku_in_scope(principal, sku_id, None)
    return await inventory.journal(sku_id, cursor, limit)


# ---- admin: review and supervision (监管) ------------------------------------------------
async def review_queue(status: str, cursor: str | None, limit: int, kind: str | None = None,
                       q: str | None = None) -> Page[ReviewOut]:
    """Product reviews in a state (and of a kind; q: part of the product's name), oldest first (the
    queue order), with the product's and the merchant's names."""
    qs = ProductReview.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if q:
        qs = qs.filter(product_id__in=Subquery(Product.filter(name__icontains=q).values("id")))
    # the names joined in: one statement for the page, not two lookups after it
    qs = qs.annotate(listed_product_name=F("product__name"), listed_merchant_name=F("merchant__name"))
    rows, next_cursor = await id_page(qs, cursor, limit)
    items = [ReviewOut.model_validate(r).model_copy(update={"product_name": r.listed_product_name or "",
                                                            "merchant_name": r.listed_merchant_name or ""})
             for r in rows]
    return Page(items=items, next_cursor=next_cursor)


def _diff_rows(kind: str, snapshot: dict, current: MerchantProductOut) -> list[DiffRow]:
    now = current.model_dump(mode="json")
    rows = []
    for k, v in snapshot.get("product", {}).items():
        approved = None if kind == "listing" else now.get(k)
        rows.append(DiffRow(field=k, approved=approved, proposed=v, changed=approved != v))
    if "certifications" in snapshot:
        approved = None if kind == "listing" else [
            {"kind": c["kind"], "number": c["number"], "issuer": c["issuer"], "expires_on": c["expires_on"]}
            for c in now["certifications"]]
        proposed = snapshot["certifications"]
        rows.append(DiffRow(field="certifications", approved=approved, proposed=proposed,
                            changed=approved != proposed))
    prices = {str(s["id"]): s["price"] for s in now["skus"]}
    specs = {str(s["id"]): s["spec"] for s in now["skus"]}
    for sku_id, price in snapshot.get("sku_prices", {}).items():
        approved = prices.get(str(sku_id))
        rows.append(DiffRow(field=f"sku_price:{specs.get(str(sku_id), sku_id)}", approved=approved,
                            proposed=price, changed=approved != price))
    for s in snapshot.get("skus", []):
        rows.append(DiffRow(field=f"sku:{s.get('spec', '')}", approved=None, proposed=s, changed=True))
    return rows


async def review_detail(review_id: int) -> ReviewDetailOut:
    """A review with the product as approved now and the submission side by side, field by field."""
    rev = await ProductReview.get_or_none(id=review_id)
    if rev is None:
        raise NotFound("review not found")
    product = await admin_product(rev.product_id)
    merchant = await Merchant.get_or_none(id=rev.merchant_id).only("id", "name")
    out = ReviewOut.model_validate(rev).model_copy(update={"product_name": product.name,
                                                           "merchant_name": merchant.name if merchant else ""})
    return ReviewDetailOut(review=out, product=product, rows=_diff_rows(rev.kind, rev.snapshot, product))


async def count_pending_reviews() -> dict[str, int]:
    """Reviews waiting for the office, by kind (listing, revision)."""
    rows = await ProductReview.filter(status="pending").group_by("kind").annotate(n=Count("id")).values("kind", "n")
    return {"listing": 0, "revision": 0, **{r["kind"]: r["n"] for r in rows}}


async def expiring_certificates(days: int, cursor: str | None, limit: int) -> Page[ExpiringCertOut]:
    """Certificates expired or expiring within `days` (local calendar), soonest first, keyset-paged by
    (expires_on, id): the office asks the merchants to renew them before the storefront hides them."""
    today = clock.local_today()
    qs = Certification.filter(expires_on__isnull=False, expires_on__lte=today + timedelta(days=days))
    after = decode_cursor(cursor, 2)
    if after:
        try:
            day, cid = date.fromisoformat(str(after[0])), int(after[1])
        except ValueError:
            raise ValidationFailed.field("cursor", "malformed cursor") from None
        qs = qs.filter(Q(expires_on__gt=day) | Q(expires_on=day, id__gt=cid))
    # the product and its merchant joined in: one statement for the page, not two lookups after it
    rows = await (qs.annotate(listed_product_name=F("product__name"), listed_product_status=F("product__status"),
                              listed_merchant_id=F("product__merchant_id"),
                              listed_merchant_name=F("product__merchant__name"))
                  .order_by("expires_on", "id").limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    items = [ExpiringCertOut(id=c.id, product_id=c.product_id, product_name=c.listed_product_name,
                             product_status=c.listed_product_status, merchant_id=c.listed_merchant_id,
                             merchant_name=c.listed_merchant_name or "",
                             kind=c.kind, number=c.number, issuer=c.issuer, expires_on=c.expires_on,
                             expired=c.expires_on < today) for c in rows]
    nxt = encode_cursor([rows[-1].expires_on.isoformat(), rows[-1].id]) if more and rows else None
    return Page[ExpiringCertOut](items=items, next_cursor=nxt)


async def _apply_revision(p: Product, snapshot: dict, conn: Any) -> None:
    fields_ = {k: v for k, v in snapshot.get("product", {}).items() if k in SENSITIVE}
    if "category_id" in fields_ and not await Category.filter(id=fields_["category_id"]).using_db(conn).exists():
        raise Conflict("the proposed category no longer exists", code=CatalogCode.CATEGORY_GONE)
    if fields_:
        await Product.filter(id=p.id).using_db(conn).update(**fields_, updated_at=clock.now())
    if "certifications" in snapshot:
        await _replace_certs(p.id, snapshot["certifications"], conn)
    for sku_id, price in snapshot.get("sku_prices", {}).items():
        await Sku.filter(id=int(sku_id), product_id=p.id).using_db(conn).update(price=price)
        # keep list_price >= price (a cut never leaves it below)


async def approve_review(admin_id: int, review_id: int) -> ReviewOut:
    """Approve a listing (it goes on sale) or a revision (applied to the on-sale product)."""
    async with atomic() as conn:
        rev = await ProductReview.filter(id=review_id).using_db(conn).select_for_update().first()
        if rev is None:
            raise NotFound("review not found")
        n = await ProductReview.filter(id=rev.id, status="pending").using_db(conn).update(
            status="approved", reviewed_by_id=admin_id, reviewed_at=clock.now())
        if n != 1:
            raise Conflict(f"the review is already {rev.status}", code=CatalogCode.ALREADY_REVIEWED)
        p = await Product.filter(id=rev.product_id).using_db(conn).select_for_update().first()
        if rev.kind == "listing":
            n = await Product.filter(id=p.id, status="pending").using_db(conn).update(
                status="on_sale", published_at=clock.now(), reject_reason="", takedown_reason="")
            if n != 1:
                raise Conflict("the product is no longer pending", code=KitCode.INVALID_TRANSITION)
        else:
            await _apply_revision(p, rev.snapshot, conn)
            await Product.filter(id=p.id).using_db(conn).update(pending_revision=False, reject_reason="")
        await refresh_derived(p.id, conn)
        await audit.record(admin_id, "product.approve", "product", p.id,
                           {"review_id": rev.id, "kind": rev.kind}, conn=conn)
        _invalidate_after_commit(p.id)
    return ReviewOut.model_validate(await ProductReview.get(id=review_id))


async def reject_review(admin_id: int, review_id: int, reason: str) -> ReviewOut:
    """Reject with a reason the merchant sees; a rejected revision leaves the approved version on sale."""
    async with atomic() as conn:
        rev = await ProductReview.filter(id=review_id).using_db(conn).select_for_update().first()
        if rev is None:
            raise NotFound("review not found")
        n = await ProductReview.filter(id=rev.id, status="pending").using_db(conn).update(
            status="rejected", reason=reason, reviewed_by_id=admin_id, reviewed_at=clock.now())
        if n != 1:
            raise Conflict(f"the review is already {rev.status}", code=CatalogCode.ALREADY_REVIEWED)
        if rev.kind == "listing":
            await Product.filter(id=rev.product_id, status="pending").using_db(conn).update(
                status="rejected", reject_reason=reason)
        else:
            await Product.filter(id=rev.product_id).using_db(conn).update(
                pending_revision=False, reject_reason=reason)
        await audit.record(admin_id, "product.reject", "product", rev.product_id,
                           {"review_id": rev.id, "kind": rev.kind, "reason": reason}, conn=conn)
    return ReviewOut.model_validate(await ProductReview.get(id=review_id))


async def take_down(admin_id: int, product_id: int, reason: str) -> MerchantProductOut:
    """监管下架: off the shelf at once, with a reason the merchant sees; open reviews are closed."""
    async with atomic() as conn:
        p = await Product.filter(id=product_id).using_db(conn).select_for_update().first()
        if p is None:
            raise NotFound("product not found")
        await Product.filter(id=p.id).using_db(conn).update(
            status="off_shelf", visible=False, takedown_reason=reason, taken_down_at=clock.now(),
            pending_revision=False)
        await ProductReview.filter(product_id=p.id, status="pending").using_db(conn).update(
            status="superseded", reason="taken down: " + reason[:480], reviewed_by_id=admin_id,
            reviewed_at=clock.now())
        await audit.record(admin_id, "product.takedown", "product", p.id,
                           {"reason": reason, "previous_status": p.status}, conn=conn)
        _invalidate_after_commit(p.id)
        out = await product_out(p.id, conn)
    return out


async def admin_product(product_id: int) -> MerchantProductOut:
    if not await Product.filter(id=product_id).exists():
        raise NotFound("product not found")
    return await product_out(product_id)


async def audit_trail(object_type: str, object_id: int, cursor: str | None, limit: int) -> Page[AuditEntryOut]:
    """Who did what to a product, SKU or merchant, newest first (keyset pages)."""
    rows, next_cursor = await audit.feed(object_type=object_type, object_id=str(object_id), cursor=cursor,
                                         limit=limit)
    return Page[AuditEntryOut](items=[AuditEntryOut.model_validate(r) for r in rows], next_cursor=next_cursor)
