"""Pickers for the console's forms: a station by name or code, a merchant by name or id, a user by
phone or id, each resolved on the server with a message that says what was (or was not) found."""
from __future__ import annotations

from server.accounts import console as accounts
from server.kit.errors import ValidationFailed
from server.merchants import service as merchants
from server.stations import network
from server.stations.schemas import StationListQuery


async def station(text: str | None, field: str = "station") -> int:
    """The id of the station named (or coded) text; a 422 on `field` saying what was found."""
    if not text:
        raise ValidationFailed.field(field, "请输入服务站的名称或编码。")
    found = (await network.list_stations(StationListQuery(q=text, limit=6))).items
    exact = [s for s in found if s.code == text or s.name == text]
    if len(exact) == 1:
        return exact[0].id
    if len(found) == 1:
        return found[0].id
    if not found:
        raise ValidationFailed.field(field, f"没有名称或编码为“{text}”的服务站。")
    raise ValidationFailed.field(field, "找到多个服务站：" + "、".join(f"{s.name}（{s.code}）" for s in found[:5])
                                 + "，请输入编码。")


async def merchant(text: str | None, field: str = "merchant") -> int:
    """The id of the active merchant named text (or with that id); a 422 on `field` otherwise."""
    if not text:
        raise ValidationFailed.field(field, "请输入商户名称或编号。")
    if text.isdigit():
        return (await merchants.detail(int(text))).id
    found = (await merchants.queue("active", None, 6, q=text)).items
    exact = [m for m in found if m.name == text]
    if len(exact) == 1 or len(found) == 1:
        return (exact or found)[0].id
    if not found:
        raise ValidationFailed.field(field, f"没有名为“{text}”的正常营业商户。")
    raise ValidationFailed.field(field, "找到多个商户：" + "、".join(f"{m.name}（编号 {m.id}）" for m in found[:5])
                                 + "，请输入编号。")


async def user(text: str | None, field: str = "user") -> int:
    """The id of the user with this phone (all 11 digits) or this id; a 422 on `field` otherwise."""
    if not text or not text.isdigit():
        raise ValidationFailed.field(field, "请输入用户的手机号（11 位）或用户编号。")
    found = (await accounts.search_users(text, None, None, 6)).items
    exact = [u for u in found if u.phone == text] or [u for u in found if str(u.id) == text]
    if len(exact) == 1:
        return exact[0].id
    raise ValidationFailed.field(field, f"没有手机号或编号为“{text}”的用户。请先在“用户与角色”中建立。")
