"""Demo data (seed-demo): the station network, merchants and products of Kazuo County.
Idempotent: every object is found by a natural key before it is created."""
from __future__ import annotations

import logging
from datetime import timedelta

from server.catalog import service as catalog
from server.freight import service as freight  # the county's freight template (#25)
from server.inventory import service as inventory
from server.kit import clock
from server.kit.db import atomic
from server.models.catalog import Category, Certification, Product, Sku
from server.models.fulfillment import InboundLine, InboundNote
from server.models.inventory import StockReason
from server.models.merchants import Merchant
from server.models.stations import Station
from server.models.accounts import User
from server.models.training import (Course, Enrolment, Incubation, Lecturer, SessionLecturer, SignIn, Trainee,
                                    TrainingSession)
from server.catalog.service import refresh_derived
from server.content import demo as content_demo  # (#30)
from server.kit.errors import Conflict  # demo coupons and campaign (#28)
from server.models.promotions import Campaign, Coupon
from server.promotions import campaigns as promo_campaigns
from server.promotions import service as promotions
from server.promotions.schemas import CampaignIn, CouponIn
from server.collection import demo as collection_demo  # first-mile collections (#26)

log = logging.getLogger("kazuo.demo")

# 喀左县 towns and sub-districts (乡镇/街道) with approximate coordinates (lat, lng).
TOWNS = [
    ("DCZ", "大城子街道", 41.127, 119.741), ("LZ", "利州街道", 41.138, 119.762),
    ("NS", "南哨街道", 41.110, 119.735), ("ZSJ", "中三家镇", 41.350, 119.835),
    ("PFZ", "平房子镇", 41.310, 119.690), ("SZZ", "山嘴子镇", 41.205, 119.770),
    ("LYM", "老爷庙镇", 41.290, 119.535), ("GYZ", "公营子镇", 41.045, 119.610),
    ("NGYZ", "南公营子镇", 40.980, 119.660), ("BTZ", "白塔子镇", 41.065, 119.905),
    ("LGYZ", "六官营子镇", 41.195, 120.015), ("GZ", "甘招镇", 40.920, 119.880),
    ("DS", "东哨镇", 41.020, 120.020), ("XLZ", "兴隆庄镇", 41.400, 119.960),
    ("CC", "草场镇", 40.870, 119.750), ("KDYZ", "坤都营子乡", 41.245, 119.450),
    ("DYZ", "大营子乡", 41.180, 119.640), ("YJG", "羊角沟乡", 41.100, 120.080),
    ("WHG", "卧虎沟乡", 41.330, 120.060), ("SQ", "水泉镇", 40.950, 119.540),
    ("YZZ", "尤杖子乡", 41.240, 119.920), ("SEDB", "十二德堡乡", 41.420, 119.700),
]
# Village stations: (town code, village, registered poor village?)
VILLAGES = [
    ("DCZ", "十家子村", False), ("DCZ", "小城子村", False), ("LZ", "北街村", False),
    ("NS", "四官营子村", True), ("ZSJ", "中三家村", False), ("ZSJ", "王杖子村", True),
    ("PFZ", "平房子村", False), ("PFZ", "西大杖子村", True), ("SZZ", "山嘴子村", False),
    ("SZZ", "三官营子村", False), ("LYM", "老爷庙村", False), ("LYM", "果木树营子村", True),
    ("GYZ", "公营子村", False), ("GYZ", "土城子村", True), ("NGYZ", "南公营子村", False),
    ("NGYZ", "八家子村", True), ("BTZ", "白塔子村", False), ("BTZ", "下营子村", True),
    ("LGYZ", "六官营子村", False), ("LGYZ", "马连沟村", True), ("GZ", "甘招村", False),
    ("GZ", "梁家杖子村", True), ("DS", "东哨村", False), ("XLZ", "兴隆庄村", False),
    ("XLZ", "章京营子村", True), ("CC", "草场村", False), ("KDYZ", "坤都营子村", True),
    ("DYZ", "大营子村", False), ("YJG", "羊角沟村", True), ("WHG", "卧虎沟村", True),
    ("SQ", "水泉村", False), ("YZZ", "尤杖子村", True), ("SEDB", "十二德堡村", True),
    ("SQ", "官大海村", False), ("DS", "西哨村", False), ("CC", "北洞村", True),
]
CATEGORIES = [
    ("vinegar", "陈醋", True), ("zisha", "紫砂", False), ("grains", "杂粮", True),
    ("produce", "果蔬", True), ("folk", "民俗文旅", False),
]
# name, kind, town, village, poor?, contact
MERCHANTS = [
    ("喀左县老醋坊陈醋专业合作社", "cooperative", "LZ", "北街村", False, "张德山"),
    ("喀左紫砂工艺品有限公司", "enterprise", "PFZ", "平房子村", False, "李文博"),
    ("南公营子杂粮种植专业合作社", "cooperative", "NGYZ", "八家子村", True, "王秀兰"),
    ("山嘴子设施农业果蔬合作社", "cooperative", "SZZ", "山嘴子村", False, "赵国华"),
    ("刘淑芬家庭农场", "household", "GYZ", "土城子村", True, "刘淑芬"),
    ("白塔子蒙古族剪纸工作室", "household", "BTZ", "下营子村", True, "乌云其其格"),
]
# merchant index, category slug, name, subtitle, brand, certification kind or None,
#   [(spec, price fen, list price fen, stock, weight g, cold chain)]
PRODUCTS = [
    (0, "vinegar", "喀左老陈醋 五年窖藏", "粮食酿造 古法晒醋", "kazuo_vinegar", "geo_indication",
     [("500ml", 2800, 3500, 400, 650, False), ("2.5L 桶装", 9800, 12000, 120, 2800, False),
      ("礼盒 500ml×2", 8800, 9900, 60, 1500, False)]),
    (0, "vinegar", "喀左熏醋", "果味清香 凉拌佳品", "kazuo_vinegar", None,
     [("420ml", 1600, 1900, 300, 560, False)]),
    (1, "zisha", "喀左紫砂 石瓢壶", "手工全手 原矿紫泥", "kazuo_zisha", None,
     [("280ml", 68000, 88000, 12, 900, False)]),
    (1, "zisha", "喀左紫砂 功夫茶杯 六只装", "原矿朱泥", "kazuo_zisha", None,
     [("六只装", 16800, 19800, 40, 700, False)]),
    (2, "grains", "喀左小米 新米", "沙地黄小米 熬粥出油", "kazuo_grains", "green",
     [("2.5kg", 3990, 4990, 500, 2600, False), ("5kg", 7600, 8900, 200, 5100, False)]),
    (2, "grains", "喀左荞麦面", "高寒荞麦 石磨", "kazuo_grains", "pollution_free",
     [("1kg", 1880, 2200, 300, 1050, False)]),
    (2, "grains", "喀左绿豆", "颗粒饱满 易煮开花", "kazuo_grains", "organic",
     [("1kg", 2280, 2600, 260, 1050, False)]),
    (3, "produce", "山嘴子 设施番茄", "自然成熟 沙瓤", "", "green",
     [("5斤装", 3580, 3980, 150, 2700, True)]),
    (3, "produce", "喀左南果梨", "香甜多汁", "", None,
     [("5斤装", 4580, 5280, 90, 2700, True)]),
    (4, "grains", "农家 高粱米", "本地老品种", "kazuo_grains", None,
     [("2.5kg", 2580, 2980, 80, 2600, False)]),
    (5, "folk", "蒙古族剪纸 骏马图", "非遗手工 装裱", "", None,
     [("40×40cm", 12800, 15800, 20, 400, False)]),
]


