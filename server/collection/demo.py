"""Demo first-mile collections (seed-demo, #26): three households that village stations sell for (代卖),
each with a few collections at different points of the way up, so the 揽收 tabs, the warehouse's
receiving list, the office's 农产品上行 figures and the big screen's panel show data.
Idempotent: a household already holding collections is left as it is."""
from __future__ import annotations

from datetime import timedelta

from server.catalog import service as catalog
from server.collection import service
from server.collection.schemas import CollectionIn, ReceiveCollectionIn
from server.kit import clock
from server.kit.auth import Principal, Role
from server.kit.db import atomic
from server.models.accounts import User
from server.models.catalog import Category, Product, Sku
from server.models.collection import Collection
from server.models.merchants import Merchant
from server.models.stations import Station

# household, contact phone, village station code, category slug, product, spec, price fen, weight g,
#   [(units, weight g, grade, how far: "station" | "town" | "arrived" | "received")]
HOUSEHOLDS = [
    ("八家子村张玉芝家（代卖）", "13904219001", "KZ-V-NGYZ-16", "grains", "八家子 农家红芸豆", "2.5kg", 3680, 2600,
     [(40, 104_000, "first", "received"), (25, 65_000, "premium", "arrived"), (30, 78_000, "first", "station")]),
    ("马连沟村马春林家（代卖）", "13904219002", "KZ-V-LGYZ-20", "grains", "马连沟 山杏仁", "1kg", 4280, 1100,
     [(60, 66_000, "first", "received"), (35, 38_500, "second", "town")]),
    ("山嘴子村高凤兰家（代卖）", "13904219003", "KZ-V-SZZ-09", "produce", "山嘴子 大棚黄瓜", "5斤装", 2280, 2600,
     [(50, 130_000, "standard", "received"), (20, 52_000, "first", "station")]),
]
HOPS = {"station": 0, "town": 2, "arrived": 4, "received": 4}


async def seed_collections() -> dict:
    made = {"collections": 0}
    staff, _ = await User.get_or_create(openid="demo-station-staff-1", defaults={"nickname": "演示站务员"})
    for name, phone, scode, slug, pname, spec, price, weight, rows in HOUSEHOLDS:
        station = await Station.get_or_none(code=scode)
        cat = await Category.get_or_none(slug=slug)
        if station is None or cat is None or station.parent_id is None:
            continue
        m = await Merchant.filter(name=name).first()
        if m is None:
            async with atomic() as conn:
                m = await Merchant.create(name=name, kind="household", status="active", contact_name=name[4:7],
                                          contact_phone=phone, town=station.town, village=station.village,
                                          is_poor_household=station.is_poor_village, operated_by_station=station,
                                          description=f"{station.name}代卖", reviewed_at=clock.now(), using_db=conn)
                p = await Product.create(merchant=m, category=cat, name=pname, subtitle="服务站代卖 产地直收",
                                         description=f"{pname}，{station.town}{station.village}农户种植，服务站揽收。",
                                         images=[], origin_town=station.town, origin_village=station.village,
                                         status="on_sale", min_price=price, published_at=clock.now(), using_db=conn)
                await Sku.create(product=p, spec=spec, price=price, list_price=price, weight_g=weight, using_db=conn)
                await catalog.refresh_derived(p.id, conn)
        if await Collection.filter(merchant_id=m.id).exists():
            continue
        sku = await Sku.filter(product__merchant_id=m.id).order_by("id").first()
        if sku is None:
            continue
        at = Principal(user_id=staff.id, roles=frozenset({Role.station_staff.value}),
                       station_ids=frozenset({station.id}))
        for i, (units, grams, grade, far) in enumerate(rows):
            c = await service.record(at, station.id, CollectionIn(
                merchant_id=m.id, sku_id=sku.id, quantity=units, weight_g=grams, grade=grade,
                plot=f"{station.village}{i + 1}号地", harvested_on=clock.local_today() - timedelta(days=2 + i)))
            route = c.route  # the collecting station, its town centre, the county warehouse
            hops = [("dispatched", route[0]), ("arrived", route[1]), ("dispatched", route[1]), ("arrived", route[-1])]
            for kind, where in hops[:HOPS[far]]:
                await service.record_scan(c.label, kind, where, actor_id=staff.id)
            if far == "received":
                await service.receive(c.id, ReceiveCollectionIn(received_qty=units), actor_id=staff.id)
            made["collections"] += 1
    return made
