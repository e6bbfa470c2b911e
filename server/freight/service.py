"""Freight templates (运费模板) and the freight of one merchant's shipment.

The county's template is set by the office (merchant null); a merchant uses it or its own, whose
charges stay within the office's limits (settings freight_merchant_max_*). A template has zones of
region codes; an address falls in the zone listing its most specific code (town, county, city,
province, then "*"), so "211324" (Kazuo County) beside "210000" (Liaoning) and "*" (other provinces)
is the usual shape. The same code in two zones is an overlap and is refused with the field named.
A zone is free, flat (one charge a shipment), metered (first units, then per step; units are grams
or pieces by the template's basis) or not served. The cold-chain surcharge is added once a shipment
with a cold-chain line; goods of the shipment at or above free_above_fen waive the zone's charge."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.expressions import F

from server.addresses import regions
from server.catalog import service as catalog
from server.freight.errors import FreightCode
from server.freight.schemas import (LimitProblemOut, MerchantFreightOut, MerchantTemplateList, MerchantTemplateOut,
                                    TemplateIn, TemplateOut, ZoneOut)
from server.kit import audit, runtime
from server.kit.auth import Principal
from server.kit.db import atomic, id_page
from server.kit.errors import NotFound, ValidationFailed
from server.models.freight import FreightTemplate


# ---- templates ---------------------------------------------------------------------------------
def _out(t: FreightTemplate | None) -> TemplateOut | None:
    if t is None:
        return None
    zones = [ZoneOut(regions=z["regions"], region_names=[("其他地区" if c == "*" else regions.name(c))
                                                         for c in z["regions"]],
                     mode=z["mode"], first_units=z.get("first_units", 1), first_fen=z.get("first_fen", 0),
                     step_units=z.get("step_units", 1), step_fen=z.get("step_fen", 0)) for z in t.zones]
    return TemplateOut(id=t.id, merchant_id=t.merchant_id, name=t.name, basis=t.basis, zones=zones,
                       cold_chain_fen=t.cold_chain_fen, free_above_fen=t.free_above_fen, income_to=t.income_to,
                       is_active=t.is_active, updated_at=t.updated_at)


def limits() -> dict[str, int]:
    s = runtime.settings()
    return {"first_fen": s.freight_merchant_max_first_fen, "step_fen": s.freight_merchant_max_step_fen,
            "cold_chain_fen": s.freight_merchant_max_cold_fen}


def check_template(body: TemplateIn, *, merchant: bool) -> None:
    """Region codes exist, no code in two zones (422 overlapping_regions naming the field) and, for a
    merchant's own template, charges within the office's limits (422 above_office_limit)."""
    seen: dict[str, str] = {}
    for i, z in enumerate(body.zones):
        for j, code in enumerate(z.regions):
            where = f"zones.{i}.regions.{j}"
            if code != "*" and not regions.exists(code):
                raise ValidationFailed.field(where, "no such region")
            if code in seen:
                name = "其他地区" if code == "*" else regions.name(code)
                raise ValidationFailed(f"{where}: {name} ({code}) is already in {seen[code]}",
                                       code=FreightCode.OVERLAPPING_REGIONS,
                                       details=[{"field": where, "message": f"{code} overlaps {seen[code]}"}])
            seen[code] = where
    if merchant:
        lim = limits()
        for i, z in enumerate(body.zones):
            for key in ("first_fen", "step_fen"):
                if getattr(z, key) > lim[key]:
                    raise ValidationFailed(f"zones.{i}.{key}: at most {lim[key]} fen (the office's limit)",
                                           code=FreightCode.ABOVE_OFFICE_LIMIT,
                                           details=[{"field": f"zones.{i}.{key}", "message": f"at most {lim[key]}"}])
        if body.cold_chain_fen > lim["cold_chain_fen"]:
            raise ValidationFailed(f"cold_chain_fen: at most {lim['cold_chain_fen']} fen (the office's limit)",
                                   code=FreightCode.ABOVE_OFFICE_LIMIT,
                                   details=[{"field": "cold_chain_fen", "message": f"at most {lim['cold_chain_fen']}"}])
        if body.income_to != "merchant":
            raise ValidationFailed.field("income_to", "a merchant's own freight is its own income")


def _fields(body: TemplateIn) -> dict:
    return {"name": body.name, "basis": body.basis, "zones": [z.model_dump() for z in body.zones],
            "cold_chain_fen": body.cold_chain_fen, "free_above_fen": body.free_above_fen,
            "income_to": body.income_to}


async def county_template() -> TemplateOut | None:
    """The county's template (None until the office sets one: then every shipment is free)."""
    return _out(await FreightTemplate.filter(merchant_id=None).order_by("id").first())