async def seed() -> str:
    """Create whatever demo data is missing; returns a summary."""
    created = {"stations": 0, "categories": 0, "merchants": 0, "products": 0, "inbound notes": 0}
    await catalog.ensure_default_brands()
    async with atomic() as conn:
        county, new = await Station.get_or_create(
            code="KZ-COUNTY", using_db=conn,
            defaults=dict(name="喀左县电子商务公共服务中心", level="county", town="大城子街道",
                          address="喀左县大城子街道利州路", latitude=41.128, longitude=119.743,
                          opening_hours="08:30-17:30", contact_name="县电商办", contact_phone="0421-4822000",
                          services=["pickup", "parcel", "training", "information"]))
        created["stations"] += new
        towns: dict[str, Station] = {}
        for code, name, lat, lng in TOWNS:
            st, new = await Station.get_or_create(
                code=f"KZ-T-{code}", using_db=conn,
                defaults=dict(name=f"{name}电商服务中心", level="town", parent=county, town=name,
                              address=f"喀左县{name}政府院内", latitude=lat, longitude=lng,
                              opening_hours="08:00-18:00",
                              services=["pickup", "parcel", "assisted_purchase", "assisted_sale", "bills"]))
            towns[code] = st
            created["stations"] += new
        for i, (tcode, village, poor) in enumerate(VILLAGES):
            town = towns[tcode]
            st, new = await Station.get_or_create(
                code=f"KZ-V-{tcode}-{i + 1:02d}", using_db=conn,
                defaults=dict(name=f"{village}电商服务站", level="village", parent=town, town=town.town,
                              village=village, address=f"喀左县{town.town}{village}村委会",
                              latitude=round(town.latitude + 0.01 * ((i % 5) - 2), 5),
                              longitude=round(town.longitude + 0.012 * ((i % 3) - 1), 5),
                              opening_hours="07:30-19:00", is_poor_village=poor,
                              services=["pickup", "parcel", "assisted_purchase", "assisted_sale"]))
            created["stations"] += new
        cats: dict[str, Category] = {}
        for sort, (slug, name, farm) in enumerate(CATEGORIES):
            cat, new = await Category.get_or_create(
                slug=slug, using_db=conn, defaults=dict(name=name, sort=sort, is_farm_product=farm))
            cats[slug] = cat
            created["categories"] += new
        merchants: list[Merchant] = []
        town_names = {code: name for code, name, _, _ in TOWNS}
        for i, (name, kind, tcode, village, poor, contact) in enumerate(MERCHANTS):
            m = await Merchant.filter(name=name).using_db(conn).first()
            if m is None:
                m = await Merchant.create(
                    name=name, kind=kind, status="active", contact_name=contact,
                    contact_phone=f"1390421{i:04d}", licence_no=f"91211324MA0{i:05d}X",
                    town=town_names[tcode], village=village, is_poor_household=poor,
                    description=f"{town_names[tcode]}{village}的{contact}经营", reviewed_at=clock.now(),
                    using_db=conn)
                created["merchants"] += 1
            merchants.append(m)
        for mi, slug, name, subtitle, brand, cert, skus in PRODUCTS:
            m = merchants[mi]
            if await Product.filter(merchant_id=m.id, name=name).using_db(conn).exists():
                continue
            p = await Product.create(
                merchant=m, category=cats[slug], name=name, subtitle=subtitle,
                description=f"{name}，产自{m.town}{m.village}。{subtitle}。", images=[],
                origin_town=m.town, origin_village=m.village, brand=brand, status="on_sale",
                min_price=min(s[1] for s in skus), published_at=clock.now(), using_db=conn)
            for spec, price, list_price, stock, weight, cold in skus:
                sku = await Sku.create(product=p, spec=spec, price=price, list_price=list_price,
                                       weight_g=weight, cold_chain=cold, using_db=conn)
                await inventory.restock(conn, [inventory.Move(sku.id, stock, "sku", sku.id)], StockReason.CREATE)
            if cert:
                await Certification.create(product=p, kind=cert, number=f"LN-{p.id:06d}",
                                           issuer="辽宁省农业农村厅", using_db=conn)
            created["products"] += 1
        # Visibility, cheapest price and search text are derived columns: recompute them for every
        # demo product (also repairs a database seeded before these columns existed).
        for pid in await Product.filter(merchant_id__in=[m.id for m in merchants]).using_db(conn).values_list(
                "id", flat=True):
            await refresh_derived(pid, conn)
        created["inbound notes"] = await _seed_inbound(merchants, conn)
    created.update(await seed_training())
    created.update(await freight.seed_demo())
    created.update(await __import__("server.trace.demo", fromlist=["seed_trace"]).seed_trace())  # issue 9
    created.update(await content_demo.seed_content())  # the office's pages (#30)
    created.update(await seed_promotions())  # coupons and a running campaign (#28)
    created.update(await collection_demo.seed_collections())  # first-mile collections (#26)
    return "demo data: " + ", ".join(f"{v} {k} created" for k, v in created.items())


