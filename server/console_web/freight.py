"""Freight templates in the console (运费模板): the office sets the county's (/console/freight); a
merchant sees it and may set its own within the office's limits (/console/shop/freight).

A surface: reads and writes go through server/freight with the caller's principal (a merchant's own
template only for merchants it manages: 404 otherwise). Money is typed in yuan, zones one per row
with their region codes (行政区划代码, "*" for everywhere else); a refused field is shown on its row."""
from __future__ import annotations

import re

from sanic import Blueprint, Request

from server.console_web.web import Ctx, field_errors, filters, next_url, page
from server.freight import service as freight
from server.freight.schemas import MerchantTemplateQuery, TemplateIn, TemplateOut
from server.kit.errors import ValidationFailed
from server.kit.money import fen_of_yuan
from server.merchants import service as merchants

bp = Blueprint("console_web_freight", url_prefix="/console")
ROWS = 6  # zone rows on the form (the four usual ones and room for two more)
MODES = [("free", "包邮"), ("flat", "每单固定运费"), ("metered", "首件/首重 + 续件/续重"), ("not_served", "不配送")]
ZONE_MESSAGES = {"overlapping_regions": "这个地区已在另一行中（同一地区只能属于一个区域）。",
                 "above_office_limit": "超过县电商办规定的上限。"}


def _yuan(fen: int | None) -> str:
    return "" if fen is None else f"{fen / 100:.2f}"


def _form_of(t: TemplateOut | None) -> dict:
    """A template as the form's fields."""
    if t is None:
        return {"basis": "piece", "income_to": "merchant"}
    form = {"name": t.name, "basis": t.basis, "cold_chain_fen": _yuan(t.cold_chain_fen),
            "free_above_fen": _yuan(t.free_above_fen), "income_to": t.income_to}
    for i, z in enumerate(t.zones):
        form.update({f"z{i}_regions": " ".join(z.regions), f"z{i}_mode": z.mode, f"z{i}_first_units": str(z.first_units),
                     f"z{i}_first_fen": _yuan(z.first_fen), f"z{i}_step_units": str(z.step_units),
                     f"z{i}_step_fen": _yuan(z.step_fen)})
    return form


def _fen(form: dict, key: str, errors: dict) -> int | None:
    text = form.get(key, "")
    if not text:
        return None
    fen = fen_of_yuan(text)
    if fen is None or fen < 0:
        errors[key] = "请输入金额（元），如 8.00。"
        return None
    return fen


def _body(form: dict) -> tuple[TemplateIn | None, dict, list[int]]:
    """The template typed in the form (None with errors by field, and the rows used, by zone index)."""
    errors: dict[str, str] = {}
    zones, rows = [], []
    for i in range(ROWS):
        regions = [c for c in re.split(r"[\s,，、]+", form.get(f"z{i}_regions", "")) if c]
        if not regions:
            continue
        zone = {"regions": regions, "mode": form.get(f"z{i}_mode") or "free"}
        for k in ("first_units", "step_units"):
            text = form.get(f"z{i}_{k}", "")
            if text.isdigit() and len(text) < 8 and int(text) >= 1:
                zone[k] = int(text)
            elif text:
                errors[f"z{i}_{k}"] = "请输入件数或克数（正整数）。"
        for k in ("first_fen", "step_fen"):
            v = _fen(form, f"z{i}_{k}", errors)
            if v is not None:
                zone[k] = v
        zones.append(zone)
        rows.append(i)
    data = {"name": form.get("name", ""), "basis": form.get("basis") or "piece", "zones": zones,
            "income_to": form.get("income_to") or "merchant"}
    for k in ("cold_chain_fen", "free_above_fen"):
        v = _fen(form, k, errors)
        if v is not None:
            data[k] = v
    if not zones:
        errors["zones"] = "请至少填写一个区域（地区代码）。"
    if errors:
        return None, errors, rows
    try:
        return TemplateIn.model_validate(data), {}, rows
    except ValueError as exc:
        first = exc.errors()[0] if hasattr(exc, "errors") else {"loc": ("zones",), "msg": str(exc)}
        return None, _row_errors(".".join(str(p) for p in first["loc"]), "", rows) or {"zones": "输入有误。"}, rows


