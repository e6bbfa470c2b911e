"""Payee details (收款信息) per merchant, station and livestreamer, changed only with maker–checker:
a change (entered by the office or by the payee) is pending until a second office user approves it;
the one who asked can never approve it. Every step is audited; lists show the details masked."""
from __future__ import annotations

import re

from tortoise.expressions import Q

from server.kit import audit, clock
from server.kit.auth import Principal
from server.kit.db import atomic, id_page
from server.kit.errors import Conflict, NotFound, ValidationFailed
from server.kit.schemas import Page
from server.models.accounts import RoleGrant, User
from server.models.merchants import Merchant
from server.models.payouts import Payee, PayeeChange, PayeeMethod
from server.models.stations import Station
from server.payouts.schemas import ChangesQuery, MyPayeeIn, PayeeChangeOut, PayeeIn, PayeeOut
from server.payouts.errors import PayoutCode

DETAILS = ("method", "openid", "real_name", "bank_account", "bank_name", "bank_branch")
_ACCOUNT = re.compile(r"[0-9]{8,32}")
_OPENID = re.compile(r"[0-9A-Za-z_-]{6,64}")


def mask(value: str, keep_start: int, keep_end: int) -> str:
    """A value with its middle hidden (张三丰 -> 张**, 6222021234567890 -> 6222********7890)."""
    if not value:
        return ""
    if len(value) <= keep_start + keep_end:
        return value[:1] + "*" * (len(value) - 1)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[len(value) - keep_end:]


def _masked(row) -> dict:
    return {"account_type": row.account_type, "account_id": row.account_id, "method": row.method,
            "openid": mask(row.openid, 4, 4), "real_name": mask(row.real_name, 1, 0),
            "bank_account": mask(row.bank_account, 4, 4), "bank_name": row.bank_name, "bank_branch": row.bank_branch}


def payee_out(row: Payee) -> PayeeOut:
    return PayeeOut(**_masked(row), updated_at=row.updated_at)


def change_out(row: PayeeChange, *, full: bool = False) -> PayeeChangeOut:
    details = {k: getattr(row, k) for k in ("account_type", "account_id", *DETAILS)} if full else _masked(row)
    return PayeeChangeOut(**details, id=row.id, status=row.status, requested_by=row.requested_by,
                          requested_via=row.requested_via, decided_by=row.decided_by, decided_at=row.decided_at,
                          note=row.note, created_at=row.created_at)


def owns(principal: Principal, account_type: str, account_id: int) -> bool:
    """Whether the principal is this payee (a member of the merchant, staff of the station, the livestreamer)."""
    return ((account_type == "merchant" and account_id in principal.merchant_ids)
            or (account_type == "station" and account_id in principal.station_ids)
            or (account_type == "livestreamer" and principal.has("livestreamer") and account_id == principal.user_id))


def accounts_of(principal: Principal) -> list[tuple[str, int]]:
    """The payee accounts the principal holds."""
    out = [("merchant", m) for m in sorted(principal.merchant_ids)]
    out += [("station", s) for s in sorted(principal.station_ids)]
    if principal.has("livestreamer"):
        out.append(("livestreamer", principal.user_id))
    return out


async def _exists(account_type: str, account_id: int) -> bool:
    if account_type == "merchant":
        return await Merchant.filter(id=account_id).exists()
    if account_type == "station":
        return await Station.filter(id=account_id).exists()
    return await RoleGrant.filter(user_id=account_id, role="livestreamer").exists()


def _clean(body: PayeeIn | MyPayeeIn, openid: str) -> dict:
    """The details of a request, checked for its method (422 naming the field)."""
    d = {"method": body.method, "openid": "", "real_name": body.real_name.strip(), "bank_account": "",
         "bank_name": "", "bank_branch": ""}
    if body.method == PayeeMethod.WECHAT:
        if not _OPENID.fullmatch(openid):
            raise ValidationFailed.field("openid", "a WeChat openid under our appid is required")
        d["openid"] = openid
        return d
    account = re.sub(r"[\s-]", "", body.bank_account)
    for name, value in (("real_name", d["real_name"]), ("bank_name", body.bank_name.strip()),
                        ("bank_branch", body.bank_branch.strip())):
        if not value:
            raise ValidationFailed.field(name, "required for a bank account")
    if not _ACCOUNT.fullmatch(account):
        raise ValidationFailed.field("bank_account", "8 to 32 digits")
    d.update(bank_account=account, bank_name=body.bank_name.strip(), bank_branch=body.bank_branch.strip())
    return d


