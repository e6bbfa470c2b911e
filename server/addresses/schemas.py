from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import StringConstraints

from server.kit.schemas import Out, Phone, Schema

Code = Annotated[str, StringConstraints(pattern=r"^\d{6}(\d{3})?$")]
OptCode = Annotated[str, StringConstraints(pattern=r"^(\d{6}(\d{3})?)?$")]


class AddressBody(Schema):
    name: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    phone: Phone
    province_code: Code
    city_code: Code
    county_code: OptCode = ""
    town_code: OptCode = ""
    village: Annotated[str, StringConstraints(max_length=32)] = ""
    detail: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    is_default: bool = False


class AddressOut(Out):
    id: int
    name: str
    phone: str  # masked (138****5678) in lists, whole in the one-address answer
    province_code: str
    city_code: str
    county_code: str
    town_code: str
    region: str  # 辽宁省 朝阳市 喀喇沁左翼蒙古族自治县 大城子街道
    village: str
    detail: str
    is_default: bool
    station_id: int | None = None  # the village station whose town→village leg serves it
    updated_at: datetime


class RegionOut(Out):
    code: str
    name: str
