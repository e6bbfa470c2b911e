"""The office's categories and regional brands page (类目与区域品牌): create, rename, reorder, hide."""
from __future__ import annotations

from sanic import Blueprint, HTTPResponse, Request

from server.catalog import taxonomy
from server.catalog.taxonomy import BrandIn, BrandPatch, CategoryIn, CategoryPatch
from server.console_web.web import Ctx, field_errors, page, parse
from server.kit import versions
from server.kit.errors import AppError, ValidationFailed

bp = Blueprint("console_web_taxonomy", url_prefix="/console")
STALE_ROW = ("这个{}在您打开页面后已被他人修改，您的修改没有保存（您填写的内容仍在这一行）。"
             "刷新页面可看到最新内容；核对后再点“保存”，将以您填写的内容为准。")
BRAND_HINTS = {"code": "代码应以小写字母开头，2–16 位小写字母、数字或 _。"}


async def _page(ctx: Ctx, notice: str = "", cat_form: dict | None = None, cat_errors: dict | None = None,
                brand_form: dict | None = None, brand_errors: dict | None = None, row_errors: dict | None = None,
                row_forms: dict | None = None, status: int = 200):
    """The page (or its #detail for htmx); row_forms: a row's typed values to keep after an error,
    by row key ("c12", "b3")."""
    cats = await taxonomy.categories()
    names = {c.id: c.name for c in cats}
    return ctx.render("_taxonomy.html" if ctx.htmx else "taxonomy.html", status=200 if ctx.htmx else status,
                      cats=cats, names=names,
                      brands=await taxonomy.brands(), notice=notice, cat_form=cat_form or {},
                      cat_errors=cat_errors or {}, brand_form=brand_form or {}, brand_errors=brand_errors or {},
                      row_errors=row_errors or {}, row_forms=row_forms or {})


async def _row_update(ctx: Ctx, key: str, what: str, form: dict, save) -> HTTPResponse:
    """Save one row's form (save: the service call); a bad field or a stale form is told beside the
    row, with what was typed kept. A stale form shows the row's current values' version, so saving
    again is a choice made knowing someone else changed it."""
    if not form.get("name"):
        return await _page(ctx, row_errors={key: "名称不能为空。"}, row_forms={key: form})
    try:
        row = await save()
    except ValidationFailed as exc:
        return await _page(ctx, row_errors={key: "；".join(field_errors(exc).values())}, row_forms={key: form})
    except AppError as exc:
        if exc.code != versions.STALE:
            raise
        return await _page(ctx, row_errors={key: STALE_ROW.format(what)}, row_forms={key: form}, status=409)
    return await _page(ctx, notice=f"已保存{what}“{row.name}”。")


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
    return await _row_update(ctx, f"c{category_id}", "类目", form, lambda: taxonomy.update_category(
        category_id, parse(CategoryPatch, {"name": form.get("name"), "sort": form.get("sort"),
                                           "hidden": "hidden" in form, "is_farm_product": "is_farm_product" in form,
                                           "version": form.get("version")}), actor_id=ctx.user_id))


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
    return await _row_update(ctx, f"b{brand_id}", "区域品牌", form, lambda: taxonomy.update_brand(
        brand_id, parse(BrandPatch, {"name": form.get("name"), "sort": form.get("sort"), "hidden": "hidden" in form,
                                     "version": form.get("version")}), actor_id=ctx.user_id))
