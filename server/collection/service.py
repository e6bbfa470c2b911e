"""First-mile collection (村级揽收 → 乡镇 → 县仓, 农产品上行).

Station staff record a collection from a producer their station sells for (代卖): SKU, units with their
weight, grade, photos, the producer's plot and harvest date. It opens a new trace batch or adds to an
open, unsold batch of the same producer and product (server/trace/collected.py), in one transaction
with the collection and its first scan.

The goods go up the station network the way returns do (village → town → county), one scan per hop,
with the parcels' rules: the position on the route decides which scan is possible, the same scan twice
is one event (unique scan_key), an impossible scan is refused (409 impossible_scan) and audited, a
staff member scans only at their own stations (404 otherwise). Promises: the town within
fulfillment_town_village_hours of collection, the county the same day it reached the town.

At the county warehouse the arrival is received against the collection (no inbound note): the
count, a reason when it differs, and the units become the merchant's sellable stock through
server/inventory (journal reason 'collection', reference the collection). Picking accepts the batch of
a received collection like a received inbound batch."""
from __future__ import annotations

import logging
import secrets
import string
from datetime import date, datetime, time, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.functions import Count, Sum

from server.collection.errors import CollectionCode
from server.collection.schemas import (GRADE_LABELS, STATUS_LABELS, CollectionIn, CollectionOut,
                                       CollectionQuery, CollectionScanOut, CollectionScanResultOut,
                                       CollectionStatsOut, OpenBatchOut, PhotoOut, PlaceFigures, PromiseOut,
                                       ReceiveCollectionIn, SoldOut)
from server.fulfillment import routing
from server.fulfillment import scans as fulfillment_scans
from server.fulfillment.errors import FulfillmentCode
from server.fulfillment.schemas import ScanResultOut
from server.inventory import service as inventory
from server.kit import audit, clock, runtime
from server.kit.auth import Principal
from server.kit.db import atomic, id_page
from server.kit.errors import Conflict, NotFound, ValidationFailed
from server.kit.schemas import Page
from server.media import IMAGE_KINDS, store_upload
from server.models.catalog import Product, Sku
from server.models.collection import Collection, CollectionScan, CollectionStatus
from server.models.fulfillment import PickRecord
from server.models.inventory import StockReason
from server.models.merchants import Merchant
from server.models.orders import OrderLine
from server.models.stations import Station
from server.models.trace import Batch, BatchStatus
from server.notify import outbox
from server.stations import assisted
from server.trace import collected as trace_collected
from server.trace import service as trace_service

log = logging.getLogger("kazuo.collection")
S = CollectionStatus
LEG_VILLAGE_TOWN = "village_town"
LEG_TOWN_COUNTY = "town_county"
_ALPHABET = string.ascii_uppercase + string.digits


class _Stale(Exception):
    """The collection moved between reading and writing: read again."""


def _not_found() -> NotFound:
    return NotFound("collection not found", code=CollectionCode.COLLECTION_NOT_FOUND)


# ---- output -------------------------------------------------------------------------------------
def _promises(c: Collection, now: datetime) -> list[PromiseOut]:
    out = []
    for leg, due, met in ((LEG_VILLAGE_TOWN, c.town_due_at, c.town_met_at),
                          (LEG_TOWN_COUNTY, c.county_due_at, c.county_met_at)):
        if due is None:
            continue
        out.append(PromiseOut(leg=leg, due_at=due, met_at=met,
                              breached=(met > due) if met is not None else now > due))
    return out