def _row_errors(where: str, code: str, rows: list[int]) -> dict:
    """A service's field (zones.2.regions.0, cold_chain_fen) as the form's field (z5_regions ...)."""
    m = re.match(r"zones\.(\d+)\.(\w+)", where)
    if m and int(m.group(1)) < len(rows):
        row, key = rows[int(m.group(1))], m.group(2)
        return {f"z{row}_{key}": ZONE_MESSAGES.get(code, "请检查这一项（地区代码为 6 位或 9 位数字，或 *）。")}
    if where in ("cold_chain_fen", "free_above_fen", "basis", "income_to", "name"):
        return {where: ZONE_MESSAGES.get(code, "请检查这一项。")}
    return {}


def _errors_of(exc: ValidationFailed, rows: list[int]) -> dict:
    out: dict[str, str] = {}
    for d in exc.details or []:
        out.update(_row_errors(str(d.get("field", "")), exc.code, rows))
    return out or field_errors(exc)


# ---- the office ---------------------------------------------------------------------------------
async def _office_page(ctx: Ctx, form: dict | None = None, errors: dict | None = None, notice: str = "",
                       status: int = 200):
    county = await freight.county_template()
    return ctx.render("freight.html", status=status, form=form if form is not None else _form_of(county),
                      errors=errors or {}, notice=notice, county=county, rows=ROWS, modes=MODES,
                      limits=freight.limits(), merchant=None, action="/console/freight")


@bp.get("/freight")
@page()
async def office_freight(request: Request, ctx: Ctx):
    return await _office_page(ctx)


@bp.post("/freight")
@page()
async def office_freight_save(request: Request, ctx: Ctx):
    form = ctx.form()
    body, errors, rows = _body(form)
    if body is None:
        return await _office_page(ctx, form, errors, status=422)
    try:
        await freight.set_county_template(body, actor_id=ctx.user_id)
    except ValidationFailed as exc:
        return await _office_page(ctx, form, _errors_of(exc, rows), status=422)
    return await _office_page(ctx, notice="已保存全县运费模板。")


@bp.get("/freight/merchants")
@page()
async def office_merchant_templates(request: Request, ctx: Ctx):
    """Merchants' own templates, each checked against the office's limits as they are now."""
    f, errors = filters(ctx, MerchantTemplateQuery)
    result = await freight.merchant_templates(f.cursor, 50, over_only=f.over_only)
    return ctx.render("freight_merchants.html", f=f, errors=errors, rows=result.items, limits=result.limits,
                      modes=dict(MODES), next_href=next_url(result.next_cursor, request))


# ---- the merchant's desk ------------------------------------------------------------------------
async def _shop_page(ctx: Ctx, merchant_id: int | None = None, form: dict | None = None,
                     errors: dict | None = None, notice: str = "", status: int = 200):
    mine = [m for m in await merchants.my_merchants(ctx.principal)
            if m.id in ctx.principal.merchant_ids and m.status == "active"]
    current = next((m for m in mine if m.id == merchant_id), mine[0] if mine else None)
    info = await freight.scoped_freight(ctx.principal, current.id) if current else None
    if form is None:
        form = _form_of(info.own if info and info.own else None)
    return ctx.render("mer_freight.html", status=status, shops=mine, merchant=current, info=info, form=form,
                      errors=errors or {}, notice=notice, rows=ROWS, modes=MODES, limits=freight.limits(),
                      action=f"/console/shop/freight/{current.id}" if current else "")


@bp.get("/shop/freight")
@page(roles=("merchant",))
async def shop_freight(request: Request, ctx: Ctx):
    mid = request.args.get("merchant_id", "")
    return await _shop_page(ctx, int(mid) if mid.isdigit() and len(mid) < 19 else None)


@bp.post("/shop/freight/<merchant_id:int>")
@page(roles=("merchant",))
async def shop_freight_save(request: Request, ctx: Ctx, merchant_id: int):
    form = ctx.form()
    body, errors, rows = _body({**form, "income_to": "merchant"})
    if body is None:
        await freight.scoped_freight(ctx.principal, merchant_id)  # 404 before telling anything
        return await _shop_page(ctx, merchant_id, form, errors, status=422)
    try:
        await freight.scoped_set_template(ctx.principal, merchant_id, body)
    except ValidationFailed as exc:
        return await _shop_page(ctx, merchant_id, form, _errors_of(exc, rows), status=422)
    return await _shop_page(ctx, merchant_id, notice="已保存并启用本店运费模板。")


@bp.post("/shop/freight/<merchant_id:int>/county")
@page(roles=("merchant",))
async def shop_freight_use_county(request: Request, ctx: Ctx, merchant_id: int):
    await freight.scoped_use_county(ctx.principal, merchant_id)
    return await _shop_page(ctx, merchant_id, notice="本店已改用全县运费模板。")
