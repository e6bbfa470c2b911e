"""The station network (服务站网络): county centre -> town centres -> village stations, admin
management, the consumer's "stations near me", and the coverage numbers the county office reports."""
from __future__ import annotations

import math
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from server.kit import audit, versions
from server.kit import redis as kr
from server.kit.db import atomic, id_page
from server.kit.errors import Conflict, NotFound, ValidationFailed
from server.kit.schemas import Page
from server.models.stations import Station
from server.stations.schemas import (CoverageOut, NearbyQuery, PublicStationOut, StationIn, StationListQuery,
                                     StationOut, StationPatch)
from server.stations.errors import StationCode

PARENT_LEVEL = {"county": None, "town": "county", "village": "town"}
# The county plan (DOMAIN.md): 1 county centre, 22 town centres, 139 village stations.
PLAN_TARGETS = {"county": 1, "town": 22, "village": 139}
NS = "stations"
PUBLIC_TTL = 300


def station_out(st: Station) -> StationOut:
    return StationOut.model_validate(st)


def _public(st: dict, distance: float | None = None) -> PublicStationOut:
    return PublicStationOut(**{k: st[k] for k in PublicStationOut.model_fields if k in st},
                            distance_km=None if distance is None else round(distance, 3))


async def _check_parent(level: str, parent_id: int | None, conn: Any) -> Station | None:
    want = PARENT_LEVEL[level]
    if want is None:
        if parent_id is not None:
            raise ValidationFailed.field("parent_id", "the county centre has no parent")
        return None
    if parent_id is None:
        raise ValidationFailed.field("parent_id", f"a {level} station belongs to a {want} station")
    parent = await Station.get_or_none(id=parent_id, using_db=conn)
    if parent is None:
        raise ValidationFailed.field("parent_id", "no such station")
    if parent.level != want:
        raise ValidationFailed.field("parent_id", f"the parent of a {level} station must be a {want} station")
    return parent


async def create_station(body: StationIn, *, actor_id: int) -> StationOut:
    """Add a station to the network (admin)."""
    data = body.model_dump()
    async with atomic() as conn:
        parent = await _check_parent(body.level, body.parent_id, conn)
        if body.level == "village":
            if not body.village:
                raise ValidationFailed.field("village", "a village station names its village")
            data["town"] = body.town or parent.town
        if await Station.filter(code=body.code).using_db(conn).exists():
            raise Conflict("a station with this code exists", code=StationCode.STATION_CODE_TAKEN,
                           details=[{"field": "code", "message": "taken"}])
        try:
            st = await Station.create(using_db=conn, **data)
        except IntegrityError:
            raise Conflict("a station with this code exists", code=StationCode.STATION_CODE_TAKEN,
                           details=[{"field": "code", "message": "taken"}]) from None
        await audit.record(actor_id, "station.create", "station", st.id, {"code": st.code}, conn=conn)
    await kr.bump_namespace(NS)
    return station_out(st)


async def update_station(station_id: int, patch: StationPatch, *, actor_id: int) -> StationOut:
    """Change a station's details, parent or status (active/suspended); with patch.version, only if
    nobody changed the station since that version was read (server.kit.versions)."""
    changes = patch.model_dump(exclude_unset=True, exclude={"version"})
    for name in ("name", "services", "status", "is_poor_village"):
        if name in changes and changes[name] is None:
            raise ValidationFailed.field(name, "may not be null")
    async with atomic() as conn:
        rows = await Station.filter(id=station_id).using_db(conn).select_for_update()
        if not rows:
            raise NotFound("station not found")
        st = rows[0]
        versions.check(patch.version, station_out(st))
        if "parent_id" in changes:
            await _check_parent(st.level, changes["parent_id"], conn)
        lat = changes.get("latitude", st.latitude)
        lng = changes.get("longitude", st.longitude)
        if (lat is None) != (lng is None):
            raise ValidationFailed.field("latitude", "latitude and longitude go together")
        for k, v in changes.items():
            setattr(st, k, "" if v is None and k not in ("latitude", "longitude", "parent_id") else v)
        if changes:
            await st.save(using_db=conn)
            await audit.record(actor_id, "station.update", "station", st.id,
                               {k: v for k, v in changes.items()}, conn=conn)
    await kr.bump_namespace(NS)
    return station_out(st)