async def _outs(rows: list[Collection], *, detail: bool = False) -> list[CollectionOut]:
    if not rows:
        return []
    sids = {c.station_id for c in rows}
    names = dict(await Station.filter(id__in=list(sids)).values_list("id", "name"))
    merchants = dict(await Merchant.filter(id__in=list({c.merchant_id for c in rows})).values_list("id", "name"))
    products = dict(await Product.filter(id__in=list({c.product_id for c in rows})).values_list("id", "name"))
    specs = dict(await Sku.filter(id__in=list({c.sku_id for c in rows})).values_list("id", "spec"))
    batches = {b["id"]: b for b in await Batch.filter(id__in=list({c.batch_id for c in rows}))
               .values("id", "code", "trace_code")}
    scans: dict[int, list[CollectionScanOut]] = {}
    if detail:
        evs = await CollectionScan.filter(collection_id__in=[c.id for c in rows]).order_by("id")
        ev_names = dict(await Station.filter(id__in=list({e.station_id for e in evs if e.station_id}))
                        .values_list("id", "name")) if evs else {}
        for e in evs:
            scans.setdefault(e.collection_id, []).append(CollectionScanOut(
                kind=e.kind, station_id=e.station_id, station_name=ev_names.get(e.station_id, ""), at=e.at,
                data=e.data or {}))
    now = clock.now()
    out = []
    for c in rows:
        b = batches.get(c.batch_id, {})
        out.append(CollectionOut(
            id=c.id, label=c.label, status=c.status, status_label=STATUS_LABELS.get(c.status, c.status),
            station_id=c.station_id, station_name=names.get(c.station_id, ""), town=c.town, village=c.village,
            merchant_id=c.merchant_id, merchant_name=merchants.get(c.merchant_id, ""), product_id=c.product_id,
            product_name=products.get(c.product_id, ""), sku_id=c.sku_id, sku_spec=specs.get(c.sku_id, ""),
            batch_id=c.batch_id, batch_code=b.get("code", ""), trace_code=b.get("trace_code", ""),
            new_batch=c.new_batch, quantity=c.quantity, weight_g=c.weight_g, unit_price_fen=c.unit_price_fen,
            value_fen=c.value_fen, grade=c.grade, grade_label=GRADE_LABELS.get(c.grade, c.grade),
            photos=list(c.photos or []), cold_chain=c.cold_chain, note=c.note, route=list(c.route or []),
            position=c.position, moving=c.moving, received_qty=c.received_qty,
            difference=(c.received_qty - c.quantity) if c.received_qty is not None else None,
            difference_reason=c.difference_reason, received_at=c.received_at, created_at=c.created_at,
            promises=_promises(c, now), scans=scans.get(c.id, [])))
    return out


async def _out(c: Collection) -> CollectionOut:
    return (await _outs([c], detail=True))[0]


# ---- recording a collection ---------------------------------------------------------------------
async def _route(station: Station) -> tuple[list[int], Station | None]:
    """The way up: the collecting station, its town centre (for a village station), the county."""
    county = await routing.county_station()
    if station.level == "village":
        town = await Station.get_or_none(id=station.parent_id) if station.parent_id else None
        if town is None or town.level != "town":
            raise Conflict("this village station has no town centre to send goods up through",
                           code=CollectionCode.NOT_A_COLLECTING_STATION)
        return [station.id, town.id, county.id], town
    if station.level == "town":
        return [station.id, county.id], station
    raise Conflict("collections are recorded at village stations and town centres",
                   code=CollectionCode.NOT_A_COLLECTING_STATION)


def _new_label() -> str:
    return "CL" + "".join(secrets.choice(_ALPHABET) for _ in range(12))


def _check_size(body: CollectionIn, sku: Sku) -> None:
    """Clear refusals for impossible amounts (0 is refused by the schema): a station does not collect
    ten tonnes over the counter."""
    s = runtime.settings()
    max_g = s.collection_max_weight_kg * 1000
    if body.quantity > s.collection_max_units:
        raise ValidationFailed.field("quantity", f"at most {s.collection_max_units} units in one collection")
    if body.weight_g > max_g:
        raise ValidationFailed.field("weight_g", f"at most {s.collection_max_weight_kg} kg in one collection")
    if sku.weight_g and body.quantity * sku.weight_g > max_g:
        raise ValidationFailed.field("quantity", f"{body.quantity} units weigh more than "
                                                 f"{s.collection_max_weight_kg} kg")
    if body.harvested_on is not None and body.harvested_on > clock.local_today():
        raise ValidationFailed.field("harvested_on", "the harvest date is in the future")


