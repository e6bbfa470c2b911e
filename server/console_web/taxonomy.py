"""The office's categories and regional brands page (类目与区域品牌): create, rename, reorder, hide."""
from __future__ import annotations

from sanic import Blueprint, Request

from server.catalog import taxonomy
from server.catalog.taxonomy import BrandIn, BrandPatch, CategoryIn, CategoryPatch
from server.console_web.web import Ctx, field_errors, page, parse
from server.kit.errors import AppError, ValidationFailed

bp = Blueprint("console_web_taxonomy", url_prefix="/console")
BRAND_HINTS = {"code": "代码应以小写字母开头，2–16 位小写字母、数字或 _。"}


async def _page(ctx: Ctx, notice: str = "", cat_form: dict | None = None, cat_errors: dict | None = None,
                brand_form: dict | None = None, brand_errors: dict | None = None, row_errors: dict | None = None):
    cats = await taxonomy.categories()
    names = {c.id: c.name for c in cats}
    return ctx.render("_taxonomy.html" if ctx.htmx else "taxonomy.html", cats=cats, names=names,
                      brands=await taxonomy.brands(), notice=notice, cat_form=cat_form or {},
                      cat_errors=cat_errors or {}, brand_form=brand_form or {}, brand_errors=brand_errors or {},
                      row_errors=row_errors or {})


@bp.get("/taxonomy")
@page()
async def taxonomy_page(request: Request, ctx: Ctx):
    return await _page(ctx)


@bp.post("/taxonomy/categories")
@page()
async def category_create(request: Request, ctx: Ctx):
    form = ctx.form()
    try:
        body = parse(CategoryIn, {**form, "is_farm_product": "is_farm_product" in form})
        c = await taxonomy.create_category(body, actor_id=ctx.user_id)
    except ValidationFailed as exc:
        return await _page(ctx, cat_form=form, cat_errors=field_errors(exc))
    except AppError as exc:
        if exc.code != "category_slug_taken":
            raise
        return await _page(ctx, cat_form=form, cat_errors={"slug": "该代码已被其他类目使用。"})
    return await _page(ctx, notice=f"已新建类目“{c.name}”。")


@bp.post("/taxonomy/categories/<category_id:int>")
@page()
async def category_update(request: Request, ctx: Ctx, category_id: int):
    form = ctx.form()
    if not form.get("name"):
        return await _page(ctx, row_errors={f"c{category_id}": "名称不能为空。"})
    try:
        patch = parse(CategoryPatch, {"name": form.get("name"), "sort": form.get("sort"),
                                      "hidden": "hidden" in form, "is_farm_product": "is_farm_product" in form})
        c = await taxonomy.update_category(category_id, patch, actor_id=ctx.user_id)
    except ValidationFailed as exc:
        return await _page(ctx, row_errors={f"c{category_id}": "；".join(field_errors(exc).values())})
    return await _page(ctx, notice=f"已保存类目“{c.name}”。")


@bp.post("/taxonomy/brands")
@page()
async def brand_create(request: Request, ctx: Ctx):
    form = ctx.form()
    try:
        b = await taxonomy.create_brand(parse(BrandIn, form), actor_id=ctx.user_id)
    except ValidationFailed as exc:
        return await _page(ctx, brand_form=form, brand_errors=field_errors(exc, BRAND_HINTS))
    except AppError as exc:
        if exc.code != "brand_code_taken":
            raise
        return await _page(ctx, brand_form=form, brand_errors={"code": "该代码已被其他品牌使用。"})
    return await _page(ctx, notice=f"已新建区域品牌“{b.name}”。")


@bp.post("/taxonomy/brands/<brand_id:int>")
@page()
async def brand_update(request: Request, ctx: Ctx, brand_id: int):
    form = ctx.form()
    if not form.get("name"):
        return await _page(ctx, row_errors={f"b{brand_id}": "名称不能为空。"})
    try:
        patch = parse(BrandPatch, {"name": form.get("name"), "sort": form.get("sort"), "hidden": "hidden" in form})
        b = await taxonomy.update_brand(brand_id, patch, actor_id=ctx.user_id)
    except ValidationFailed as exc:
        return await _page(ctx, row_errors={f"b{brand_id}": "；".join(field_errors(exc).values())})
    return await _page(ctx, notice=f"已保存区域品牌“{b.name}”。")
