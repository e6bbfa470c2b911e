"""The village station's desk as the console shows it (服务站工作台): what is arriving, what waits for
its buyer (days waited, reminders sent), what goes back; a parcel scanned in (到站 and, at a pickup
destination, 上架待取 in one go); the items to hand over after a pickup is verified; goods to order for a
villager (代购); the households the station sells for with their goods and stock (代卖).

Every function takes the caller's principal and a station id and answers only about that station
(404 for any other): the pages and each of their fragments are scoped here, not in the surface."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tortoise.expressions import Q

from server.fulfillment import scans
from server.fulfillment.schemas import ScanResultOut
from server.kit import clock, runtime
from server.kit.auth import Principal
from server.kit.errors import NotFound
from server.models.catalog import Product, Sku
from server.models.fulfillment import Parcel, ParcelStatus
from server.models.merchants import Merchant
from server.models.orders import Order, OrderLine
from server.models.pickup import Pickup, PickupReturn, PickupStatus
from server.models.stations import Station


@dataclass
class Waiting:
    pickup_id: int
    order_id: int
    order_no: str
    received_at: datetime
    deadline_at: datetime
    days_waited: int
    reminders_sent: int
    overdue: bool


@dataclass
class ParcelRow:
    id: int
    label: str
    order_no: str
    status: str
    direction: str
    kind: str   # arriving | here (at the station, to hand over or pass on) | back (a return to send on)


@dataclass
class Today:
    station_id: int
    station_name: str
    level: str
    arriving: list[ParcelRow] = field(default_factory=list)
    here: list[ParcelRow] = field(default_factory=list)
    waiting: list[Waiting] = field(default_factory=list)
    to_return: list[dict] = field(default_factory=list)
    locked_until: datetime | None = None


async def my_stations(principal: Principal) -> list[dict]:
    """The stations the caller works at, by name."""
    return await Station.filter(id__in=list(principal.station_ids)).order_by("name").values("id", "name", "level")


async def _station(principal: Principal, station_id: int) -> Station:
    principal.require_station(station_id)
    st = await Station.get_or_none(id=station_id)
    if st is None:
        raise NotFound("station not found")
    return st


def _where(p: dict, station_id: int) -> str | None:
    """Where a parcel stands towards this station: arriving, here, or not this station's concern."""
    route = p["route"] or []
    pos = p["position"]
    step = 1 if p["direction"] == "forward" else -1
    if p["moving"] and 0 <= pos + step < len(route) and route[pos + step] == station_id:
        return "arriving"
    if not p["moving"] and 0 <= pos < len(route) and route[pos] == station_id and p["status"] in (
            ParcelStatus.AT_STATION, ParcelStatus.PACKED):
        return "here"
    return None


async def today(principal: Principal, station_id: int, limit: int = 200) -> Today:
    """Today at the station: parcels arriving and at the counter, pickups waiting, returns to send."""
    st = await _station(principal, station_id)
    out = Today(station_id=st.id, station_name=st.name, level=st.level, locked_until=st.pickup_locked_until)
    if out.locked_until and out.locked_until < clock.now():
        out.locked_until = None
    # The parcels that may concern this station pass through its town or end here.
    rows = await Parcel.filter(Q(task__destination_station_id=station_id) | Q(task__town_station_id=station_id),
                               status__in=(ParcelStatus.PACKED, ParcelStatus.IN_TRANSIT, ParcelStatus.AT_STATION)) \
        .order_by("id").limit(2000).values("id", "label", "route", "position", "moving", "status", "direction",
                                           "order__order_no")
    for p in rows:
        where = _where(p, station_id)
        if where is None:
            continue
        row = ParcelRow(id=p["id"], label=p["label"], order_no=p["order__order_no"], status=p["status"],
                        direction=p["direction"], kind=where)
        (out.arriving if where == "arriving" else out.here).append(row)
    now = clock.now()
    local_today = now.astimezone(clock.SHANGHAI).date()
    for pk in await Pickup.filter(station_id=station_id, status=PickupStatus.READY).order_by("received_at").limit(limit):
        out.waiting.append(Waiting(
            pickup_id=pk.id, order_id=pk.order_id, order_no=pk.order_no, received_at=pk.received_at,
            deadline_at=pk.deadline_at, reminders_sent=pk.reminders_sent, overdue=pk.deadline_at < now,
            days_waited=(local_today - pk.received_at.astimezone(clock.SHANGHAI).date()).days))
    out.to_return = await PickupReturn.filter(station_id=station_id, status="pending").order_by("id").limit(limit) \
        .values("id", "order_id", "reason", "created_at", "pickup__order_no")
    return out