async def record(principal: Principal, station_id: int, body: CollectionIn) -> CollectionOut:
    """Record a collection at the caller's station (揽收登记): its batch, its first scan, one transaction."""
    principal.require_station(station_id)
    station = await Station.get_or_none(id=station_id)
    if station is None:
        raise NotFound("station not found")
    m = await Merchant.get_or_none(id=body.merchant_id)
    if m is None or m.operated_by_station_id != station_id:
        raise NotFound("no such producer sells through this station",
                       code=CollectionCode.PRODUCER_NOT_OPERATED,
                       details=[{"field": "merchant_id", "message": "not a producer of this station"}])
    if m.status != "active":
        raise ValidationFailed.field("merchant_id", "the producer is not active")
    sku = await Sku.get_or_none(id=body.sku_id, product__merchant_id=m.id).select_related("product")
    if sku is None:
        raise ValidationFailed.field("sku_id", "not a SKU of this producer")
    _check_size(body, sku)
    route, town = await _route(station)
    now = clock.now()
    grade = GRADE_LABELS[body.grade]
    kg = f"{body.weight_g / 1000:g}"
    step = (f"{station.name}揽收：{sku.product.name}（{sku.spec}）{body.quantity}件，{kg}公斤，{grade}"
            + (f"，地块{body.plot}" if body.plot else "")
            + (f"，采收于{body.harvested_on.isoformat()}" if body.harvested_on else ""))
    producer = trace_collected.Producer(
        merchant_id=m.id, product_id=sku.product_id, sku_id=sku.id,
        kind="household" if m.kind == "household" else "merchant", name=m.name,
        town=station.town or m.town, village=station.village or m.village, plot=body.plot,
        harvested_on=body.harvested_on, responsible_name=m.contact_name, responsible_phone=m.contact_phone or "")
    cold = sku.cold_chain if body.cold_chain is None else body.cold_chain
    for _ in range(3):
        label = _new_label()
        try:
            async with atomic() as conn:
                batch = await trace_collected.open_batch(
                    conn, producer, body.quantity, step, list(body.photos), actor=station.name,
                    actor_id=principal.user_id, batch_id=body.batch_id)
                c = await Collection.create(
                    label=label, station_id=station.id, town_station_id=town.id if town else None,
                    town=station.town, village=station.village if station.level == "village" else "",
                    is_poor_village=station.is_poor_village, merchant_id=m.id, product_id=sku.product_id,
                    sku_id=sku.id, batch_id=batch.id, new_batch=batch.new, quantity=body.quantity,
                    weight_g=body.weight_g, unit_price_fen=sku.price, value_fen=sku.price * body.quantity,
                    grade=body.grade, photos=list(body.photos), cold_chain=cold, note=body.note,
                    route=route, position=0, moving=False,
                    town_due_at=(now + timedelta(hours=runtime.settings().fulfillment_town_village_hours)
                                 if len(route) == 3 else None),
                    county_due_at=routing.county_town_due(now) if len(route) == 2 else None,
                    created_by_id=principal.user_id, created_at=now, using_db=conn)
                await CollectionScan.create(collection_id=c.id, kind="collected", station_id=station.id,
                                            actor_id=principal.user_id, scan_key=f"{c.id}:collected:{station.id}",
                                            at=now, data={"quantity": body.quantity, "weight_g": body.weight_g},
                                            using_db=conn)
                await audit.record(principal.user_id, "collection.record", "collection", c.id,
                                   {"station_id": station.id, "merchant_id": m.id, "sku_id": sku.id,
                                    "quantity": body.quantity, "batch_id": batch.id, "new_batch": batch.new},
                                   conn=conn)
        except IntegrityError:
            continue  # a label collision (70 bits): draw again
        return await _out(await Collection.get(id=c.id))
    raise Conflict("could not label the collection; try again", code=FulfillmentCode.SCAN_BUSY)


