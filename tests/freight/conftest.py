"""Freight and address-book fixtures: the county template is removed after each test (the suite
shares one database, and other tests price deliveries with no template: free)."""
from __future__ import annotations

import pytest

KAZUO_ADDR = {"name": "王秀兰", "phone": "13904210001", "town": "南公营子镇", "village": "八家子村",
              "detail": "村委会东100米"}
# 辽宁省 沈阳市 和平区; 新疆 乌鲁木齐市 天山区; 北京市 市辖区 东城区
SHENYANG = {"province_code": "210000", "city_code": "210100", "county_code": "210102"}
URUMQI = {"province_code": "650000", "city_code": "650100", "county_code": "650102"}
BEIJING = {"province_code": "110000", "city_code": "110100", "county_code": "110101"}


def saved(region: dict, **extra) -> dict:
    return {"name": "李明", "phone": "13800138000", "detail": "幸福路1号", **region, **extra}


def county_template(**extra) -> dict:
    """Kazuo County flat 300; Liaoning by piece 800 + 200 a further piece; other provinces 1500 +
    500; Xinjiang not served."""
    return {"name": "喀左县运费", "basis": "piece", "zones": [
        {"regions": ["211324"], "mode": "flat", "first_fen": 300},
        {"regions": ["210000"], "mode": "metered", "first_units": 1, "first_fen": 800, "step_units": 1,
         "step_fen": 200},
        {"regions": ["*"], "mode": "metered", "first_units": 1, "first_fen": 1500, "step_units": 1, "step_fen": 500},
        {"regions": ["650000"], "mode": "not_served"},
    ], **extra}


@pytest.fixture
async def no_county_template_after(app):
    from server.models.freight import FreightTemplate

    yield
    await FreightTemplate.filter(merchant_id=None).delete()


@pytest.fixture
async def office(client, no_county_template_after):
    from tests.conftest import login_as

    return await login_as(client, "admin")


async def set_county(office, body: dict):
    r = await office.put("/api/v1/console/freight/county", json=body)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
async def buyer(client):
    from tests.conftest import login

    return await login(client)
