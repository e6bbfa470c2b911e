"""County office (县电商办): merchant and product review queues, 监管 takedowns, the audit trail."""
from pydantic import Field
from sanic import Blueprint, Request

from server.catalog import service as catalog
from server.catalog import taxonomy
from server.catalog.taxonomy import BrandIn, BrandOut, BrandPatch, CategoryIn, CategoryOut, CategoryPatch
from server.catalog.schemas import (ExpiringCertOut, ExpiringCertQuery, MerchantProductOut, ReasonIn,
                                    ReviewDetailOut, ReviewOut, ReviewQueueQuery)
from server.kit.audit import AuditEntryOut
from server.kit.auth import Role
from server.kit.http import endpoint
from server.kit.schemas import Page, QuerySchema
from server.merchants import service as merchants
from server.merchants.schemas import MerchantOut, MerchantQueueQuery

bp = Blueprint("console_catalog", url_prefix="/api/v1/console")
ADMIN = (Role.admin,)
TAGS = ("console: catalog",)


@bp.get("/merchants")
@endpoint(summary="Merchants by state (pending = the application review queue)", roles=ADMIN,
          query=MerchantQueueQuery, response=Page[MerchantOut], tags=TAGS)
async def merchant_queue(request: Request, principal, query: MerchantQueueQuery):
    return await merchants.queue(query.status, query.cursor, query.limit, q=query.q, kind=query.kind,
                                 town=query.town)


@bp.get("/merchants/<merchant_id:int>")
@endpoint(summary="A merchant or application", roles=ADMIN, response=MerchantOut, tags=TAGS, errors=(404,))
async def merchant_detail(request: Request, principal, merchant_id: int):
    return await merchants.detail(merchant_id)


@bp.post("/merchants/<merchant_id:int>/approve")
@endpoint(summary="Approve an application (the applicant becomes a member)", roles=ADMIN,
          response=MerchantOut, tags=TAGS, errors=(404, 409))
async def merchant_approve(request: Request, principal, merchant_id: int):
    return await merchants.approve(principal.user_id, merchant_id)


@bp.post("/merchants/<merchant_id:int>/reject")
@endpoint(summary="Reject an application with a reason", roles=ADMIN, body=ReasonIn, response=MerchantOut,
          tags=TAGS, errors=(404, 409, 422))
async def merchant_reject(request: Request, principal, merchant_id: int, body: ReasonIn):
    return await merchants.reject(principal.user_id, merchant_id, body.reason)


@bp.post("/merchants/<merchant_id:int>/suspend")
@endpoint(summary="Suspend a merchant: its products leave the storefront at once", roles=ADMIN,
          body=ReasonIn, response=MerchantOut, tags=TAGS, errors=(404, 409, 422))
async def merchant_suspend(request: Request, principal, merchant_id: int, body: ReasonIn):
    return await merchants.suspend(principal.user_id, merchant_id, body.reason)


@bp.post("/merchants/<merchant_id:int>/reinstate")
@endpoint(summary="Lift a suspension", roles=ADMIN, response=MerchantOut, tags=TAGS, errors=(404, 409))
async def merchant_reinstate(request: Request, principal, merchant_id: int):
    return await merchants.reinstate(principal.user_id, merchant_id)


@bp.get("/product-reviews")
@endpoint(summary="Product review queue (listings and changes to on-sale products)", roles=ADMIN,
          query=ReviewQueueQuery, response=Page[ReviewOut], tags=TAGS)
async def review_queue(request: Request, principal, query: ReviewQueueQuery):
    return await catalog.review_queue(query.status, query.cursor, query.limit, query.kind, query.q)


@bp.get("/product-reviews/<review_id:int>")
@endpoint(summary="A review: the submission beside the approved version, field by field", roles=ADMIN,
          response=ReviewDetailOut, tags=TAGS, errors=(404,))
async def review_detail(request: Request, principal, review_id: int):
    return await catalog.review_detail(review_id)


@bp.post("/product-reviews/<review_id:int>/approve")
@endpoint(summary="Approve: a listing goes on sale, a change is applied", roles=ADMIN, response=ReviewOut,
          tags=TAGS, errors=(404, 409))
async def review_approve(request: Request, principal, review_id: int):
    return await catalog.approve_review(principal.user_id, review_id)