async def store_photo(principal: Principal, station_id: int, data: bytes, filename: str) -> PhotoOut:
    """A photo of the goods taken at the counter (checked by content and size); its key goes into
    the collection's photos."""
    principal.require_station(station_id)
    stored = await store_upload(data, kind="collection", filename=filename, allowed=IMAGE_KINDS,
                                max_bytes=runtime.settings().media_image_max_bytes)
    return PhotoOut(key=stored.key, url=stored.url)


async def open_batches(principal: Principal, station_id: int, merchant_id: int, sku_id: int) -> list[OpenBatchOut]:
    """The producer's open, unsold batches of the SKU's product a new collection may add to."""
    principal.require_station(station_id)
    m = await Merchant.get_or_none(id=merchant_id)
    if m is None or m.operated_by_station_id != station_id:
        raise NotFound("no such producer sells through this station", code=CollectionCode.PRODUCER_NOT_OPERATED)
    sku = await Sku.get_or_none(id=sku_id, product__merchant_id=m.id)
    if sku is None:
        raise ValidationFailed.field("sku_id", "not a SKU of this producer")
    out = []
    for b in await Batch.filter(merchant_id=m.id, product_id=sku.product_id, status=BatchStatus.OPEN,
                                locked_at=None).order_by("-id").limit(20):
        if b.sku_ids and sku.id not in [int(i) for i in b.sku_ids]:
            continue
        if await trace_service.sold(b):
            continue
        out.append(OpenBatchOut(id=b.id, code=b.code, trace_code=b.trace_code, produced_on=b.produced_on,
                                quantity=b.quantity, created_at=b.created_at))
    return out


async def station_open_batches(principal: Principal, station_id: int) -> list[dict]:
    """Every open, unsold batch of the station's producers (the desk's "add to batch" choice)."""
    principal.require_station(station_id)
    mids = list(await Merchant.filter(operated_by_station_id=station_id).values_list("id", flat=True))
    out = []
    for b in await Batch.filter(merchant_id__in=mids, status=BatchStatus.OPEN, locked_at=None) \
            .order_by("-id").limit(50) if mids else []:
        if not await trace_service.sold(b):
            out.append({"id": b.id, "code": b.code, "merchant_id": b.merchant_id, "product_id": b.product_id,
                        "produced_on": b.produced_on})
    return out


# ---- lists in scope -----------------------------------------------------------------------------
async def _page(qs: Any, query: CollectionQuery) -> Page[CollectionOut]:
    if query.status:
        qs = qs.filter(status=query.status)
    rows, nxt = await id_page(qs, query.cursor, query.limit, newest_first=True)
    return Page[CollectionOut](items=await _outs(rows), next_cursor=nxt)


async def station_collections(principal: Principal, station_id: int, query: CollectionQuery) -> Page[CollectionOut]:
    """The collections recorded at one of the caller's stations (a town centre: and those of its
    villages, which pass through it), newest first."""
    principal.require_station(station_id)
    return await _page(Collection.filter(Q(station_id=station_id) | Q(town_station_id=station_id)), query)


async def station_collection(principal: Principal, station_id: int, collection_id: int) -> CollectionOut:
    """One collection of the caller's station with its scans and what sold (404 for another's)."""
    principal.require_station(station_id)
    c = await Collection.get_or_none(Q(station_id=station_id) | Q(town_station_id=station_id), id=collection_id)
    if c is None:
        raise _not_found()
    return await _with_sold(c)


async def _merchant_scope(principal: Principal, merchant_id: int) -> None:
    m = await Merchant.get_or_none(id=merchant_id)
    if m is None or not (merchant_id in principal.merchant_ids
                         or (m.operated_by_station_id and m.operated_by_station_id in principal.station_ids)):
        raise NotFound("merchant not found")


async def merchant_collections(principal: Principal, merchant_id: int, query: CollectionQuery) -> Page[CollectionOut]:
    """The household's (merchant's) own collections, newest first."""
    await _merchant_scope(principal, merchant_id)
    return await _page(Collection.filter(merchant_id=merchant_id), query)


async def merchant_collection(principal: Principal, merchant_id: int, collection_id: int) -> CollectionOut:
    """One of the household's collections: status, every hop, the receipt, and what sold (代卖)."""
    await _merchant_scope(principal, merchant_id)
    c = await Collection.get_or_none(id=collection_id, merchant_id=merchant_id)
    if c is None:
        raise _not_found()
    return await _with_sold(c)


