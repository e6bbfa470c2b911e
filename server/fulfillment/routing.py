"""Routes through the station network (县级中心 → 乡镇服务中心 → 村级服务站) and the delivery
promises (时效承诺) a parcel carries: county → town the same day when packed before the cut-off,
town → village within 24 h of reaching the town, county → village within 48 h of packing."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from server.kit import clock, runtime
from server.kit.errors import Conflict
from server.models.stations import Station
from server.fulfillment.errors import FulfillmentCode

# Address values that mean "inside Kazuo County" when an address names its county.
KAZUO_NAMES = ("喀左", "喀左县", "喀喇沁左翼蒙古族自治县")

LEG_COUNTY_TOWN = "county_town"
LEG_TOWN_VILLAGE = "town_village"
LEG_COUNTY_VILLAGE = "county_village"


@dataclass
class Route:
    mode: str                     # local | courier
    stations: list[int]           # county first; [] for courier until packed
    destination_id: int | None
    town_id: int | None


async def county_station(conn: Any = None) -> Station:
    st = await Station.filter(level="county").using_db(conn).order_by("id").first()
    if st is None:
        raise Conflict("the station network has no county centre", code=FulfillmentCode.NO_COUNTY_STATION)
    return st


async def _chain(station: Station, conn: Any) -> list[Station]:
    """The station and its ancestors, county first."""
    chain = [station]
    seen = {station.id}
    while chain[-1].parent_id is not None:
        parent = await Station.get_or_none(id=chain[-1].parent_id, using_db=conn)
        if parent is None or parent.id in seen:
            break
        chain.append(parent)
        seen.add(parent.id)
    chain.reverse()
    return chain


def _outside_county(address: dict) -> bool:
    county = str(address.get("county") or "").strip()
    return bool(county) and not any(county.startswith(n) for n in KAZUO_NAMES)


async def resolve(order: Any, conn: Any = None) -> Route:
    """Where an order's goods go: pickup station, the village/town station nearest a delivery
    address inside the county, or a third-party courier for buyers outside it."""
    county = await county_station(conn)
    dest: Station | None = None
    if order.fulfilment == "pickup" and order.station_id:
        dest = await Station.get_or_none(id=order.station_id, using_db=conn)
    elif order.fulfilment == "delivery":
        addr = order.address if isinstance(order.address, dict) else {}
        town_name = str(addr.get("town") or "").strip()
        if town_name and not _outside_county(addr):
            town = await Station.filter(level="town", town=town_name).using_db(conn).order_by("id").first()
            if town is not None:
                village = str(addr.get("village") or "").strip()
                dest = town
                if village:
                    dest = await Station.filter(level="village", parent_id=town.id, village=village,
                                                status="active").using_db(conn).order_by("id").first() or town
    if dest is None:
        if order.fulfilment == "pickup":
            raise Conflict("the pickup station no longer exists", code=FulfillmentCode.NO_PICKUP_STATION)
        return Route(mode="courier", stations=[county.id], destination_id=None, town_id=None)
    chain = await _chain(dest, conn)
    if chain[0].id != county.id:
        chain.insert(0, county)
    ids = [s.id for s in chain]
    town_id = next((s.id for s in chain if s.level == "town"), None)
    return Route(mode="local", stations=ids, destination_id=dest.id, town_id=town_id)


def _parse_cutoff(value: str) -> time:
    h, m = value.split(":")
    return time(int(h), int(m))


def county_town_due(packed_at: datetime) -> datetime:
    """End of the local day the parcel must reach its town: today before the cut-off, else tomorrow."""
    s = runtime.settings()
    local = packed_at.astimezone(clock.SHANGHAI)
    day = local.date()
    if local.time() >= _parse_cutoff(s.fulfillment_same_day_cutoff):
        day = day + timedelta(days=1)
    end = datetime.combine(day, time(23, 59, 59), tzinfo=clock.SHANGHAI)
    return end.astimezone(clock.UTC)


def initial_promises(route: list[int], packed_at: datetime) -> list[tuple[str, datetime, int | None]]:
    """(leg, due, town station) for the legs known when the parcel is packed."""
    s = runtime.settings()
    out: list[tuple[str, datetime, int | None]] = []
    if len(route) >= 2:
        out.append((LEG_COUNTY_TOWN, county_town_due(packed_at), route[1]))
    if len(route) >= 3:
        out.append((LEG_COUNTY_VILLAGE, packed_at + timedelta(hours=s.fulfillment_county_village_hours),
                    route[1]))
    return out


def town_village_due(arrived_at: datetime) -> datetime:
    return arrived_at + timedelta(hours=runtime.settings().fulfillment_town_village_hours)