# The demo stock arrived in the county warehouse (集采统储) as one received inbound note per merchant,
# batch DEMO_BATCH, so the warehouse can pick what buyers order (a pick names a received batch).
DEMO_BATCH = "KZ-DEMO-2026"
DEMO_INBOUND_NOTE = "演示数据：入库"


async def _seed_inbound(merchants: list[Merchant], conn) -> int:
    made = 0
    for m in merchants:
        if await InboundNote.filter(merchant_id=m.id, note=DEMO_INBOUND_NOTE).using_db(conn).exists():
            continue
        skus = await Sku.filter(product__merchant_id=m.id).using_db(conn).order_by("id").values("id", "stock")
        if not skus:
            continue
        note = await InboundNote.create(merchant_id=m.id, status="received", note=DEMO_INBOUND_NOTE,
                                        received_at=clock.now(), using_db=conn)
        await InboundLine.bulk_create([InboundLine(note_id=note.id, sku_id=s["id"], batch=DEMO_BATCH,
                                                   expected_qty=s["stock"], received_qty=s["stock"])
                                       for s in skus], using_db=conn)
        made += 1
    return made


async def seed_if_empty() -> None:
    if not await Station.exists():
        log.info(await seed())


# ---- training and incubation (issue #8) ---------------------------------------------------------
TRAINING_COURSES = [
    ("basic", "电商基础普及班", "开网店、拍商品、发快递、用好服务站"),
    ("intermediate", "农村电商运营中级班", "店铺运营、客服、营销活动"),
    ("advanced", "电商创业高级研修班", "品牌、供应链与团队"),
    ("cadre", "领导干部电商专题班", "县域电商政策与组织推进"),
    ("cross_border", "跨境电商实务班", "平台入驻、跨境物流与结算"),
    ("livestream", "直播带货人才班", "直播间搭建、话术、选品与复盘"),
    ("lecturer", "电商讲师培训班", "课程设计与授课技巧"),
]
# name, phone, village (a village station's village), groups, poor household?
TRAINEES = [
    ("王秀兰", "13904210101", "八家子村", ["left_behind_woman"], True),
    ("李国庆", "13904210102", "马连沟村", ["veteran"], False),
    ("张晓雨", "13904210103", "下营子村", ["returning_graduate"], False),
    ("赵春生", "13904210104", "梁家杖子村", ["returning_migrant"], True),
    ("刘淑芬", "13904210105", "土城子村", ["poor_household"], True),
]