@bp.post("/product-reviews/<review_id:int>/reject")
@endpoint(summary="Reject with a reason the merchant sees", roles=ADMIN, body=ReasonIn, response=ReviewOut,
          tags=TAGS, errors=(404, 409, 422))
async def review_reject(request: Request, principal, review_id: int, body: ReasonIn):
    return await catalog.reject_review(principal.user_id, review_id, body.reason)


@bp.get("/products/<product_id:int>")
@endpoint(summary="Any product, every field", roles=ADMIN, response=MerchantProductOut, tags=TAGS,
          errors=(404,))
async def product_detail(request: Request, principal, product_id: int):
    return await catalog.admin_product(product_id)


@bp.post("/products/<product_id:int>/takedown")
@endpoint(summary="监管下架: take a product off sale at once, with a reason", roles=ADMIN, body=ReasonIn,
          response=MerchantProductOut, tags=TAGS, errors=(404, 422))
async def takedown(request: Request, principal, product_id: int, body: ReasonIn):
    return await catalog.take_down(principal.user_id, product_id, body.reason)


@bp.get("/certificates/expiring")
@endpoint(summary="Certificates expired or expiring within ?days (soonest first), with their products",
          roles=ADMIN, query=ExpiringCertQuery, response=Page[ExpiringCertOut], tags=TAGS)
async def expiring_certificates(request: Request, principal, query: ExpiringCertQuery):
    return await catalog.expiring_certificates(query.days, query.cursor, query.limit)


@bp.get("/categories")
@endpoint(summary="Every category, hidden ones too, in the storefront's order", roles=ADMIN,
          response=list[CategoryOut], tags=TAGS)
async def category_list(request: Request, principal):
    return [c.model_dump(mode="json") for c in await taxonomy.categories()]


@bp.post("/categories")
@endpoint(summary="Add a category", roles=ADMIN, body=CategoryIn, response=CategoryOut, status=201, tags=TAGS,
          errors=(409, 422))
async def category_create(request: Request, principal, body: CategoryIn):
    return await taxonomy.create_category(body, actor_id=principal.user_id)


@bp.patch("/categories/<category_id:int>")
@endpoint(summary="Rename, reorder or hide a category (a rename rebuilds its products' search text)",
          roles=ADMIN, body=CategoryPatch, response=CategoryOut, tags=TAGS, errors=(404, 409, 422))
async def category_update(request: Request, principal, category_id: int, body: CategoryPatch):
    return await taxonomy.update_category(category_id, body, actor_id=principal.user_id)


@bp.get("/brands")
@endpoint(summary="Every regional public brand (区域公共品牌), hidden ones too", roles=ADMIN,
          response=list[BrandOut], tags=TAGS)
async def brand_list(request: Request, principal):
    return [b.model_dump(mode="json") for b in await taxonomy.brands()]


@bp.post("/brands")
@endpoint(summary="Add a regional brand", roles=ADMIN, body=BrandIn, response=BrandOut, status=201, tags=TAGS,
          errors=(409, 422))
async def brand_create(request: Request, principal, body: BrandIn):
    return await taxonomy.create_brand(body, actor_id=principal.user_id)


@bp.patch("/brands/<brand_id:int>")
@endpoint(summary="Rename, reorder or hide a brand (a rename rebuilds its products' search text)",
          roles=ADMIN, body=BrandPatch, response=BrandOut, tags=TAGS, errors=(404, 409, 422))
async def brand_update(request: Request, principal, brand_id: int, body: BrandPatch):
    return await taxonomy.update_brand(brand_id, body, actor_id=principal.user_id)


class AuditQuery(QuerySchema):
    object_type: str = Field(pattern=r"^(product|merchant|sku)$")
    object_id: int = Field(ge=1, le=2**63 - 1)
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(50, ge=1, le=200)



@bp.get("/catalog-audit")
@endpoint(summary="Who did what to a product, SKU or merchant (newest first)", roles=ADMIN,
          query=AuditQuery, response=Page[AuditEntryOut], tags=TAGS)
async def audit_trail(request: Request, principal, query: AuditQuery):
    return await catalog.audit_trail(query.object_type, query.object_id, query.cursor, query.limit)