async def household_view(principal: Principal, limit: int = 20) -> list[CollectionOut]:
    """The newest collections of every merchant the caller is a member of, each with what sold."""
    rows = await Collection.filter(merchant_id__in=list(principal.merchant_ids)).order_by("-id").limit(limit) \
        if principal.merchant_ids else []
    return [await _with_sold(c) for c in rows]


async def _with_sold(c: Collection) -> CollectionOut:
    out = await _out(c)
    b = await Batch.get(id=c.batch_id)
    picks = await PickRecord.filter(batch=b.code, line__sku_id=c.sku_id).values(
        "quantity", "line__order_line__unit_price")
    since = clock.now() - timedelta(days=30)
    agg = await (OrderLine.filter(merchant_id=c.merchant_id, order__status__in=assisted.SOLD,
                                  order__paid_at__gte=since)
                 .annotate(q=Sum("quantity"), a=Sum("amount"), r=Sum("refunded_fen"))
                 .group_by("merchant_id").values("q", "a", "r"))
    row = agg[0] if agg else {}
    out.sold = SoldOut(batch_sold_units=sum(p["quantity"] for p in picks),
                       batch_sold_fen=sum(p["quantity"] * (p["line__order_line__unit_price"] or 0) for p in picks),
                       merchant_sold_units_30d=int(row.get("q") or 0),
                       merchant_sold_fen_30d=int(row.get("a") or 0) - int(row.get("r") or 0))
    return out


# ---- the way up: scans ---------------------------------------------------------------------------
def _plan(c: Collection, kind: str, station_id: int, now: datetime) -> dict:
    """The collection's new fields if `kind` at `station_id` is possible now; Conflict otherwise."""
    route = list(c.route or [])
    last = len(route) - 1
    pos = c.position
    here = route[pos] if 0 <= pos <= last else None

    def no(why: str) -> Conflict:
        return Conflict(f"impossible scan: {why}", code=FulfillmentCode.IMPOSSIBLE_SCAN,
                        details={"status": c.status, "kind": kind})

    if c.status in (S.ARRIVED, S.RECEIVED):
        raise no("the goods are at the county warehouse")
    if kind == "dispatched":
        if c.moving:
            raise no("it is already on its way")
        if station_id != here:
            raise no("it is not at this station")
        return {"moving": True, "status": S.IN_TRANSIT}
    if kind == "arrived":
        if not c.moving or pos + 1 > last or route[pos + 1] != station_id:
            raise no("this station is not its next stop up")
        if pos + 1 == last:
            return {"moving": False, "position": last, "status": S.ARRIVED, "county_met_at": now}
        return {"moving": False, "position": pos + 1, "status": S.AT_STATION, "town_met_at": now,
                "county_due_at": routing.county_town_due(now)}
    raise no("a collection is only dispatched and arrives")


async def _refuse(actor_id: int | None, label: str, kind: str, station_id: int | None, exc: Exception) -> None:
    try:
        await audit.record(actor_id, "collection.scan_refused", "collection", label,
                           {"kind": kind, "station_id": station_id, "code": getattr(exc, "code", ""),
                            "reason": getattr(exc, "message", str(exc))})
    except Exception:  # noqa: BLE001 - the refusal stands even if its audit entry cannot be written
        log.exception("could not audit a refused collection scan")


