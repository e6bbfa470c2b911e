"""Factories for the statistics tests: a small world on one unique calendar day, built directly in
the database (the rollup reads source tables), plus the real checkout + WeChat Pay path for the screen."""
from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta

import pytest

from server.kit import clock
from tests.conftest import Actor, login


_CLAIMED: set[date] = set()   # days handed out in this run (the database is new for each run)


def _claim(days: list[date]) -> bool:
    if any(d in _CLAIMED for d in days):
        return False
    _CLAIMED.update(days)
    return True


def unique_day() -> date:
    """A day no other test of this run writes to, with its neighbours (tests write the day before and
    after) and the same days a year earlier (the suite shares one database, and the figures compare a
    day with last year's)."""
    while True:
        day = date(2041, 1, 1) + timedelta(days=secrets.randbelow(3000))
        days = [day + timedelta(days=i) for i in (-1, 0, 1)]
        if _claim(days + [_year_before(d) for d in days]):
            return day


def unique_month() -> date:
    """The first day of a month no other test of this run writes to, its days and the same month a
    year before all held for the caller (2060 on, beyond the single days drawn above)."""
    while True:
        first = date(2060 + secrets.randbelow(30), 1 + secrets.randbelow(12), 1)
        days = [first + timedelta(days=i) for i in range(31) if (first + timedelta(days=i)).month == first.month]
        if _claim(days + [_year_before(d) for d in days]):
            return first


def _year_before(d: date) -> date:
    from server.stats.service import year_before

    return year_before(d)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    """An instant given in Asia/Shanghai wall time, as aware UTC."""
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=clock.SHANGHAI).astimezone(clock.UTC)


async def make_world(suffix: str | None = None) -> dict:
    """Categories (a farm top category with a child, a non-farm one), two merchants (one a poor
    household), three products (not visible: other tests' catalogue pages stay as they were), a town
    and a village station, a buyer."""
    from server.models.accounts import User
    from server.models.catalog import Category, Product, Sku
    from server.models.merchants import Merchant
    from server.models.stations import Station

    sx = suffix or secrets.token_hex(3)
    farm = await Category.create(name=f"果蔬{sx}", slug=f"st-produce-{sx}", is_farm_product=True)
    pear = await Category.create(name=f"南果梨{sx}", slug=f"st-pear-{sx}", parent=farm)
    craft = await Category.create(name=f"紫砂{sx}", slug=f"st-zisha-{sx}")
    poor = await Merchant.create(name=f"贫困户农场{sx}", kind="household", status="active", town=f"甲镇{sx}",
                                 is_poor_household=True)
    coop = await Merchant.create(name=f"紫砂社{sx}", kind="cooperative", status="active", town=f"乙镇{sx}")
    p_pear = await Product.create(merchant=poor, category=pear, name=f"南果梨{sx}", status="off_shelf",
                                  origin_town=f"甲镇{sx}")
    p_pot = await Product.create(merchant=coop, category=craft, name=f"紫砂壶{sx}", status="off_shelf",
                                 origin_town="")
    s_pear = await Sku.create(product=p_pear, spec="5斤", price=3000, list_price=3500, stock=0)
    s_pot = await Sku.create(product=p_pot, spec="标准", price=20000, list_price=25000, stock=0)
    town = await Station.create(code=f"ST-T-{sx}", name=f"甲镇服务中心{sx}", level="town", town=f"甲镇{sx}")
    village = await Station.create(code=f"ST-V-{sx}", name=f"甲村服务站{sx}", level="village", town=f"甲镇{sx}",
                                   village=f"甲村{sx}", parent=town, is_poor_village=True)
    buyer = await User.create(openid="o-st-" + sx)
    return {"sx": sx, "farm": farm, "pear_cat": pear, "craft": craft, "poor": poor, "coop": coop,
            "p_pear": p_pear, "p_pot": p_pot, "s_pear": s_pear, "s_pot": s_pot, "town": town,
            "village": village, "buyer": buyer}


async def paid_order(w: dict, paid_at: datetime, lines: list[tuple[str, int]], *, pickup: bool = True,
                     live_session_id: int | None = None, livestreamer_id: int | None = None,
                     discounts: list[tuple[int, int]] | None = None):
    """A paid order written directly, with its ledger postings made by the ledger service itself;
    discounts: per line, (coupon saving, the platform's part of it) in fen."""
    from server.kit.db import atomic
    from server.ledger import service as ledger
    from server.models.ledger import LedgerEntry
    from server.models.orders import Order, OrderLine

    prod = {"pear": (w["p_pear"], w["s_pear"], w["poor"]), "pot": (w["p_pot"], w["s_pot"], w["coop"])}
    async with atomic() as conn:
        total = sum(prod[k][1].price * q for k, q in lines)
        discounts = discounts or [(0, 0)] * len(lines)
        saved = sum(d for d, _ in discounts)
        o = await Order.create(order_no="ST" + secrets.token_hex(10), buyer=w["buyer"], status="completed",
                               fulfilment="pickup" if pickup else "delivery",
                               station=w["village"] if pickup else None,
                               address=None if pickup else {"town": "丙镇" + w["sx"], "name": "x", "phone": "1"},
                               goods_fen=total, total_fen=total - saved, paid_fen=total - saved,
                               discount_fen=saved, payment_method="wechat_jsapi",
                               source="live" if live_session_id else "", live_session_id=live_session_id,
                               livestreamer_id=livestreamer_id, paid_at=paid_at, using_db=conn)
        out = []
        for (k, q), (disc, platform_disc) in zip(lines, discounts):
            p, s, m = prod[k]
            out.append(await OrderLine.create(order=o, merchant=m, product=p, sku=s, product_name=p.name,
                                              sku_spec=s.spec, unit_price=s.price, quantity=q, amount=s.price * q,
                                              commission_bp=500 if live_session_id else 0, discount_fen=disc,
                                              platform_discount_fen=platform_disc, using_db=conn))
        await ledger.post_sale(o.id, conn)
        # The ledger stamps its postings "now": move them to when this payment happened.
        await LedgerEntry.filter(order_id=o.id).using_db(conn).update(created_at=paid_at)
    return o, out


async def buyer_actor(client) -> Actor:
    return await login(client)


@pytest.fixture
def shanghai_day():
    return unique_day()
