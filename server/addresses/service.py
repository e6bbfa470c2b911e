"""The buyer's address book (收货地址): saved addresses with one default, region codes from the vendored
dataset (regions.py), the phone masked in lists; checkout takes an address's snapshot."""
from __future__ import annotations

from typing import Any

from server.addresses import regions
from server.addresses.errors import AddressCode
from server.addresses.schemas import AddressBody, AddressOut, RegionOut
from server.kit import runtime
from server.kit.db import atomic, lock_rows
from server.kit.errors import Conflict, NotFound, ValidationFailed
from server.models.accounts import User
from server.models.addresses import Address
from server.models.stations import Station


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def region_text(*codes: str) -> str:
    return " ".join(regions.name(c) for c in codes if c and regions.name(c) not in ("市辖区", "县"))


async def village_station(county_code: str, town: str, village: str, conn: Any = None) -> int | None:
    """The active village station (村级服务站) serving a Kazuo village: its town→village leg delivers."""
    if county_code != regions.KAZUO or not town or not village:
        return None
    st = await (Station.filter(level="village", town=town, village=village, status="active")
                .using_db(conn).order_by("id").first().values("id"))
    return st["id"] if st else None


async def _out(a: Address, *, masked: bool) -> AddressOut:
    town = regions.name(a.town_code) if a.town_code else ""
    return AddressOut(id=a.id, name=a.name, phone=mask_phone(a.phone) if masked else a.phone,
                      province_code=a.province_code, city_code=a.city_code, county_code=a.county_code,
                      town_code=a.town_code, region=region_text(a.province_code, a.city_code, a.county_code,
                                                                a.town_code),
                      village=a.village, detail=a.detail, is_default=a.is_default,
                      station_id=await village_station(a.county_code, town, a.village), updated_at=a.updated_at)


def _check(body: AddressBody) -> None:
    regions.check_path(body.province_code, body.city_code, body.county_code, body.town_code)


async def list_addresses(user_id: int) -> list[AddressOut]:
    """The buyer's addresses, the default first, phones masked."""
    rows = await Address.filter(user_id=user_id).order_by("-is_default", "-id")
    return [await _out(a, masked=True) for a in rows]


async def _mine(user_id: int, address_id: int, conn: Any = None) -> Address:
    a = await Address.get_or_none(id=address_id, user_id=user_id, using_db=conn)
    if a is None:
        raise NotFound("address not found")
    return a


async def get_address(user_id: int, address_id: int) -> AddressOut:
    """One of the buyer's addresses, the phone whole (for editing); anyone else's is a 404."""
    return await _out(await _mine(user_id, address_id), masked=False)


async def _lock_book(user_id: int, conn: Any) -> None:
    # The buyer's row orders concurrent edits of one book (one default, the size limit).
    await lock_rows(User, [user_id], conn)


async def create_address(user_id: int, body: AddressBody) -> AddressOut:
    """Save an address; the first one, or one marked is_default, becomes the default."""
    _check(body)
    async with atomic() as conn:
        await _lock_book(user_id, conn)
        n = await Address.filter(user_id=user_id).using_db(conn).count()
        limit = runtime.settings().address_book_max
        if n >= limit:
            raise Conflict(f"at most {limit} addresses", code=AddressCode.ADDRESS_BOOK_FULL)
        default = body.is_default or n == 0
        if default:
            await Address.filter(user_id=user_id, is_default=True).using_db(conn).update(is_default=False)
        a = await Address.create(user_id=user_id, **body.model_dump(exclude={"is_default"}), is_default=default,
                                 using_db=conn)
    return await _out(a, masked=False)


async def update_address(user_id: int, address_id: int, body: AddressBody) -> AddressOut:
    """Replace one of the buyer's addresses (is_default true makes it the default)."""
    _check(body)
    async with atomic() as conn:
        await _lock_book(user_id, conn)
        a = await _mine(user_id, address_id, conn)
        if body.is_default and not a.is_default:
            await Address.filter(user_id=user_id, is_default=True).using_db(conn).update(is_default=False)
        fields = body.model_dump(exclude={"is_default"})
        fields["is_default"] = a.is_default or body.is_default
        await Address.filter(id=a.id).using_db(conn).update(**fields)
        a = await Address.get(id=a.id, using_db=conn)
    return await _out(a, masked=False)


async def set_default(user_id: int, address_id: int) -> AddressOut:
    """Make one of the buyer's addresses the default."""
    async with atomic() as conn:
        await _lock_book(user_id, conn)
        a = await _mine(user_id, address_id, conn)
        await Address.filter(user_id=user_id, is_default=True).using_db(conn).update(is_default=False)
        await Address.filter(id=a.id).using_db(conn).update(is_default=True)
        a = await Address.get(id=a.id, using_db=conn)
    return await _out(a, masked=False)


async def delete_address(user_id: int, address_id: int) -> None:
    """Delete one of the buyer's addresses; when it was the default, the newest other one becomes it."""
    async with atomic() as conn:
        await _lock_book(user_id, conn)
        a = await _mine(user_id, address_id, conn)
        await Address.filter(id=a.id).using_db(conn).delete()
        if a.is_default:
            nxt = await Address.filter(user_id=user_id).using_db(conn).order_by("-id").first()
            if nxt is not None:
                await Address.filter(id=nxt.id).using_db(conn).update(is_default=True)


def region_children(code: str) -> list[RegionOut]:
    """The regions under code ("" = provinces), for the address picker."""
    if code and not regions.exists(code):
        raise NotFound("no such region")
    return [RegionOut(**r) for r in regions.children(code)]


# ---- what checkout writes on the order (a snapshot: later edits of the book do not change it) -------
async def order_snapshot(user_id: int, address_id: int, conn: Any = None) -> dict:
    """The saved address as the order keeps it; another buyer's address is a 404 (field address_id)."""
    a = await Address.get_or_none(id=address_id, user_id=user_id, using_db=conn)
    if a is None:
        raise NotFound("address not found", details=[{"field": "address_id", "message": "no such address"}])
    town = regions.name(a.town_code) if a.town_code else ""
    return {"name": a.name, "phone": a.phone, "province_code": a.province_code, "city_code": a.city_code,
            "county_code": a.county_code, "town_code": a.town_code,
            "province": regions.name(a.province_code), "city": regions.name(a.city_code),
            "county": regions.name(a.county_code), "town": town, "village": a.village, "detail": a.detail,
            "address_id": a.id, "station_id": await village_station(a.county_code, town, a.village, conn)}


async def inline_snapshot(address: dict, conn: Any = None) -> dict:
    """An address typed at checkout (name, phone, town, village, detail; county_code optional, Kazuo
    County when absent — the form the pavilion always had)."""
    out = dict(address)
    county = out.get("county_code") or regions.KAZUO
    if not regions.exists(county) or regions.parent(county) == "":
        raise ValidationFailed.field("address.county_code", "no such county")
    city = regions.parent(county)
    province = regions.parent(city) or city
    town_code = regions.town_code(county, out.get("town", ""))
    out.update(county_code=county, city_code=city, province_code=province, town_code=town_code,
               province=regions.name(province), city=regions.name(city), county=regions.name(county),
               station_id=await village_station(county, out.get("town", ""), out.get("village", ""), conn))
    return out
