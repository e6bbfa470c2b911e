"""Catalog request and response bodies. Clients never send status, stock totals, sales or owner."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, Strict, field_validator

from server.kit.money import PositiveFen as _PositiveFen
from server.kit.schemas import Out, QuerySchema, Schema

CERT_KINDS = ("pollution_free", "green", "organic", "geo_indication", "sc_licence")
MAX_STOCK = 1_000_000
MAX_IMAGES = 9

# Strict numbers and flags: "12" or "yes" in a JSON body is a client bug, not a value to coerce.
# Prices fit the int32 price columns with room to spare: 1,000,000 yuan is already absurd here.
MAX_PRICE = 100_000_000
PositiveFen = Annotated[_PositiveFen, Strict(), Field(le=MAX_PRICE)]
SInt = Annotated[int, Strict()]
SBool = Annotated[bool, Strict()]
# A regional brand's code (the brands are data: server/catalog/taxonomy.py), or "" for none.
Brand = Annotated[str, Field(pattern=r"^([a-z][a-z0-9_]{1,15})?$")]
CertKind = Literal["pollution_free", "green", "organic", "geo_indication", "sc_licence"]
ProductName = Annotated[str, Field(min_length=1, max_length=64)]
Place = Annotated[str, Field(max_length=32)]
Reason = Annotated[str, Field(min_length=1, max_length=500)]
Spec = Annotated[str, Field(min_length=1, max_length=32)]
Stock = Annotated[int, Strict(), Field(ge=0, le=MAX_STOCK)]
ImageUrl = Annotated[str, Field(min_length=1, max_length=300)]


class CertificationIn(Schema):
    kind: CertKind
    number: str = Field(min_length=1, max_length=64)
    issuer: str = Field("", max_length=64)
    expires_on: date | None = None


class SkuIn(Schema):
    spec: Spec
    price: PositiveFen
    list_price: PositiveFen | None = None
    stock: Stock = 0
    weight_g: SInt = Field(0, ge=0, le=1_000_000)
    cold_chain: SBool = False


class SkuPatch(Schema):
    spec: Spec | None = None
    price: PositiveFen | None = None
    list_price: PositiveFen | None = None
    weight_g: SInt | None = Field(None, ge=0, le=1_000_000)
    cold_chain: SBool | None = None
    is_active: SBool | None = None


class StockAdjustIn(Schema):
    delta: SInt = Field(ge=-MAX_STOCK, le=MAX_STOCK, description="units to add (negative: remove)")


class _ProductFields(Schema):
    @field_validator("images", check_fields=False)
    @classmethod
    def _images(cls, v):
        if v is not None:
            for url in v:
                if not url.startswith(("http://", "https://", "/media/")):
                    raise ValueError("images must be URLs returned by the image upload")
            if len(set(v)) != len(v):
                raise ValueError("duplicate image")
        return v


class ProductIn(_ProductFields):
    category_id: SInt = Field(ge=1, le=2**63 - 1)
    name: ProductName
    subtitle: str = Field("", max_length=128)
    description: str = Field("", max_length=5000)
    images: list[ImageUrl] = Field(default_factory=list, max_length=MAX_IMAGES)
    origin_town: Place = ""
    origin_village: Place = ""
    brand: Brand = ""
    certifications: list[CertificationIn] = Field(default_factory=list, max_length=10)
    skus: list[SkuIn] = Field(default_factory=list, max_length=20)


class ProductPatch(_ProductFields):
    category_id: SInt | None = Field(None, ge=1, le=2**63 - 1)
    name: ProductName | None = None
    subtitle: str | None = Field(None, max_length=128)
    description: str | None = Field(None, max_length=5000)
    images: list[ImageUrl] | None = Field(None, max_length=MAX_IMAGES)
    origin_town: Place | None = None
    origin_village: Place | None = None
    brand: Brand | None = None
    certifications: list[CertificationIn] | None = Field(None, max_length=10)


class ReasonIn(Schema):
    reason: Reason


class CertificationOut(Out):
    kind: str
    number: str
    issuer: str
    expires_on: date | None


class SkuOut(Out):
    id: int
    spec: str
    price: int
    list_price: int
    stock: int
    reserved: int
    weight_g: int
    cold_chain: bool
    is_active: bool
    sales: int


class ReviewOut(Out):
    id: int
    product_id: int
    merchant_id: int
    kind: str
    status: str
    snapshot: dict
    reason: str
    created_at: datetime
    reviewed_at: datetime | None
    product_name: str = Field("", description="the product's current name (queue listings)")
    merchant_name: str = Field("", description="the merchant's name (queue listings)")


class DiffRow(Out):
    field: str
    approved: Any = Field(None, description="the value on sale now (null for a first listing)")
    proposed: Any = None
    changed: bool


class MerchantProductOut(Out):
    """A product as its merchant sees it: every field, with review and takedown outcomes."""
    id: int
    merchant_id: int
    category_id: int
    name: str
    subtitle: str
    description: str
    images: list[str]
    origin_town: str
    origin_village: str
    brand: str
    status: str
    min_price: int
    sales: int
    reject_reason: str
    takedown_reason: str
    pending_revision: bool
    pending_changes: dict | None = None
    certifications: list[CertificationOut]
    skus: list[SkuOut]
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None


class ProductListQuery(QuerySchema):
    q: str | None = Field(None, max_length=32, description="keyword (Chinese substring), ranked")
    category_id: int | None = Field(None, ge=1, le=2**63 - 1, description="includes sub-categories")
    town: str | None = Field(None, max_length=32)
    brand: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,15}$")] | None = None
    cert: CertKind | None = None
    price_min: int | None = Field(None, ge=0, le=MAX_PRICE)
    price_max: int | None = Field(None, ge=0, le=MAX_PRICE)
    sort: Literal["relevance", "newest", "price_asc", "price_desc", "sales", "rating"] | None = Field(
        None, description="rating: buyers' mean product stars, best first (#30)")
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(20, ge=1, le=50)


class MerchantProductsQuery(QuerySchema):
    status: Literal["draft", "pending", "on_sale", "rejected", "off_shelf"] | None = None
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(20, ge=1, le=100)


class ReviewQueueQuery(QuerySchema):
    status: Literal["pending", "approved", "rejected", "superseded"] = "pending"
    kind: Literal["listing", "revision"] | None = None
    q: str | None = Field(None, max_length=64, description="part of the product's name")
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(20, ge=1, le=100)


class ImageOut(Out):
    url: str
    width: int
    height: int
    size: int


class ReviewDetailOut(Out):
    review: ReviewOut
    product: MerchantProductOut
    rows: list[DiffRow] = Field(description="the submission side by side with the approved version")


class ExpiringCertOut(Out):
    """A certificate (三品一标, SC licence) that has expired or expires soon, with its product."""
    id: int
    product_id: int
    product_name: str
    product_status: str
    merchant_id: int
    merchant_name: str
    kind: str
    number: str
    issuer: str
    expires_on: date
    expired: bool


class ExpiringCertQuery(QuerySchema):
    days: int = Field(30, ge=0, le=366, description="expiring within this many days (expired ones included)")
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(50, ge=1, le=200)


# ---- the storefront's answers (built as cached JSON bytes in catalog/query.py; these publish their shape)
StockState = Literal["in_stock", "low", "sold_out"]


class ProductCard(Out):
    id: int
    name: str
    subtitle: str
    image: str
    price: int = Field(description="the lowest SKU price (fen)")
    sales: int
    brand: str
    brand_label: str
    origin_town: str
    merchant_id: int
    category_id: int
    stock_state: StockState
    rating: float = Field(0, description="buyers' mean product stars (1-5, two decimals); 0: no review yet")
    rating_count: int = Field(0, description="how many shown reviews the rating is over")


class ProductCardPage(Out):
    items: list[ProductCard]
    next_cursor: str | None = Field(None, description="pass as ?cursor= for the next page; null at the end")


class CategoryRef(Out):
    id: int
    name: str
    slug: str | None = None


class CategoryNode(Out):
    id: int
    name: str
    slug: str
    children: list[CategoryNode]


class MerchantCard(Out):
    id: int
    name: str
    kind: str
    town: str
    village: str
    is_poor_household: bool


class StorefrontSku(Out):
    id: int
    spec: str
    price: int
    list_price: int | None = None
    weight_g: int
    cold_chain: bool
    stock_state: StockState


class StorefrontCert(Out):
    kind: str
    number: str
    issuer: str
    expires_on: date | None = None


class ProductDetail(Out):
    id: int
    name: str
    subtitle: str
    description: str
    images: list[str]
    price: int
    sales: int
    brand: str
    brand_label: str
    origin_town: str
    origin_village: str
    stock_state: StockState
    published_at: datetime | None = None
    category: CategoryRef | None = None
    merchant: MerchantCard
    skus: list[StorefrontSku]
    certifications: list[StorefrontCert]
    rating: float = Field(0, description="buyers' mean product stars (1-5); 0: no review yet (#30)")
    rating_count: int = 0


class HomeSection(Out):
    category: CategoryRef
    products: list[ProductCard]


class BrandShown(Out):
    brand: str
    label: str


class HomeOut(Out):
    featured: list[HomeSection]
    regional_brands: list[ProductCard]
    brands: list[BrandShown]


class ShopMerchant(MerchantCard):
    description: str
    products_on_sale: int


class ShopOut(ProductCardPage):
    merchant: ShopMerchant
