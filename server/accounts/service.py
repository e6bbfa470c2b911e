"""Accounts: WeChat login, roles and their grants."""
from __future__ import annotations

import logging

from server.accounts.schemas import GrantOut, LoginOut, UserAdminOut, UserOut
from server.kit import audit, clock, runtime
from server.kit import redis as kr
from server.kit.auth import Principal, Role, forget_principal, issue_token, load_principal
from server.kit.db import atomic
from server.kit.errors import Conflict, KitCode, NotFound, ValidationFailed
from server.models.accounts import RoleGrant, User
from server.accounts.errors import AccountCode
from server.models.merchants import Merchant
from server.models.stations import Station
from server.kit.errors import Unauthorized

log = logging.getLogger("kazuo.accounts")


def _scope_key(role: str, station_id: int | None, merchant_id: int | None) -> str:
    return f"{role}:{station_id or ''}:{merchant_id or ''}"


def user_out(user: User, p: Principal) -> UserOut:
    return UserOut(id=user.id, roles=sorted(p.roles), nickname=user.nickname, phone=user.phone,
                   station_ids=sorted(p.station_ids), merchant_ids=sorted(p.merchant_ids))


async def login_response(user: User) -> LoginOut:
    # A login reads the grants afresh (this process's copies only: nothing changed).
    await forget_principal(user.id, everywhere=False)
    p = await load_principal(user.id)
    token = issue_token(user.id, sorted(p.roles), user.token_version)
    return LoginOut(token=token, expires_in=runtime.settings().jwt_ttl_seconds, user=user_out(user, p))


async def wechat_login(code: str, client_ip: str) -> LoginOut:
    """Exchange a wx.login() code for our token; create the user on first login."""
    s = runtime.settings()
    await kr.hit_limit("login", client_ip, s.login_rate_per_minute, 60)
    session = await runtime.get().extras["wechat"].code_to_session(code)
    openid, unionid = session.get("openid"), session.get("unionid")
    if not openid:
        raise ValidationFailed.field("code", "WeChat returned no openid")
    async with atomic() as conn:
        user = await User.filter(openid=openid).using_db(conn).select_for_update().first()
        if user is None:
            user, _ = await User.get_or_create(openid=openid, defaults={}, using_db=conn)
        user.session_key = session.get("session_key")
        if unionid:
            user.unionid = unionid
        user.last_login_at = clock.now()
        await user.save(using_db=conn, update_fields=["session_key", "unionid", "last_login_at"])
    if not user.is_active:
        raise Unauthorized("account disabled", code=KitCode.ACCOUNT_DISABLED)
    return await login_response(user)


async def me(principal: Principal) -> UserOut:
    user = await User.get(id=principal.user_id)
    return user_out(user, principal)


async def grant_role(user_id: int, role: Role | str, *, station_id: int | None = None,
                     merchant_id: int | None = None, is_head: bool = False,
                     granted_by: int | None = None) -> GrantOut:
    """Give a user a role (bound to a station or merchant where the role needs one)."""
    role = Role(role).value
    if role == Role.consumer.value:
        raise ValidationFailed.field("role", "everyone is a consumer; nothing to grant")
    if role == Role.station_staff.value and station_id is None:
        raise ValidationFailed.field("station_id", "station_staff needs a station")
    if role != Role.station_staff.value and station_id is not None:
        raise ValidationFailed.field("station_id", "only station_staff is bound to a station")
    if role == Role.merchant.value and merchant_id is None:
        raise ValidationFailed.field("merchant_id", "the merchant role needs a merchant")
    if role != Role.merchant.value and merchant_id is not None:
        raise ValidationFailed.field("merchant_id", "only the merchant role is bound to a merchant")
    if is_head and role != Role.station_staff.value:
        raise ValidationFailed.field("is_head", "only station staff can be a station head")
    async with atomic() as conn:
        if not await User.filter(id=user_id).using_db(conn).exists():
            raise NotFound("user not found")
        if station_id is not None and not await Station.filter(id=station_id).using_db(conn).exists():
            raise ValidationFailed.field("station_id", "no such station")
        if merchant_id is not None and not await Merchant.filter(id=merchant_id).using_db(conn).exists():
            raise ValidationFailed.field("merchant_id", "no such merchant")
        key = _scope_key(role, station_id, merchant_id)
        grant = await RoleGrant.filter(user_id=user_id, scope_key=key).using_db(conn).first()
        if grant is None:
            grant = await RoleGrant.create(user_id=user_id, role=role, station_id=station_id,
                                           merchant_id=merchant_id, is_head=is_head, scope_key=key,
                                           granted_by_id=granted_by, using_db=conn)
        elif grant.is_head != is_head:
            grant.is_head = is_head
            await grant.save(using_db=conn, update_fields=["is_head"])
        await audit.record(granted_by, "role.grant", "user", user_id,
                           {"role": role, "station_id": station_id, "merchant_id": merchant_id,
                            "is_head": is_head}, conn=conn)
    await forget_principal(user_id)
    return GrantOut.model_validate(grant)