async def _request(account_type: str, account_id: int, details: dict, *, actor_id: int, via: str,
                   note: str = "") -> PayeeChangeOut:
    if not await _exists(account_type, account_id):
        raise NotFound(f"{account_type} not found")
    async with atomic() as conn:
        superseded = await PayeeChange.filter(account_type=account_type, account_id=account_id,
                                              status="pending").using_db(conn).update(status="superseded")
        row = await PayeeChange.create(account_type=account_type, account_id=account_id, **details,
                                       requested_by=actor_id, requested_via=via, note=note, using_db=conn)
        await audit.record(actor_id, "payee.request", f"payee_{account_type}", account_id,
                           {"change_id": row.id, "via": via, "superseded": superseded, **_masked(row)}, conn=conn)
    return change_out(row)


async def request_change(body: PayeeIn, *, actor_id: int) -> PayeeChangeOut:
    """The office enters a payee's new details: pending until another office user approves."""
    return await _request(body.account_type, body.account_id, _clean(body, body.openid.strip()),
                          actor_id=actor_id, via="office", note=body.note)


async def request_own_change(principal: Principal, body: MyPayeeIn) -> PayeeChangeOut:
    """A payee asks for its own details (wechat: the caller's own openid under our appid)."""
    if not owns(principal, body.account_type, body.account_id):
        raise NotFound(f"{body.account_type} not found")
    openid = ""
    if body.method == PayeeMethod.WECHAT:
        openid = (await User.filter(id=principal.user_id).first().values_list("openid", flat=True)) or ""
        if not openid:
            raise ValidationFailed.field("method", "sign in with WeChat first: no openid is known for you")
    return await _request(body.account_type, body.account_id, _clean(body, openid), actor_id=principal.user_id,
                          via="payee")


async def decide(change_id: int, *, approve: bool, actor_id: int, note: str = "") -> PayeeChangeOut:
    """A second office user approves (the details come into force) or rejects a pending change;
    the one who asked for it cannot (409 maker_checker)."""
    async with atomic() as conn:
        row = await PayeeChange.filter(id=change_id).using_db(conn).select_for_update().first()
        if row is None:
            raise NotFound("payee change not found")
        if row.status != "pending":
            raise Conflict(f"the change is {row.status}", code=PayoutCode.NOT_PENDING)
        if row.requested_by == actor_id:
            raise Conflict("the one who entered a change cannot approve or reject it", code=PayoutCode.MAKER_CHECKER)
        status = "approved" if approve else "rejected"
        await PayeeChange.filter(id=change_id, status="pending").using_db(conn).update(
            status=status, decided_by=actor_id, decided_at=clock.now(), note=(note or row.note)[:200])
        if approve:
            details = {k: getattr(row, k) for k in DETAILS}
            n = await Payee.filter(account_type=row.account_type, account_id=row.account_id).using_db(conn).update(
                **details, change_id=row.id, updated_at=clock.now())
            if not n:
                await Payee.create(account_type=row.account_type, account_id=row.account_id, **details,
                                   change_id=row.id, using_db=conn)
        await audit.record(actor_id, f"payee.{'approve' if approve else 'reject'}", f"payee_{row.account_type}",
                           row.account_id, {"change_id": row.id, "requested_by": row.requested_by, "note": note},
                           conn=conn)
        row = await PayeeChange.get(id=change_id, using_db=conn)
    return change_out(row)


async def get_change(change_id: int) -> PayeeChangeOut:
    """One change in full (for the office user who checks it against the paperwork)."""
    row = await PayeeChange.filter(id=change_id).first()
    if row is None:
        raise NotFound("payee change not found")
    return change_out(row, full=True)


async def list_changes(query: ChangesQuery) -> Page[PayeeChangeOut]:
    """Changes (default: pending), newest first, masked."""
    qs = PayeeChange.all() if query.status is None else PayeeChange.filter(status=query.status)
    rows, nxt = await id_page(qs, query.cursor, query.limit, newest_first=True)
    return Page[PayeeChangeOut](items=[change_out(r) for r in rows], next_cursor=nxt)


async def list_payees(method: str | None = None, limit: int = 500) -> list[PayeeOut]:
    """Payee details in force, masked."""
    qs = Payee.all() if method is None else Payee.filter(method=method)
    return [payee_out(r) for r in await qs.order_by("account_type", "account_id").limit(limit)]


async def payee_page(cursor: str | None, limit: int = 50) -> Page[PayeeOut]:
    """Payee details in force, masked: one keyset page (in the order they were first entered)."""
    rows, nxt = await id_page(Payee.all(), cursor, limit)
    return Page[PayeeOut](items=[payee_out(r) for r in rows], next_cursor=nxt)


async def payee_of(account_type: str, account_id: int) -> PayeeOut | None:
    row = await Payee.filter(account_type=account_type, account_id=account_id).first()
    return payee_out(row) if row else None


async def my_changes(principal: Principal) -> list[PayeeChangeOut]:
    """The principal's payees' changes, newest first, masked."""
    accounts = accounts_of(principal)
    if not accounts:
        return []
    cond = Q(id=-1)
    for t, i in accounts:
        cond |= Q(account_type=t, account_id=i)
    return [change_out(r) for r in await PayeeChange.filter(cond).order_by("-id").limit(50)]
