"""Assisted buying and selling at the station counter (代购 / 代卖).

代购: staff find or create a villager's light account by phone, bind it to the station (SMS code or
confirmed in person), order for them with the station as pickup point, and take payment either as a
WeChat Pay NATIVE code on the staff's phone or in cash (the ledger then carries the cash the station
owes the platform). 代卖: the household merchants a station operates, and their sales."""
from __future__ import annotations

from datetime import timedelta

from tortoise.exceptions import IntegrityError
from tortoise.functions import Count, Sum

from server.kit import audit, clock
from server.kit.auth import Principal
from server.kit.db import atomic, id_page
from server.kit.errors import AppError, Conflict, NotFound
from server.kit.schemas import Page
from server.models.accounts import User
from server.models.catalog import Product
from server.models.merchants import Merchant
from server.models.orders import Order, OrderLine, OrderStatus
from server.models.stations import StationVillager
from server.stations.schemas import (AssistedOrderIn, AssistedOrderQuery, OperatedMerchantOut, ProductSalesOut,
                                     SalesOut, SalesQuery, VillagerBindIn, VillagerIn, VillagerOut)
from server.stations.errors import StationCode
from server.accounts import sms
from server.orders import service as orders_service
from server.orders.schemas import CheckoutIn
from server.payments import service as payments

SMS_PURPOSE = "station_bind"
# Orders that count as sold (paid, not cancelled); refunds are netted per line.
SOLD = (OrderStatus.PAID, OrderStatus.IN_FULFILMENT, OrderStatus.READY_FOR_PICKUP, OrderStatus.OUT_FOR_DELIVERY,
        OrderStatus.DELIVERED, OrderStatus.COMPLETED, OrderStatus.CLOSED)


def _villager_out(v: StationVillager, phone: str) -> VillagerOut:
    return VillagerOut(id=v.id, user_id=v.user_id, station_id=v.station_id, phone=phone, name=v.name,
                       bound_via=v.bound_via, bound_at=v.bound_at, created_at=v.created_at)


async def _villager(principal: Principal, station_id: int, villager_id: int) -> tuple[StationVillager, str]:
    principal.require_station(station_id)
    v = await StationVillager.get_or_none(id=villager_id, station_id=station_id)
    if v is None:
        raise NotFound("villager not found")
    phone = await User.filter(id=v.user_id).values_list("phone", flat=True)
    return v, (phone[0] or "") if phone else ""


async def add_villager(principal: Principal, station_id: int, body: VillagerIn) -> VillagerOut:
    """Find or create the villager's light account by phone and link it to this station."""
    principal.require_station(station_id)
    for _ in range(3):
        try:
            async with atomic() as conn:
                user = await User.filter(phone=body.phone).using_db(conn).first()
                if user is None:
                    user = await User.create(phone=body.phone, nickname=body.name, using_db=conn)
                v = await StationVillager.filter(station_id=station_id, user_id=user.id).using_db(conn).first()
                if v is None:
                    v = await StationVillager.create(station_id=station_id, user_id=user.id, name=body.name,
                                                     created_by_id=principal.user_id, using_db=conn)
                    await audit.record(principal.user_id, "villager.add", "station", station_id,
                                       {"villager_id": v.id, "user_id": user.id}, conn=conn)
            return _villager_out(v, body.phone)
        except IntegrityError:
            continue  # the same phone added at two counters at once: the retry finds it
    raise Conflict("the villager is being added right now; retry", code=StationCode.VILLAGER_CONFLICT)


async def list_villagers(principal: Principal, station_id: int, q: AssistedOrderQuery) -> Page[VillagerOut]:
    principal.require_station(station_id)
    qs = StationVillager.filter(station_id=station_id)
    rows, next_cursor = await id_page(qs, q.cursor, q.limit, newest_first=True)
    phones = dict(await User.filter(id__in=[r.user_id for r in rows]).values_list("id", "phone"))
    return Page[VillagerOut](items=[_villager_out(r, phones.get(r.user_id) or "") for r in rows],
                             next_cursor=next_cursor)


async def send_bind_code(principal: Principal, station_id: int, villager_id: int) -> int:
    """Text the villager a code to bind their account to the station; returns its lifetime."""
    _, phone = await _villager(principal, station_id, villager_id)
    return await sms.send_code(phone, SMS_PURPOSE)


async def bind_villager(principal: Principal, station_id: int, villager_id: int, body: VillagerBindIn) -> VillagerOut:
    """Bind by the SMS code the villager read out, or by the staff confirming them in person."""
    v, phone = await _villager(principal, station_id, villager_id)
    if body.code is not None:
        await sms.verify_code(phone, SMS_PURPOSE, body.code)
    via = "sms" if body.code is not None else "counter"
    async with atomic() as conn:
        await StationVillager.filter(id=v.id).using_db(conn).update(
            bound_via=via, bound_at=clock.now(), bound_by_id=principal.user_id)
        await audit.record(principal.user_id, "villager.bind", "station", station_id,
                           {"villager_id": v.id, "via": via}, conn=conn)
    v = await StationVillager.get(id=v.id)
    return _villager_out(v, phone)