async def revoke_grant(grant_id: int, *, revoked_by: int | None) -> None:
    """Take a role back. The last admin cannot be revoked (the county would be locked out)."""
    async with atomic() as conn:
        grant = await RoleGrant.filter(id=grant_id).using_db(conn).select_for_update().first()
        if grant is None:
            raise NotFound("grant not found")
        if grant.role == Role.admin.value:
            admins = await RoleGrant.filter(role=Role.admin.value).using_db(conn).count()
            if admins <= 1:
                raise Conflict("the last admin cannot be revoked", code=AccountCode.LAST_ADMIN)
        await grant.delete(using_db=conn)
        await audit.record(revoked_by, "role.revoke", "user", grant.user_id,
                           {"role": grant.role, "station_id": grant.station_id,
                            "merchant_id": grant.merchant_id}, conn=conn)
    await forget_principal(grant.user_id)


async def user_detail(user_id: int) -> UserAdminOut:
    user = await User.get_or_none(id=user_id)
    if user is None:
        raise NotFound("user not found")
    grants = await RoleGrant.filter(user_id=user_id).order_by("id")
    return UserAdminOut(id=user.id, openid_set=bool(user.openid), phone=user.phone,
                        nickname=user.nickname, is_active=user.is_active, created_at=user.created_at,
                        last_login_at=user.last_login_at,
                        grants=[GrantOut.model_validate(g) for g in grants])


async def set_active(user_id: int, active: bool, *, actor_id: int) -> UserAdminOut:
    """Disable or re-enable an account; disabling revokes every token it holds. An admin cannot
    disable their own account (the console would lock them out mid-session)."""
    if not active and user_id == actor_id:
        raise Conflict("you cannot disable your own account", code=AccountCode.CANNOT_DISABLE_SELF)
    async with atomic() as conn:
        user = await User.filter(id=user_id).using_db(conn).select_for_update().first()
        if user is None:
            raise NotFound("user not found")
        if user.is_active != active:
            user.is_active = active
            user.token_version += 1
            await user.save(using_db=conn, update_fields=["is_active", "token_version"])
            await audit.record(actor_id, "user.enable" if active else "user.disable", "user", user_id,
                               conn=conn)
    await forget_principal(user_id)
    return await user_detail(user_id)


async def station_id_by_code(station_code: str | None) -> int | None:
    """The id of the station with this code (None for no code); 422 naming `station` when unknown."""
    if not station_code:
        return None
    station = await Station.get_or_none(code=station_code).only("id")
    if station is None:
        raise ValidationFailed.field("station", f"no station with code {station_code}")
    return station.id


async def grant_role_by_openid(openid: str, role: str, *, station_code: str | None,
                               merchant_id: int | None, is_head: bool = False) -> GrantOut:
    """CLI bootstrap (`grant-role`): find or create the user by openid, then grant."""
    station_id = await station_id_by_code(station_code)
    user, _ = await User.get_or_create(openid=openid)
    return await grant_role(user.id, role, station_id=station_id, merchant_id=merchant_id,
                            is_head=is_head)


async def revoke_role_by_openid(openid: str, role: str, *, station_code: str | None,
                                merchant_id: int | None) -> GrantOut:
    """CLI (`revoke-role`): take back the grant of role (at that station / for that merchant)."""
    station_id = await station_id_by_code(station_code)
    grant = await RoleGrant.filter(user__openid=openid,
                                   scope_key=_scope_key(Role(role).value, station_id, merchant_id)).first()
    if grant is None:
        raise NotFound(f"user {openid} holds no such {role} grant")
    out = GrantOut.model_validate(grant)
    await revoke_grant(grant.id, revoked_by=None)
    return out