async def seed_training() -> dict:
    """Demo courses (one per track), a lecturer, three sessions, trainees with sign-ins and an incubation."""
    from datetime import timedelta

    created = {"training courses": 0, "training sessions": 0, "trainees": 0}
    today = clock.local_today()
    async with atomic() as conn:
        courses = {}
        for track, name, desc in TRAINING_COURSES:
            c, new = await Course.get_or_create(track=track, name=name, defaults={"description": desc},
                                                using_db=conn)
            courses[track] = c
            created["training courses"] += new
        user, _ = await User.get_or_create(openid="demo-lecturer-1", defaults={"nickname": "孙老师"}, using_db=conn)
        lecturer, _ = await Lecturer.get_or_create(
            user_id=user.id, using_db=conn,
            defaults=dict(name="孙立新", qualification_kind="certification", certificate_name="电子商务师（高级）",
                          certificate_no="DZSW-2019-0421", certificate_issuer="辽宁省人力资源和社会保障厅",
                          bio="县电商公共服务中心讲师，五年农产品网店运营经验"))
        county = await Station.get(code="KZ-COUNTY", using_db=conn)
        plan = [("basic", "2026年第1期 电商基础普及班", -10, -8, False),
                ("livestream", "直播带货人才班 第1期", -1, 1, False),
                ("intermediate", "农村电商运营中级班 第1期", 14, 16, True)]
        sessions = []
        for track, title, start, end, online in plan:
            s = await TrainingSession.filter(title=title).using_db(conn).first()
            if s is None:
                s = await TrainingSession.create(
                    course=courses[track], title=title, starts_on=today + timedelta(days=start),
                    ends_on=today + timedelta(days=end), online=online, venue_station=None if online else county,
                    venue_detail="" if online else "县电商公共服务中心三楼培训室", capacity=60, using_db=conn)
                await SessionLecturer.create(session=s, lecturer=lecturer, using_db=conn)
                created["training sessions"] += 1
            sessions.append(s)
        villages = {st.village: st for st in await Station.filter(level="village").using_db(conn)}
        trainees = []
        for name, phone, village, groups, poor in TRAINEES:
            st = villages.get(village)
            t = await Trainee.filter(name=name, phone=phone).using_db(conn).first()
            if t is None:
                all_groups = sorted(set(groups) | ({"poor_household"} if poor else set()))
                t = await Trainee.create(name=name, phone=phone, town=st.town if st else "", village=village,
                                         village_station=st, groups=all_groups, is_poor_household=poor,
                                         consent=True, consent_at=clock.now(), using_db=conn)
                created["trainees"] += 1
            trainees.append(t)
        past = sessions[0]
        for t in trainees:
            await Enrolment.get_or_create(session=past, trainee=t, using_db=conn)
            for offset in range((past.ends_on - past.starts_on).days + 1):
                await SignIn.get_or_create(
                    session=past, trainee=t, day=past.starts_on + timedelta(days=offset), using_db=conn,
                    defaults={"method": "manual", "reason": "演示数据：纸质签到表录入"})
        shop = await Merchant.filter(name="刘淑芬家庭农场").using_db(conn).first()
        if shop is not None:
            await Incubation.get_or_create(trainee=trainees[4], scope_key=f"merchant:{shop.id}:", using_db=conn,
                                           defaults=dict(kind="merchant", merchant=shop, mentor=lecturer,
                                                         note="家庭农场上线喀左特色馆"))
    return created