async def scan_in(principal: Principal, station_id: int, label: str, kind: str) -> list[ScanResultOut]:
    """A parcel scanned at the station. kind "arrived": arrived, and when this is its pickup
    destination also handed over (the buyer gets the pickup code); "dispatched": sent on (towards a
    village, or back towards the county); "out_for_delivery": taken out for home delivery."""
    await _station(principal, station_id)
    first = await scans.scan(principal, label, kind, station_id)
    out = [first]
    p = first.parcel
    if kind == "arrived" and p.direction == "forward" and p.position == len(p.route) - 1 and \
            p.status == ParcelStatus.AT_STATION:
        fulfilment = await Order.filter(id=p.order_id).values_list("fulfilment", flat=True)
        if fulfilment and fulfilment[0] == "pickup":
            out.append(await scans.scan(principal, label, "handed_over", station_id))
    return out


async def pickup_items(principal: Principal, station_id: int, order_id: int) -> list[tuple[str, str, int]]:
    """What to hand over for one of this station's pickups: (product, spec, quantity), refunds netted."""
    await _station(principal, station_id)
    if not await Pickup.filter(order_id=order_id, station_id=station_id).exists():
        raise NotFound("pickup not found")
    rows = await OrderLine.filter(order_id=order_id).order_by("id").values(
        "product_name", "sku_spec", "quantity", "refunded_qty")
    return [(r["product_name"], r["sku_spec"], r["quantity"] - (r["refunded_qty"] or 0)) for r in rows
            if r["quantity"] - (r["refunded_qty"] or 0) > 0]


def wrong_code_limits() -> tuple[int, int, int]:
    """(wrong codes an account may type, within seconds, wrong codes that lock the whole station)."""
    s = runtime.settings()
    return s.pickup_staff_wrong_limit, s.pickup_staff_wrong_window_seconds, s.pickup_station_wrong_limit


@dataclass
class Goods:
    sku_id: int
    product_id: int
    name: str
    spec: str
    price: int
    stock: int
    merchant: str = ""


async def search_goods(principal: Principal, station_id: int, q: str, limit: int = 20) -> list[Goods]:
    """On-sale goods by name for a villager's order (代购)."""
    await _station(principal, station_id)
    q = q.strip()
    if not q:
        return []
    rows = await Sku.filter(is_active=True, product__status="on_sale", product__name__icontains=q[:32]) \
        .order_by("product_id", "id").limit(limit).values("id", "product_id", "spec", "price", "stock",
                                                          "product__name", "product__merchant__name")
    return [Goods(sku_id=r["id"], product_id=r["product_id"], name=r["product__name"], spec=r["spec"],
                  price=r["price"], stock=r["stock"], merchant=r["product__merchant__name"]) for r in rows]


async def consigned_goods(principal: Principal, station_id: int) -> dict[int, list[Goods]]:
    """The goods of the households this station sells for (代卖), by merchant: price and stock."""
    await _station(principal, station_id)
    mids = list(await Merchant.filter(operated_by_station_id=station_id).values_list("id", flat=True))
    out: dict[int, list[Goods]] = {m: [] for m in mids}
    if not mids:
        return out
    products = await Product.filter(merchant_id__in=mids).values("id", "merchant_id", "name")
    names = {p["id"]: p for p in products}
    for r in await Sku.filter(product_id__in=list(names)).order_by("product_id", "id").values(
            "id", "product_id", "spec", "price", "stock"):
        p = names[r["product_id"]]
        out[p["merchant_id"]].append(Goods(sku_id=r["id"], product_id=r["product_id"], name=p["name"],
                                           spec=r["spec"], price=r["price"], stock=r["stock"]))
    return out
