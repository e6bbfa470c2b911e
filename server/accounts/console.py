"""Operators and their sign-in to the web console (运营后台): phone + SMS code, or a scan with the
mini-program (扫码登录); operator accounts created by phone; user search for the office.

Any user holding an operator role (admin, warehouse, station_staff, merchant, livestreamer) may sign
in. SMS codes are server.accounts.sms's (1 a minute and 10 a day per phone, 5 wrong tries kill a
code); on top of them, sign-in attempts are capped per client address and per phone.

A scan ticket is a random id in Redis living console_scan_ticket_seconds: "pending" until a signed-in
mini-program user confirms it ("ok:<user id>"), then taken once by the login page's poll."""
from __future__ import annotations

import secrets

from tortoise.expressions import Q, Subquery
from tortoise.exceptions import IntegrityError

from server.accounts import sms
from server.accounts.schemas import ScanTicketOut, UserAdminOut, UserBrief
from server.accounts.service import grant_role, station_id_by_code, user_detail
from server.kit import audit, clock, runtime
from server.kit import redis as kr
from server.kit.auth import Principal, Role, forget_principal, load_principal
from server.kit.db import atomic, id_page
from server.kit.errors import Conflict, Forbidden, Gone, ValidationFailed
from server.kit.schemas import Page
from server.models.accounts import RoleGrant, User
from server.accounts.errors import AccountCode

SMS_PURPOSE = "console_signin"
OPERATOR_ROLES = frozenset({Role.admin.value, Role.warehouse.value, Role.station_staff.value,
                            Role.merchant.value, Role.livestreamer.value})
SCAN_PENDING = "pending"


def is_operator(principal: Principal) -> bool:
    return bool(principal.roles & OPERATOR_ROLES)


async def _throttle(ip: str, phone: str | None) -> None:
    s = runtime.settings()
    await kr.hit_limit("console_signin_ip", ip or "unknown", s.console_signin_per_ip_per_hour, 3600,
                       message="too many sign-in attempts from this address; try again later")
    if phone:
        await kr.hit_limit("console_signin_phone", phone, s.console_signin_per_phone_per_hour, 3600,
                           message="too many sign-in attempts for this phone; try again later")


async def send_signin_code(phone: str, ip: str) -> int:
    """Send a console sign-in code to an account's phone; returns the code's lifetime (seconds)."""
    await _throttle(ip, phone)
    user = await User.get_or_none(phone=phone).only("id", "is_active")
    if user is None or not user.is_active:
        raise ValidationFailed("no console account has this phone", code=AccountCode.NO_CONSOLE_ACCOUNT,
                               details=[{"field": "phone", "message": "no console account has this phone"}])
    return await sms.send_code(phone, SMS_PURPOSE)


async def _signed_in(user_id: int, method: str) -> tuple[Principal, int]:
    """The principal of a user signing in (read afresh: a grant may come from another process), who
    must hold an operator role; the sign-in is audited either way."""
    await forget_principal(user_id)
    user = await User.get(id=user_id).only("id", "token_version", "is_active")
    principal = await load_principal(user_id, user.token_version)
    if not is_operator(principal):
        await audit.record(user_id, "console.sign_in_refused", "user", user_id, {"method": method})
        raise Forbidden("this account holds no operator role", code=AccountCode.NOT_OPERATOR)
    await User.filter(id=user_id).update(last_login_at=clock.now())
    await audit.record(user_id, "console.sign_in", "user", user_id, {"method": method})
    return principal, user.token_version


async def display_name(user_id: int) -> str:
    """How the console names a signed-in operator: the nickname, else the phone, else the id."""
    user = await User.get(id=user_id).only("id", "nickname", "phone")
    return user.nickname or user.phone or f"用户 {user.id}"


async def sign_in_by_code(phone: str, code: str, ip: str) -> tuple[Principal, int]:
    """Check the SMS code and sign the phone's owner in: (principal, token version)."""
    await _throttle(ip, phone)
    await sms.verify_code(phone, SMS_PURPOSE, code)
    user = await User.get_or_none(phone=phone).only("id", "is_active")
    if user is None or not user.is_active:
        raise ValidationFailed("no console account has this phone", code=AccountCode.NO_CONSOLE_ACCOUNT,
                               details=[{"field": "phone", "message": "no console account has this phone"}])
    return await _signed_in(user.id, "sms")


async def sign_out(user_id: int) -> None:
    await audit.record(user_id, "console.sign_out", "user", user_id)


# ---- scan to sign in -------------------------------------------------------------------------------

def _ticket_key(ticket: str) -> str:
    return kr.key("cscan", ticket)


def _check_ticket(ticket: str) -> None:
    if not isinstance(ticket, str) or not (16 <= len(ticket) <= 43) or not ticket.replace("-", "").replace("_", "").isalnum():
        raise ValidationFailed.field("ticket", "malformed ticket")


def scan_scene(ticket: str) -> str:
    # wxacode.getUnlimited's scene: at most 32 visible characters; the page reads ct.
    return f"ct={ticket}"


async def new_scan_ticket(ip: str) -> ScanTicketOut:
    """A fresh single-use ticket for the login page's mini-program code."""
    await _throttle(ip, None)
    ticket = secrets.token_urlsafe(16)
    ttl = runtime.settings().console_scan_ticket_seconds
    await kr.redis().set(_ticket_key(ticket), SCAN_PENDING, ex=ttl)
    return ScanTicketOut(ticket=ticket, expires_in=ttl)


