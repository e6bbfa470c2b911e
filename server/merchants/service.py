"""Merchant onboarding (入驻): an applicant with an SMS-verified contact phone applies; the county
office approves (the applicant becomes a member) or rejects with a reason; a station can operate a
household merchant for villagers without a smartphone (代卖)."""
from __future__ import annotations

from tortoise.expressions import Q

from server.accounts import service as accounts
from server.accounts import sms
from server.catalog import cache
from server.kit import audit, clock
from server.kit.auth import Principal, Role
from server.kit.db import atomic, id_page, on_commit
from server.kit.errors import Conflict, KitCode, NotFound, ValidationFailed
from server.kit.schemas import Page
from server.merchants.schemas import ApplicationIn, MerchantOut
from server.models.catalog import Product
from server.models.merchants import Merchant
from server.models.stations import Station
from server.merchants.errors import MerchantCode

SMS_PURPOSE = "merchant_application"
MAX_OPEN_APPLICATIONS = 3


async def send_application_code(phone: str) -> int:
    """Send the SMS code that proves the applicant controls the contact phone."""
    return await sms.send_code(phone, SMS_PURPOSE)


async def apply(principal: Principal, body: ApplicationIn) -> MerchantOut:
    """Submit an application; it waits in the county's review queue."""
    if body.station_id is not None:
        # 代卖 for a villager: only staff of that station, and only households.
        if body.station_id not in principal.station_ids:
            raise NotFound("station not found")
        if body.kind != "household":
            raise ValidationFailed.field("kind", "a station operates household merchants only")
    if await Merchant.filter(applicant_id=principal.user_id, status="pending").count() >= MAX_OPEN_APPLICATIONS:
        raise Conflict("too many applications waiting for review", code=MerchantCode.TOO_MANY_APPLICATIONS)
    if await Merchant.filter(licence_no=body.licence_no, status__in=["pending", "active", "suspended"]).exists():
        raise ValidationFailed.field("licence_no", "a merchant with this licence or ID number already exists")
    try:
        await sms.verify_code(body.contact_phone, SMS_PURPOSE, body.sms_code)
    except ValidationFailed as exc:
        exc.details = [{"field": "sms_code", "message": d["message"]} for d in (exc.details or [])]
        exc.message = exc.message.replace("code:", "sms_code:", 1)
        raise
    async with atomic() as conn:
        if body.station_id is not None and not await Station.filter(id=body.station_id).using_db(conn).exists():
            raise NotFound("station not found")
        m = await Merchant.create(
            name=body.name, kind=body.kind, status="pending", contact_name=body.contact_name,
            contact_phone=body.contact_phone, licence_no=body.licence_no, town=body.town,
            village=body.village, is_poor_household=body.is_poor_household, description=body.description,
            operated_by_station_id=body.station_id, applicant_id=principal.user_id, using_db=conn)
        await audit.record(principal.user_id, "merchant.apply", "merchant", m.id,
                           {"name": body.name, "kind": body.kind, "station_id": body.station_id}, conn=conn)
    return MerchantOut.model_validate(m)


async def my_applications(principal: Principal) -> list[MerchantOut]:
    """The caller's applications with their outcome (and reason when rejected)."""
    rows = await Merchant.filter(applicant_id=principal.user_id).order_by("-id").limit(50)
    return [MerchantOut.model_validate(m) for m in rows]


async def my_merchants(principal: Principal) -> list[MerchantOut]:
    """Merchants the caller manages: as a member, or as staff of the operating station."""
    cond = Q(id__in=list(principal.merchant_ids) or [0])
    if principal.station_ids:
        cond |= Q(operated_by_station_id__in=list(principal.station_ids))
    rows = await Merchant.filter(cond).order_by("id").limit(200)
    return [MerchantOut.model_validate(m) for m in rows]


async def queue(status: str, cursor: str | None, limit: int, *, q: str | None = None, kind: str | None = None,
                town: str | None = None) -> Page[MerchantOut]:
    """Merchants in a state, oldest first (the review queue when pending); q matches the name or
    contact name (part), the contact phone or the licence number."""
    qs = Merchant.filter(status=status)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(contact_name__icontains=q) | Q(contact_phone__startswith=q)
                       | Q(licence_no=q))
    if kind:
        qs = qs.filter(kind=kind)
    if town:
        qs = qs.filter(town=town)
    rows, next_cursor = await id_page(qs, cursor, limit)
    return Page(items=[MerchantOut.model_validate(m) for m in rows], next_cursor=next_cursor)


