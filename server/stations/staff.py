"""Station staff (服务站工作人员) and the one station head (站长) per station. Staff are role grants
(accounts); this module lists them and keeps a single head per station."""
from __future__ import annotations

from server.accounts import service as accounts
from server.kit.auth import Principal, Role, forget_principal
from server.kit.db import atomic
from server.kit.errors import NotFound
from server.models.accounts import RoleGrant, User
from server.models.stations import Station
from server.stations.schemas import StaffOut

STAFF = Role.station_staff.value


async def _staff(station_id: int) -> list[StaffOut]:
    grants = await RoleGrant.filter(station_id=station_id, role=STAFF).order_by("-is_head", "id").values(
        "user_id", "is_head", "created_at")
    users = {u["id"]: u for u in await User.filter(id__in=[g["user_id"] for g in grants]).values(
        "id", "nickname", "phone")}
    return [StaffOut(user_id=g["user_id"], nickname=users[g["user_id"]]["nickname"],
                     phone_tail=(users[g["user_id"]]["phone"] or "")[-4:], is_head=g["is_head"],
                     since=g["created_at"]) for g in grants if g["user_id"] in users]


async def my_station_staff(principal: Principal, station_id: int) -> list[StaffOut]:
    """My station's staff, the head first."""
    principal.require_station(station_id)
    return await _staff(station_id)


async def station_staff(station_id: int) -> list[StaffOut]:
    """A station's staff (admin)."""
    if not await Station.exists(id=station_id):
        raise NotFound("station not found")
    return await _staff(station_id)


async def set_head(station_id: int, user_id: int, *, actor_id: int) -> list[StaffOut]:
    """Make user_id the station's head (站长), binding them as staff if needed; the previous head stays
    staff. One head per station."""
    if not await Station.exists(id=station_id):
        raise NotFound("station not found")
    async with atomic() as conn:
        # Lock the station's grants so two admins naming heads at once end with one head.
        await RoleGrant.filter(station_id=station_id, role=STAFF).using_db(conn).order_by("id").select_for_update()
        await accounts.grant_role(user_id, STAFF, station_id=station_id, is_head=True, granted_by=actor_id)
        previous = await (RoleGrant.filter(station_id=station_id, role=STAFF, is_head=True)
                          .exclude(user_id=user_id).using_db(conn).values_list("user_id", flat=True))
        for uid in previous:
            await accounts.grant_role(uid, STAFF, station_id=station_id, is_head=False, granted_by=actor_id)
    for uid in [user_id, *previous]:
        await forget_principal(uid)  # again after commit: a request in between may have cached the old
    return await _staff(station_id)