async def scan_code_png(ticket: str) -> bytes:
    """The ticket's mini-program code (PNG): wxacode.getUnlimited, check_path=false, env_version from
    the setting (server/integrations/wechat.py)."""
    _check_ticket(ticket)
    if await kr.redis().get(_ticket_key(ticket)) is None:
        raise Gone("the ticket has expired", code=AccountCode.SCAN_TICKET_EXPIRED)
    wx = runtime.get().extras["wechat"]
    return await wx.wxacode_unlimited(scan_scene(ticket), runtime.settings().console_scan_page, width=280)


async def confirm_scan(ticket: str, principal: Principal) -> None:
    """A signed-in mini-program user confirms the console sign-in shown by the ticket."""
    _check_ticket(ticket)
    if not is_operator(principal):
        raise Forbidden("this account holds no operator role", code=AccountCode.NOT_OPERATOR)
    done = await kr.script("compare_set", [_ticket_key(ticket)], [SCAN_PENDING, f"ok:{principal.user_id}"])
    if not int(done):
        if await kr.redis().get(_ticket_key(ticket)) is None:
            raise Gone("the ticket has expired; refresh the login page", code=AccountCode.SCAN_TICKET_EXPIRED)
        raise Conflict("the ticket was already confirmed", code=AccountCode.SCAN_TICKET_USED)


async def take_scan(ticket: str) -> tuple[Principal, int] | None:
    """The poll: None while the ticket waits; the signed-in (principal, token version) once confirmed
    (only one poll gets it); Gone once it expired."""
    _check_ticket(ticket)
    k = _ticket_key(ticket)
    raw = await kr.redis().get(k)
    if raw is None:
        raise Gone("the ticket has expired", code=AccountCode.SCAN_TICKET_EXPIRED)
    value = raw.decode() if isinstance(raw, bytes) else str(raw)
    if value == SCAN_PENDING:
        return None
    if not value.startswith("ok:") or not await kr.redis().delete(k):
        raise Gone("the ticket has been used", code=AccountCode.SCAN_TICKET_EXPIRED)
    return await _signed_in(int(value[3:]), "scan")


# ---- operators and user search --------------------------------------------------------------------

async def create_operator(name: str, phone: str, *, actor_id: int | None) -> UserAdminOut:
    """An account the office creates by name and phone (no WeChat needed); roles are granted next.
    The phone's existing account is reused (its name filled in when it has none)."""
    try:
        async with atomic() as conn:
            user = await User.filter(phone=phone).using_db(conn).select_for_update().first()
            if user is None:
                user = await User.create(phone=phone, nickname=name, phone_verified_at=None, using_db=conn)
                created = True
            else:
                created = False
                if not user.nickname:
                    await User.filter(id=user.id).using_db(conn).update(nickname=name)
            await audit.record(actor_id, "user.create_operator", "user", user.id,
                               {"name": name, "phone": phone[:3] + "****" + phone[-4:], "created": created},
                               conn=conn)
    except IntegrityError:
        raise Conflict("this phone was just taken by another account", code=AccountCode.PHONE_TAKEN,
                       details=[{"field": "phone", "message": "bound to another account"}]) from None
    return await user_detail(user.id)


async def grant_role_by_phone(phone: str, role: str, *, name: str = "", station_code: str | None = None,
                              merchant_id: int | None = None, is_head: bool = False):
    """CLI bootstrap (`grant-role --phone`): find or create the user by phone, then grant."""
    if not isinstance(phone, str) or not sms.PHONE.match(phone):
        raise ValidationFailed.field("phone", "a mainland mobile number of 11 digits is required")
    station_id = await station_id_by_code(station_code)
    user = await create_operator(name, phone, actor_id=None)
    return await grant_role(user.id, role, station_id=station_id, merchant_id=merchant_id, is_head=is_head)


def _search_filter(q: str) -> Q | None:
    if not q:
        return None
    if q.isdigit():
        cond = Q(phone__startswith=q)
        if len(q) <= 18:
            cond |= Q(id=int(q))
        return cond
    return Q(nickname__icontains=q) | Q(openid=q)


async def search_users(q: str, role: str | None, cursor: str | None, limit: int) -> Page[UserBrief]:
    """Users by phone (or its start), nickname (part), openid or id, newest first; optionally only the
    holders of a role ("operator": any operator role)."""
    qs = User.all()
    cond = _search_filter(q)
    if cond is not None:
        qs = qs.filter(cond)
    if role:
        roles = sorted(OPERATOR_ROLES) if role == "operator" else [role]
        qs = qs.filter(id__in=Subquery(RoleGrant.filter(role__in=roles).values("user_id")))
    rows, next_cursor = await id_page(qs, cursor, limit, newest_first=True)
    grants: dict[int, set[str]] = {}
    for g in await RoleGrant.filter(user_id__in=[u.id for u in rows]).values("user_id", "role"):
        grants.setdefault(g["user_id"], set()).add(g["role"])
    items = [UserBrief(id=u.id, nickname=u.nickname, phone=u.phone, openid_set=bool(u.openid),
                       is_active=u.is_active, roles=sorted(grants.get(u.id, ())), created_at=u.created_at,
                       last_login_at=u.last_login_at) for u in rows]
    return Page[UserBrief](items=items, next_cursor=next_cursor)