async def record_scan(label: str, kind: str, station_id: int, *, actor_id: int | None) -> CollectionScanResultOut:
    """One hop of a collection (idempotent; impossible scans are 409 and audited)."""
    for _ in range(5):
        c = await Collection.get_or_none(label=label)
        if c is None:
            exc = _not_found()
            await _refuse(actor_id, label, kind, station_id, exc)
            raise exc
        key = f"{c.id}:{kind}:{station_id}"
        now = clock.now()
        try:
            new = _plan(c, kind, station_id, now)
        except Conflict as exc:
            # each station is passed once on the way up: a scan already recorded is a replay
            if await CollectionScan.filter(scan_key=key).exists():
                return CollectionScanResultOut(duplicate=True, collection=await _out(c))
            await _refuse(actor_id, label, kind, station_id, exc)
            raise
        try:
            async with atomic() as conn:
                n = await Collection.filter(id=c.id, version=c.version).using_db(conn).update(
                    version=F("version") + 1, **new)
                if not n:
                    raise _Stale()
                await CollectionScan.create(collection_id=c.id, kind=kind, station_id=station_id, actor_id=actor_id,
                                            scan_key=key, at=now, using_db=conn)
        except (_Stale, IntegrityError):
            continue  # scanned by someone else at the same moment: look again
        return CollectionScanResultOut(duplicate=False, collection=await _out(await Collection.get(id=c.id)))
    raise Conflict("the collection is being scanned by someone else; scan again", code=FulfillmentCode.SCAN_BUSY)


async def scan(principal: Principal, label: str, kind: str, station_id: int | None) -> CollectionScanResultOut:
    """A hop scanned by station staff at their own station or by the warehouse at the county."""
    place = await fulfillment_scans.scan_place(principal, station_id, label, kind)
    return await record_scan(label, kind, place, actor_id=principal.user_id)


async def is_label(label: str) -> bool:
    """Whether a scanned label is a collection's (CL…; parcels are KZ…): the parcel scan endpoint and
    the station desk's 扫码收发 send it down the collection path."""
    return label.startswith("CL") and await Collection.filter(label=label).exists()


async def scan_parcel_or_collection(principal: Principal, label: str, kind: str,
                                    station_id: int | None) -> CollectionScanResultOut | ScanResultOut:
    """POST /api/v1/logistics/scans: a collection label is scanned with the collection's rules (a
    collection is only dispatched and arrives: any other kind is a 409 impossible_scan), anything
    else as a parcel."""
    if await is_label(label):
        return await scan(principal, label, kind, station_id)
    return await fulfillment_scans.scan(principal, label, kind, station_id)


# ---- the county warehouse ------------------------------------------------------------------------
async def warehouse_collections(query: CollectionQuery) -> Page[CollectionOut]:
    """Collections for the county warehouse (by default those arrived and waiting to be received)."""
    return await _page(Collection.all(), query)


async def warehouse_collection(collection_id: int) -> CollectionOut:
    c = await Collection.get_or_none(id=collection_id)
    if c is None:
        raise _not_found()
    return await _out(c)


async def find_by_label(label: str) -> CollectionOut:
    """A collection by its scanned label (the warehouse's receiving desk)."""
    c = await Collection.get_or_none(label=label.strip().upper()[:24])
    if c is None:
        raise _not_found()
    return await _out(c)