async def count_in_state(status: str) -> int:
    """How many merchants are in a state (pending: the office's application queue)."""
    return await Merchant.filter(status=status).count()


async def detail(merchant_id: int) -> MerchantOut:
    m = await Merchant.get_or_none(id=merchant_id)
    if m is None:
        raise NotFound("merchant not found")
    return MerchantOut.model_validate(m)


async def approve(admin_id: int, merchant_id: int) -> MerchantOut:
    """Approve a pending application; the applicant becomes a member (unless a station operates it)."""
    async with atomic() as conn:
        m = await Merchant.filter(id=merchant_id).using_db(conn).select_for_update().first()
        if m is None:
            raise NotFound("merchant not found")
        n = await Merchant.filter(id=m.id, status="pending").using_db(conn).update(
            status="active", reviewed_by_id=admin_id, reviewed_at=clock.now(), reject_reason="")
        if n != 1:
            raise Conflict(f"the merchant is {m.status}, not pending", code=KitCode.INVALID_TRANSITION)
        await audit.record(admin_id, "merchant.approve", "merchant", m.id, conn=conn)
    if m.applicant_id and not m.operated_by_station_id:
        await accounts.grant_role(m.applicant_id, Role.merchant, merchant_id=m.id, granted_by=admin_id)
    return await detail(merchant_id)


async def reject(admin_id: int, merchant_id: int, reason: str) -> MerchantOut:
    """Reject a pending application with a reason the applicant sees."""
    async with atomic() as conn:
        m = await Merchant.filter(id=merchant_id).using_db(conn).select_for_update().first()
        if m is None:
            raise NotFound("merchant not found")
        n = await Merchant.filter(id=m.id, status="pending").using_db(conn).update(
            status="rejected", reviewed_by_id=admin_id, reviewed_at=clock.now(), reject_reason=reason)
        if n != 1:
            raise Conflict(f"the merchant is {m.status}, not pending", code=KitCode.INVALID_TRANSITION)
        await audit.record(admin_id, "merchant.reject", "merchant", m.id, {"reason": reason}, conn=conn)
    return await detail(merchant_id)


async def _set_products_visible(merchant_id: int, active: bool, conn) -> list[int]:
    ids = await Product.filter(merchant_id=merchant_id, status="on_sale").using_db(conn).values_list("id", flat=True)
    await Product.filter(merchant_id=merchant_id, status="on_sale").using_db(conn).update(visible=active)
    return list(ids)


def _invalidate(ids: list[int]) -> None:
    on_commit(lambda: cache.invalidate_products(ids))


async def suspend(admin_id: int, merchant_id: int, reason: str) -> MerchantOut:
    """Suspend an active merchant: all its products leave the storefront at once."""
    async with atomic() as conn:
        m = await Merchant.filter(id=merchant_id).using_db(conn).select_for_update().first()
        if m is None:
            raise NotFound("merchant not found")
        n = await Merchant.filter(id=m.id, status="active").using_db(conn).update(
            status="suspended", reject_reason=reason)
        if n != 1:
            raise Conflict(f"the merchant is {m.status}, not active", code=KitCode.INVALID_TRANSITION)
        _invalidate(await _set_products_visible(m.id, False, conn))
        await audit.record(admin_id, "merchant.suspend", "merchant", m.id, {"reason": reason}, conn=conn)
    return await detail(merchant_id)


async def reinstate(admin_id: int, merchant_id: int) -> MerchantOut:
    """Lift a suspension: its on-sale products are visible again."""
    async with atomic() as conn:
        m = await Merchant.filter(id=merchant_id).using_db(conn).select_for_update().first()
        if m is None:
            raise NotFound("merchant not found")
        n = await Merchant.filter(id=m.id, status="suspended").using_db(conn).update(
            status="active", reject_reason="")
        if n != 1:
            raise Conflict(f"the merchant is {m.status}, not suspended", code=KitCode.INVALID_TRANSITION)
        _invalidate(await _set_products_visible(m.id, True, conn))
        await audit.record(admin_id, "merchant.reinstate", "merchant", m.id, conn=conn)
    return await detail(merchant_id)
