"""China's administrative regions (行政区划) from the vendored dataset regions.json: provinces, cities
and counties for the whole country (cpca 0.5.5 adcodes, MIT), towns (乡镇/街道) for Kazuo County only.
Codes are 6 digits (province ..0000, city ....00, county), Kazuo towns 9 digits."""
from __future__ import annotations

import functools
import json
import pathlib

from server.kit.errors import ValidationFailed

KAZUO = "211324"  # 喀喇沁左翼蒙古族自治县
LIAONING = "210000"
CHAOYANG = "211300"
_FILE = pathlib.Path(__file__).with_name("regions.json")


@functools.cache
def _table() -> tuple[dict[str, tuple[str, str]], dict[str, list[str]]]:
    raw = json.loads(_FILE.read_text(encoding="utf-8"))["regions"]
    regions = {code: (v[0], v[1]) for code, v in raw.items()}
    children: dict[str, list[str]] = {}
    for code, (_, parent) in regions.items():
        children.setdefault(parent, []).append(code)
    return regions, children


def name(code: str) -> str:
    """The region's name ("" when unknown)."""
    hit = _table()[0].get(code)
    return hit[0] if hit else ""


def exists(code: str) -> bool:
    return code in _table()[0]


def parent(code: str) -> str:
    hit = _table()[0].get(code)
    return hit[1] if hit else ""


def children(code: str) -> list[dict]:
    """The regions directly under code ("" = the provinces), as {code, name}, by code."""
    regions, kids = _table()
    return [{"code": c, "name": regions[c][0]} for c in sorted(kids.get(code, []))]


def lineage(code: str) -> list[str]:
    """code and its ancestors, most specific first."""
    out = []
    while code:
        out.append(code)
        code = parent(code)
    return out


def town_code(county_code: str, town_name: str) -> str:
    """The code of a town of the county by its name ("" when not in the dataset)."""
    for c in children(county_code):
        if c["name"] == town_name:
            return c["code"]
    return ""


def check_path(province: str, city: str, county: str, town: str) -> None:
    """The codes form one path province → city → county (→ town where the dataset lists towns);
    422 naming the first field that does not fit."""
    regions, kids = _table()
    if province not in regions or parent(province) != "":
        raise ValidationFailed.field("province_code", "no such province")
    if city not in regions or parent(city) != province:
        raise ValidationFailed.field("city_code", "no such city in this province")
    if kids.get(city):
        if county not in regions or parent(county) != city:
            raise ValidationFailed.field("county_code", "no such county in this city")
    elif county:
        raise ValidationFailed.field("county_code", "this city has no counties: leave it empty")
    leaf = county or city
    if kids.get(leaf):
        if town not in regions or parent(town) != leaf:
            raise ValidationFailed.field("town_code", "no such town in this county")
    elif town:
        raise ValidationFailed.field("town_code", "the dataset lists no towns here: leave it empty")
