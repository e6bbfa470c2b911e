"""WeChat's documented rules for subscribe-message keyword values (订阅消息参数值内容限制说明), one
owner for both sides: the sender checks a value before it leaves (server/notify/registry.py) and the
simulator refuses what WeChat refuses (server/integrations/simulators/wechat_messages.py).

The kind is the keyword's name without its trailing digits (thing1 -> thing, time12 -> time).

| kind             | WeChat's rule                                                                    |
|------------------|-----------------------------------------------------------------------------------|
| thing            | 20 characters or fewer: Chinese, digits, letters or symbols                        |
| number           | 32 or fewer digits, may have decimals                                              |
| letter           | 32 or fewer letters                                                                |
| symbol           | 5 or fewer symbols                                                                 |
| character_string | 32 or fewer digits, letters or symbols (no Chinese)                                |
| time             | 24-hour time, with the date before it allowed: 15:01 or 2019年10月1日 15:01;       |
|                  | a period joins two such times with "~"                                             |
| date             | a date, with a 24-hour time after it allowed: 2019年10月1日 or 2019年10月1日 15:01; |
|                  | a period joins two with "~"                                                        |
| amount           | one currency symbol and 10 or fewer digits, may have decimals, may end with 元     |
| phone_number     | 17 or fewer digits and symbols                                                     |
| car_number       | 8 or fewer; the first and last may be Chinese, the rest letters or digits         |
| name             | 10 or fewer Chinese characters, or 20 or fewer letters or symbols                  |
| phrase           | 5 or fewer Chinese characters only, e.g. 配送中                                      |

No value may be empty ("argument invalid! data.x.value is empty"). "2019-10-01 15:01" is not a
time value: WeChat refuses it."""
from __future__ import annotations

import re
from datetime import datetime

from server.kit import clock

_HAN = "\u4e00-\u9fff"
_CLOCK = r"([01]?\d|2[0-3]):[0-5]\d"
_DAY = r"\d{4}年(0?[1-9]|1[0-2])月(0?[1-9]|[12]\d|3[01])日"
_TIME = re.compile(rf"^({_DAY} )?{_CLOCK}$")
_DATE = re.compile(rf"^{_DAY}( {_CLOCK})?$")
_SYMBOLS = r"!-/:-@\[-`{-~"  # printable ASCII that is neither a letter nor a digit
_PATTERNS = {
    "number": re.compile(r"^-?\d+(\.\d+)?$"),
    "letter": re.compile(r"^[A-Za-z]+$"),
    "symbol": re.compile(rf"^[{_SYMBOLS}]+$"),
    "character_string": re.compile(r"^[!-~]+$"),
    "amount": re.compile(r"^[¥￥$€£]?\d{1,10}(\.\d+)?元?$"),
    "phone_number": re.compile(rf"^[0-9{_SYMBOLS} ]+$"),
    "car_number": re.compile(rf"^[{_HAN}A-Za-z0-9][A-Za-z0-9]*[{_HAN}A-Za-z0-9]?$"),
    "phrase": re.compile(rf"^[{_HAN}]+$"),
}
_LIMITS = {"thing": 20, "number": 32, "letter": 32, "symbol": 5, "character_string": 32, "phone_number": 17,
           "car_number": 8, "phrase": 5}
THING_MAX = _LIMITS["thing"]


def kind_of(keyword: str) -> str:
    """thing1 -> thing, character_string12 -> character_string."""
    return re.sub(r"\d+$", "", keyword)


def problem(keyword: str, value: object) -> str | None:
    """Why WeChat refuses this value for this keyword (None: it accepts it)."""
    if not isinstance(value, str):
        return "value must be a string"
    if not value:
        return "value is empty"
    kind = kind_of(keyword)
    if kind in ("time", "date"):
        pattern = _TIME if kind == "time" else _DATE
        parts = value.split("~")
        if len(parts) > 2 or not all(pattern.match(p.strip()) for p in parts):
            example = "15:01 或 2019年10月1日 15:01" if kind == "time" else "2019年10月1日 或 2019年10月1日 15:01"
            return f"invalid {kind}, e.g. {example}"
        return None
    if kind == "name":
        han = bool(re.search(f"[{_HAN}]", value))
        return "exceeds limit" if len(value) > (10 if han else 20) else None
    if kind in _LIMITS and len(value) > _LIMITS[kind]:
        return "exceeds limit"
    pattern = _PATTERNS.get(kind)
    if pattern is not None and not pattern.match(value):
        return f"invalid {kind}"
    return None


def time_value(at: datetime) -> str:
    """A time keyword's value as WeChat documents it, in Asia/Shanghai: 2019年10月1日 15:01."""
    local = at.astimezone(clock.SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def date_value(at: datetime) -> str:
    """A date keyword's value, in Asia/Shanghai: 2019年10月1日."""
    local = at.astimezone(clock.SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日"


def thing_value(text: str) -> str:
    """A thing keyword's value: at most 20 characters (cut with … when longer)."""
    return text if len(text) <= THING_MAX else text[:THING_MAX - 1] + "…"