async def get_station(station_id: int) -> StationOut:
    st = await Station.get_or_none(id=station_id)
    if st is None:
        raise NotFound("station not found")
    return station_out(st)


async def list_stations(q: StationListQuery) -> Page[StationOut]:
    """Admin listing, keyset-paged by id; q matches the code exactly or the name in part."""
    qs = Station.all()
    if q.q:
        qs = qs.filter(Q(code=q.q) | Q(name__icontains=q.q))
    for name in ("level", "town", "status", "parent_id"):
        v = getattr(q, name)
        if v is not None:
            qs = qs.filter(**{name: v})
    rows, next_cursor = await id_page(qs, q.cursor, q.limit)
    return Page[StationOut](items=[station_out(r) for r in rows], next_cursor=next_cursor)


async def _active_public() -> list[dict]:
    ver = await kr.namespace_version(NS)

    async def load() -> list[dict]:
        rows = await Station.filter(status="active").order_by("id").values(
            "id", "code", "parent_id", "name", "level", "town", "village", "address", "latitude", "longitude",
            "opening_hours", "contact_phone", "services")
        return rows

    # "with-code": entries cached before the code and parent were part of the public view are not read.
    return await kr.cached(kr.key("stations", ver, "active", "with-code"), PUBLIC_TTL, load)


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    r = 6371.0088
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(a)))


async def nearby(q: NearbyQuery) -> list[PublicStationOut]:
    """Active stations within radius_km of a point, nearest first (consumer: 附近的服务站)."""
    found = []
    for st in await _active_public():
        if st["latitude"] is None or st["longitude"] is None:
            continue
        if q.level and st["level"] != q.level:
            continue
        if q.service and q.service not in (st["services"] or []):
            continue
        d = haversine_km(q.lat, q.lng, st["latitude"], st["longitude"])
        if d <= q.radius_km:
            found.append((d, st["id"], st))
    found.sort(key=lambda t: (t[0], t[1]))
    return [_public(st, d) for d, _, st in found[: q.limit]]


async def public_station(station_id: int) -> PublicStationOut:
    """One active station as consumers see it (a suspended one is 404)."""
    for st in await _active_public():
        if st["id"] == station_id:
            return _public(st)
    raise NotFound("station not found")


async def coverage() -> CoverageOut:
    """Stations by level and town, towns/villages/poor villages covered by an active station."""
    rows = await Station.all().values("level", "town", "village", "status", "is_poor_village")
    by_level = {lvl: 0 for lvl in PARENT_LEVEL}
    active_by_level = {lvl: 0 for lvl in PARENT_LEVEL}
    towns: dict[str, dict] = {}
    villages, poor = set(), set()
    suspended = 0
    for r in rows:
        by_level[r["level"]] = by_level.get(r["level"], 0) + 1
        active = r["status"] == "active"
        if not active:
            suspended += 1
            continue
        active_by_level[r["level"]] = active_by_level.get(r["level"], 0) + 1
        if r["level"] in ("town", "village") and r["town"]:
            t = towns.setdefault(r["town"], {"town": r["town"], "town_centre": 0, "village_stations": 0,
                                             "poor_village_stations": 0})
            if r["level"] == "town":
                t["town_centre"] += 1
            else:
                t["village_stations"] += 1
                t["poor_village_stations"] += int(r["is_poor_village"])
        if r["level"] == "village" and r["village"]:
            # A village is covered once however many stations it has.
            villages.add((r["town"], r["village"]))
            if r["is_poor_village"]:
                poor.add((r["town"], r["village"]))
    return CoverageOut(
        stations_by_level=by_level, active_by_level=active_by_level,
        stations_by_town=sorted(towns.values(), key=lambda t: t["town"]),
        towns_covered=sum(1 for t in towns.values() if t["town_centre"]),
        villages_covered=len(villages), poor_villages_covered=len(poor), suspended=suspended,
        targets=PLAN_TARGETS)