async def receive(collection_id: int, body: ReceiveCollectionIn, *, actor_id: int) -> CollectionOut:
    """Receive an arrived collection at the county warehouse: the count (a difference needs its reason)
    becomes the merchant's sellable stock, exactly once, in one transaction."""
    c = await Collection.get_or_none(id=collection_id)
    if c is None:
        raise _not_found()
    if c.status == S.RECEIVED:
        raise Conflict("this collection was already received", code=CollectionCode.COLLECTION_ALREADY_RECEIVED)
    if c.status != S.ARRIVED:
        raise Conflict("the collection has not arrived at the county warehouse (scan its arrival first)",
                       code=CollectionCode.COLLECTION_NOT_ARRIVED, details={"status": c.status})
    if body.received_qty > c.quantity:
        raise ValidationFailed.field("received_qty", f"more than the {c.quantity} units collected")
    if body.received_qty != c.quantity and not body.reason:
        raise ValidationFailed.field("reason", "say why the count differs from the collection")
    county = await fulfillment_scans.county_id()
    now = clock.now()
    async with atomic() as conn:
        # arrived -> received is the guard: a second (or concurrent) receipt changes nothing
        n = await Collection.filter(id=c.id, status=S.ARRIVED).using_db(conn).update(
            status=S.RECEIVED, received_qty=body.received_qty, difference_reason=body.reason,
            received_by_id=actor_id, received_at=now, version=F("version") + 1)
        if not n:
            raise Conflict("this collection was already received", code=CollectionCode.COLLECTION_ALREADY_RECEIVED)
        if body.received_qty:
            await inventory.restock(conn, [inventory.Move(c.sku_id, body.received_qty, "collection", c.id)],
                                    StockReason.COLLECTION, actor_id=actor_id)
        await CollectionScan.create(collection_id=c.id, kind="received", station_id=county, actor_id=actor_id,
                                    scan_key=f"{c.id}:received:{county}", at=now,
                                    data={"received_qty": body.received_qty, "reason": body.reason}, using_db=conn)
        await trace_collected.add_received_step(
            conn, c.batch_id, f"县仓收货入库：{body.received_qty}件" + (f"（差异原因：{body.reason}）"
                                                                  if body.reason else ""), "县仓")
        # the household is told after the commit (WeChat, else SMS to the producer's phone)
        await outbox.collection_received(c.id, c.merchant_id, conn)
        await audit.record(actor_id, "collection.receive", "collection", c.id,
                           {"received_qty": body.received_qty, "quantity": c.quantity, "reason": body.reason},
                           conn=conn)
    return await _out(await Collection.get(id=c.id))


# ---- figures (农产品上行) --------------------------------------------------------------------------
def _day_start(d: date) -> datetime:
    return datetime.combine(d, time(0, 0), tzinfo=clock.SHANGHAI).astimezone(clock.UTC)


async def stats(since: date | None = None, until: date | None = None) -> CollectionStatsOut:
    """Collected volume and value per village and town, and the poor villages' share (local dates,
    both ends included)."""
    if since and until and since > until:
        raise ValidationFailed.field("since", "after until")
    qs = Collection.all()
    if since:
        qs = qs.filter(created_at__gte=_day_start(since))
    if until:
        qs = qs.filter(created_at__lt=_day_start(until + timedelta(days=1)))
    # the station's name joined into the grouped query (one statement, not a lookup after it)
    rows = await (qs.annotate(n=Count("id"), u=Sum("quantity"), w=Sum("weight_g"), v=Sum("value_fen"),
                              r=Sum("received_qty"), station_name=F("station__name"))
                  .group_by("station_id", "town", "village", "is_poor_village", "station__name")
                  .values("station_id", "town", "village", "is_poor_village", "n", "u", "w", "v", "r",
                          "station_name"))
    villages: list[PlaceFigures] = []
    towns: dict[str, PlaceFigures] = {}
    for r in rows:
        n, u, w, v = int(r["n"] or 0), int(r["u"] or 0), int(r["w"] or 0), int(r["v"] or 0)
        villages.append(PlaceFigures(key=str(r["station_id"]), name=r["village"] or r["station_name"] or "",
                                     is_poor_village=bool(r["is_poor_village"]), collections=n, units=u,
                                     weight_g=w, value_fen=v))
        t = towns.setdefault(r["town"], PlaceFigures(key=r["town"], name=r["town"] or "（未标乡镇）",
                                                     collections=0, units=0, weight_g=0, value_fen=0))
        t.collections += n
        t.units += u
        t.weight_g += w
        t.value_fen += v
    total_v = sum(x.value_fen for x in villages)
    poor_v = sum(x.value_fen for x in villages if x.is_poor_village)
    return CollectionStatsOut(
        since=since, until=until, collections=sum(x.collections for x in villages),
        units=sum(x.units for x in villages), weight_g=sum(x.weight_g for x in villages), value_fen=total_v,
        received_units=sum(int(r["r"] or 0) for r in rows),
        poor_village_weight_g=sum(x.weight_g for x in villages if x.is_poor_village),
        poor_village_value_fen=poor_v, poor_village_value_share=round(poor_v / total_v, 4) if total_v else None,
        by_town=sorted(towns.values(), key=lambda x: (-x.value_fen, x.key)),
        by_village=sorted(villages, key=lambda x: (-x.value_fen, x.key)))