async def set_county_template(body: TemplateIn, *, actor_id: int) -> TemplateOut:
    """The office sets the county's template (one; replaced whole), audited."""
    check_template(body, merchant=False)
    async with atomic() as conn:
        t = await FreightTemplate.filter(merchant_id=None).using_db(conn).order_by("id").select_for_update().first()
        if t is None:
            t = await FreightTemplate.create(merchant_id=None, updated_by=actor_id, **_fields(body), using_db=conn)
        else:
            await FreightTemplate.filter(id=t.id).using_db(conn).update(updated_by=actor_id, **_fields(body))
            t = await FreightTemplate.get(id=t.id, using_db=conn)
        await audit.record(actor_id, "freight.county_template", "freight_template", t.id, _fields(body), conn=conn)
    return _out(t)


async def merchant_freight(merchant_id: int) -> MerchantFreightOut:
    """What the merchant's shipments are priced by."""
    own = await FreightTemplate.get_or_none(merchant_id=merchant_id)
    return MerchantFreightOut(uses_own=bool(own and own.is_active), own=_out(own), county=await county_template(),
                              limits=limits())


async def set_merchant_template(merchant_id: int, body: TemplateIn, *, actor_id: int) -> MerchantFreightOut:
    """A merchant sets (and starts using) its own template, within the office's limits."""
    check_template(body, merchant=True)
    async with atomic() as conn:
        n = await FreightTemplate.filter(merchant_id=merchant_id).using_db(conn).update(
            updated_by=actor_id, is_active=True, **_fields(body))
        if n == 0:
            await FreightTemplate.create(merchant_id=merchant_id, updated_by=actor_id, is_active=True,
                                         **_fields(body), using_db=conn)
        await audit.record(actor_id, "freight.merchant_template", "merchant", merchant_id, _fields(body), conn=conn)
    return await merchant_freight(merchant_id)


async def use_county_template(merchant_id: int, *, actor_id: int) -> MerchantFreightOut:
    """The merchant goes back to the county's template (its own is kept, unused)."""
    async with atomic() as conn:
        n = await FreightTemplate.filter(merchant_id=merchant_id).using_db(conn).update(is_active=False)
        if n:
            await audit.record(actor_id, "freight.use_county", "merchant", merchant_id, {}, conn=conn)
    return await merchant_freight(merchant_id)


async def scoped_freight(principal: Principal, merchant_id: int) -> MerchantFreightOut:
    """merchant_freight for a merchant the caller manages (404 otherwise)."""
    await catalog.merchant_in_scope(principal, merchant_id)
    return await merchant_freight(merchant_id)


async def scoped_set_template(principal: Principal, merchant_id: int, body: TemplateIn) -> MerchantFreightOut:
    """set_merchant_template for a merchant the caller manages (404 otherwise)."""
    await catalog.merchant_in_scope(principal, merchant_id)
    return await set_merchant_template(merchant_id, body, actor_id=principal.user_id)


async def scoped_use_county(principal: Principal, merchant_id: int) -> MerchantFreightOut:
    """use_county_template for a merchant the caller manages (404 otherwise)."""
    await catalog.merchant_in_scope(principal, merchant_id)
    return await use_county_template(merchant_id, actor_id=principal.user_id)


# ---- pricing one shipment ------------------------------------------------------------------------
@dataclass(frozen=True)
class Item:
    """One order line as freight sees it."""
    sku_id: int
    merchant_id: int
    quantity: int
    unit_price: int
    weight_g: int
    cold_chain: bool


@dataclass(frozen=True)
class Shipment:
    merchant_id: int
    fen: int
    template_id: int | None
    zone: str
    income_to: str


async def templates_for(merchant_ids: set[int], conn: Any = None) -> dict[int | None, FreightTemplate]:
    """{merchant_id: its own template in use; None: the county's}."""
    rows = await (FreightTemplate.filter(merchant_id__in=list(merchant_ids), is_active=True).using_db(conn)
                  .order_by("id"))
    out: dict[int | None, FreightTemplate] = {t.merchant_id: t for t in rows}
    county = await FreightTemplate.filter(merchant_id=None).using_db(conn).order_by("id").first()
    if county is not None:
        out[None] = county
    return out


def zone_for(t: FreightTemplate, address: dict) -> dict | None:
    """The zone of the address's most specific region code (None: the template has none for it)."""
    codes = [address.get(k) or "" for k in ("town_code", "county_code", "city_code", "province_code")]
    by_code = {c: z for z in t.zones for c in z["regions"]}
    for code in [c for c in codes if c] + ["*"]:
        if code in by_code:
            return by_code[code]
    return None