async def create_assisted_order(principal: Principal, station_id: int, body: AssistedOrderIn,
                                idempotency_key: str | None):
    """Order for a bound villager, picked up at this station (代购)."""
    v, _ = await _villager(principal, station_id, body.villager_id)
    if v.bound_at is None:
        raise Conflict("bind the villager first (SMS code or confirm at the counter)",
                       code=StationCode.VILLAGER_NOT_BOUND)
    data = CheckoutIn(lines=[line.model_dump() for line in body.lines], fulfilment="pickup",
                      station_id=station_id, note=body.note)
    out = await orders_service.create_order(v.user_id, data, idempotency_key=idempotency_key,
                                            assisted_by=principal.user_id)
    await audit.record(principal.user_id, "assisted.order", "order", out.id,
                       {"station_id": station_id, "villager_id": v.id})
    return out


async def _assisted_order(principal: Principal, station_id: int, order_id: int) -> Order:
    principal.require_station(station_id)
    o = await Order.get_or_none(id=order_id, station_id=station_id, assisted_by_id__isnull=False)
    if o is None:
        raise NotFound("order not found")
    return o


async def list_assisted_orders(principal: Principal, station_id: int, q: AssistedOrderQuery):
    """Orders the station placed for villagers, newest first."""
    principal.require_station(station_id)
    qs = Order.filter(station_id=station_id, assisted_by_id__isnull=False)
    return await orders_service._page(qs, q.limit, q.cursor)


async def native_payment(principal: Principal, station_id: int, order_id: int, client_ip: str):
    """A WeChat Pay NATIVE code_url for the staff's phone; the villager scans and pays."""
    o = await _assisted_order(principal, station_id, order_id)
    return await payments.create_native_payment(o.id, actor_id=principal.user_id, client_ip=client_ip)


async def cash_payment(principal: Principal, station_id: int, order_id: int):
    """The villager paid cash at the counter; the station now owes it to the platform."""
    o = await _assisted_order(principal, station_id, order_id)
    try:
        return await payments.record_cash_payment(o.id, station_id=station_id, actor_id=principal.user_id)
    except AppError as exc:
        await audit.record(principal.user_id, "assisted.cash_refused", "order", o.id,
                           {"station_id": station_id, "error": exc.code})
        raise


# ---- 代卖 --------------------------------------------------------------------------------------
async def operated_merchants(principal: Principal, station_id: int) -> list[OperatedMerchantOut]:
    """The household merchants this station sells for."""
    principal.require_station(station_id)
    ms = await Merchant.filter(operated_by_station_id=station_id).order_by("id")
    counts = dict(await (Product.filter(merchant_id__in=[m.id for m in ms], status="on_sale")
                         .annotate(n=Count("id")).group_by("merchant_id").values_list("merchant_id", "n")))
    return [OperatedMerchantOut(id=m.id, name=m.name, kind=m.kind, status=m.status, contact_name=m.contact_name,
                                town=m.town, village=m.village, products_on_sale=int(counts.get(m.id, 0)))
            for m in ms]


async def assisted_sales(principal: Principal, station_id: int, q: SalesQuery) -> SalesOut:
    """What the station's operated merchants sold in the last q.days days, by product."""
    principal.require_station(station_id)
    mids = list(await Merchant.filter(operated_by_station_id=station_id).values_list("id", flat=True))
    if q.merchant_id is not None:
        if q.merchant_id not in mids:
            raise NotFound("merchant not found")
        mids = [q.merchant_id]
    since = clock.now() - timedelta(days=q.days)
    rows = await (OrderLine.filter(merchant_id__in=mids, order__status__in=SOLD, order__paid_at__gte=since)
                  .annotate(qty=Sum("quantity"), amount=Sum("amount"), refunded=Sum("refunded_fen"),
                            orders=Count("order_id", distinct=True))
                  .group_by("merchant_id", "product_id", "product_name")
                  .values("merchant_id", "product_id", "product_name", "qty", "amount", "refunded", "orders")) \
        if mids else []
    by_product = [ProductSalesOut(merchant_id=r["merchant_id"], product_id=r["product_id"],
                                  product_name=r["product_name"], quantity=int(r["qty"] or 0),
                                  amount_fen=int(r["amount"] or 0), refunded_fen=int(r["refunded"] or 0),
                                  orders=int(r["orders"] or 0)) for r in rows]
    by_product.sort(key=lambda x: (-x.amount_fen, x.product_id))
    amount = sum(x.amount_fen for x in by_product)
    refunded = sum(x.refunded_fen for x in by_product)
    return SalesOut(since=since, quantity=sum(x.quantity for x in by_product), amount_fen=amount,
                    refunded_fen=refunded, net_fen=amount - refunded, by_product=by_product)