# ---- coupons and a festival campaign (#28) -------------------------------------------------------
DEMO_PLATFORM_COUPON = "特色馆满99减10"
DEMO_SHOP_COUPON = "老醋坊陈醋立减5元"
DEMO_CAMPAIGN = "喀左丰收节（演示）"


async def seed_promotions() -> dict:
    """A platform coupon, the vinegar shop's own coupon and a running festival campaign holding both
    and the shop's products; each found by its name first (the campaign is published only when no
    other published campaign overlaps it)."""
    created = {"coupons": 0, "campaigns": 0}
    now = clock.now()
    shop = await Merchant.filter(name=MERCHANTS[0][0]).first()
    if shop is None:
        return created
    ids = []
    for name, merchant_id, terms in (
            (DEMO_PLATFORM_COUPON, None, {"kind": "full_reduction", "threshold_fen": 9900, "amount_fen": 1000,
                                          "total_quantity": 10000, "per_person_limit": 1}),
            (DEMO_SHOP_COUPON, shop.id, {"kind": "instant", "amount_fen": 500, "threshold_fen": 3000,
                                         "scope": "merchant", "scope_ids": [shop.id], "total_quantity": 2000,
                                         "per_person_limit": 2})):
        c = await Coupon.filter(name=name, merchant_id=merchant_id).first()
        if c is None:
            c = await promotions.create_coupon(CouponIn.model_validate(
                {"name": name, "valid_from": now - timedelta(hours=1), "valid_until": now + timedelta(days=90),
                 **terms}), actor_id=None, merchant_id=merchant_id)
            created["coupons"] += 1
        ids.append(c.id)
    if await Campaign.filter(title=DEMO_CAMPAIGN).exists():
        return created
    products = await Product.filter(merchant_id=shop.id, status="on_sale").order_by("id").values_list("id", flat=True)
    camp = await promo_campaigns.create_campaign(CampaignIn(
        title=DEMO_CAMPAIGN, description="喀左陈醋、小米、南果梨，丰收季节限时领券", starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=30), product_ids=list(products), coupon_ids=ids), actor_id=None)
    created["campaigns"] += 1
    try:
        await promo_campaigns.publish(camp.id, actor_id=None)
    except Conflict:
        log.info("demo campaign %s left as a draft: another published campaign overlaps it", camp.id)
    return created