def price_shipment(t: FreightTemplate | None, address: dict, items: list[Item]) -> Shipment:
    """The freight of one merchant's items to the address; 422 region_not_served (field address)."""
    merchant_id = items[0].merchant_id
    if t is None:
        return Shipment(merchant_id, 0, None, "none", "merchant")
    zone = zone_for(t, address)
    if zone is None or zone["mode"] == "not_served":
        where = " ".join(x for x in (address.get("province"), address.get("city"), address.get("county")) if x)
        raise ValidationFailed(f"address: {where or 'this region'} is not served",
                               code=FreightCode.REGION_NOT_SERVED,
                               details=[{"field": "address", "message": "region not served",
                                         "merchant_id": merchant_id}])
    goods = sum(i.unit_price * i.quantity for i in items)
    fen = 0
    if t.free_above_fen is None or goods < t.free_above_fen:
        if zone["mode"] == "flat":
            fen = zone.get("first_fen", 0)
        elif zone["mode"] == "metered":
            default_w = runtime.settings().freight_default_weight_g
            units = sum((i.weight_g or default_w) * i.quantity if t.basis == "weight" else i.quantity for i in items)
            first, step = zone.get("first_units", 1), max(1, zone.get("step_units", 1))
            extra = max(0, units - first)
            fen = zone.get("first_fen", 0) + -(-extra // step) * zone.get("step_fen", 0)
    if any(i.cold_chain for i in items):
        fen += t.cold_chain_fen
    return Shipment(merchant_id, fen, t.id, zone["mode"], t.income_to)


async def quote(address: dict, items: list[Item], conn: Any = None) -> list[Shipment]:
    """Freight per merchant for a delivery to address (a merchant's own template or the county's)."""
    by_merchant: dict[int, list[Item]] = {}
    for i in items:
        by_merchant.setdefault(i.merchant_id, []).append(i)
    tpl = await templates_for(set(by_merchant), conn)
    return [price_shipment(tpl.get(mid) or tpl.get(None), address, its) for mid, its in sorted(by_merchant.items())]


def limit_problems(t: TemplateOut) -> list[LimitProblemOut]:
    """Where a merchant's template goes beyond the office's limits as they are now (empty: within)."""
    lim = limits()
    out = [LimitProblemOut(field=f"zones.{i}.{key}", value=getattr(z, key), limit=lim[key])
           for i, z in enumerate(t.zones) if z.mode in ("flat", "metered")
           for key in ("first_fen", "step_fen") if getattr(z, key) > lim[key]]
    if t.cold_chain_fen > lim["cold_chain_fen"]:
        out.append(LimitProblemOut(field="cold_chain_fen", value=t.cold_chain_fen, limit=lim["cold_chain_fen"]))
    if t.income_to != "merchant":
        out.append(LimitProblemOut(field="income_to", value=t.income_to, limit="merchant"))
    return out


async def merchant_templates(cursor: str | None = None, limit: int = 50, *,
                             over_only: bool = False) -> MerchantTemplateList:
    """The office's list of merchants' own templates (newest first), each with its limits check;
    over_only: those beyond the limits only (checked per page)."""
    # the merchant's name joined in: one statement for the page, not a lookup after it
    qs = FreightTemplate.filter(merchant_id__not_isnull=True).annotate(listed_merchant_name=F("merchant__name"))
    rows, next_cursor = await id_page(qs, cursor, limit, newest_first=True)
    items = []
    for t in rows:
        out = _out(t)
        problems = limit_problems(out)
        if over_only and not problems:
            continue
        items.append(MerchantTemplateOut(merchant_id=t.merchant_id, merchant_name=t.listed_merchant_name or "",
                                         template=out, within_limits=not problems, problems=problems))
    return MerchantTemplateList(items=items, limits=limits(), next_cursor=next_cursor)


async def get_template(template_id: int) -> TemplateOut:
    t = await FreightTemplate.get_or_none(id=template_id)
    if t is None:
        raise NotFound("freight template not found")
    return _out(t)


DEMO_COUNTY_TEMPLATE = TemplateIn(
    name="喀左县运费（演示）", basis="piece", cold_chain_fen=800, free_above_fen=9900, zones=[
        {"regions": ["211324"], "mode": "free"},
        {"regions": ["210000"], "mode": "metered", "first_units": 1, "first_fen": 600, "step_units": 1,
         "step_fen": 200},
        {"regions": ["*"], "mode": "metered", "first_units": 1, "first_fen": 1200, "step_units": 1,
         "step_fen": 500}])


async def seed_demo() -> dict:
    """The demo's county template (seed-demo), when the office has none yet."""
    if await FreightTemplate.filter(merchant_id=None).exists():
        return {"freight templates": 0}
    await FreightTemplate.create(merchant_id=None, **_fields(DEMO_COUNTY_TEMPLATE))
    return {"freight templates": 1}
