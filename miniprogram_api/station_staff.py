"""Station staff (服务站工作人员): workspace, receiving parcels, verifying pickups (核销), buying for
villagers (代购) and selling for the household merchants the station operates (代卖)."""
from sanic import Blueprint, Request

from server.accounts.schemas import SmsSentOut
from server.kit.auth import Role
from server.kit.errors import ValidationFailed
from server.kit.http import endpoint
from server.kit.schemas import Page
from server.orders.schemas import OrderOut, OrderPage
from server.payments.service import NativeOut, PaymentOut
from server.stations import assisted
from server.stations import service as stations
from server.stations import staff
from server.stations.schemas import (AssistedOrderIn, AssistedOrderQuery, OperatedMerchantOut, PickupListQuery,
                                     PickupOut, ReceiveIn, SalesOut, SalesQuery, StaffOut, VerifyIn, VerifyOut,
                                     VillagerBindIn, VillagerIn, VillagerOut, WorkspaceOut)

bp = Blueprint("mp_station_staff", url_prefix="/api/v1/station/<station_id:int>")
STAFF = (Role.station_staff,)
TAGS = ("station staff",)


@bp.get("/workspace")
@endpoint(summary="Today at my station: arrivals, ready and overdue pickups, verifications, cash, fees",
          roles=STAFF, response=WorkspaceOut, tags=TAGS)
async def workspace(request: Request, principal, station_id: int):
    return await stations.workspace(principal, station_id)


@bp.post("/receive")
@endpoint(summary="Scan a pickup order's parcel in (到站): code issued, buyer notified; idempotent",
          roles=STAFF, body=ReceiveIn, response=PickupOut, tags=TAGS, errors=(409,))
async def receive(request: Request, principal, station_id: int, body: ReceiveIn):
    return await stations.receive_by_order_no(principal, station_id, body.order_no)


@bp.post("/verify")
@endpoint(summary="Verify a pickup by code or QR (核销): picked up once; wrong codes are limited",
          roles=STAFF, body=VerifyIn, response=VerifyOut, tags=TAGS, errors=(400, 409, 423, 429))
async def verify(request: Request, principal, station_id: int, body: VerifyIn):
    return await stations.verify(principal, station_id, body)


@bp.get("/pickups")
@endpoint(summary="My station's pickups by state (ready, overdue, picked_up, returned, arrived_today)",
          roles=STAFF, query=PickupListQuery, response=Page[PickupOut], tags=TAGS)
async def pickups(request: Request, principal, station_id: int, query: PickupListQuery):
    return await stations.list_pickups(principal, station_id, query)


@bp.get("/pickups/<pickup_id:int>")
@endpoint(summary="One pickup at my station", roles=STAFF, response=PickupOut, tags=TAGS)
async def pickup(request: Request, principal, station_id: int, pickup_id: int):
    return await stations.get_pickup(principal, station_id, pickup_id)


# ---- 代购: villagers, orders on their behalf, NATIVE or cash payment -----------------------------
def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and not (1 <= len(key) <= 64 and key.isprintable()):
        raise ValidationFailed.field("Idempotency-Key", "1-64 printable characters")
    return key


@bp.post("/villagers")
@endpoint(summary="Find or create a villager's light account by phone and link it to my station (代购)",
          roles=STAFF, body=VillagerIn, response=VillagerOut, tags=TAGS, errors=(409,))
async def add_villager(request: Request, principal, station_id: int, body: VillagerIn):
    return await assisted.add_villager(principal, station_id, body)


@bp.get("/villagers")
@endpoint(summary="Villagers linked to my station", roles=STAFF, query=AssistedOrderQuery,
          response=Page[VillagerOut], tags=TAGS)
async def villagers(request: Request, principal, station_id: int, query: AssistedOrderQuery):
    return await assisted.list_villagers(principal, station_id, query)


@bp.post("/villagers/<villager_id:int>/sms-code")
@endpoint(summary="Text the villager a binding code", roles=STAFF, response=SmsSentOut, tags=TAGS,
          errors=(429, 502))
async def villager_code(request: Request, principal, station_id: int, villager_id: int):
    ttl = await assisted.send_bind_code(principal, station_id, villager_id)
    return SmsSentOut(sent=True, expires_in=ttl)


@bp.post("/villagers/<villager_id:int>/bind")
@endpoint(summary="Bind the villager by SMS code or confirm them at the counter", roles=STAFF,
          body=VillagerBindIn, response=VillagerOut, tags=TAGS)
async def villager_bind(request: Request, principal, station_id: int, villager_id: int, body: VillagerBindIn):
    return await assisted.bind_villager(principal, station_id, villager_id, body)


@bp.post("/assisted-orders")
@endpoint(summary="Order for a bound villager, picked up here (send an Idempotency-Key header)", roles=STAFF,
          body=AssistedOrderIn, response=OrderOut, status=201, tags=TAGS, errors=(409, 429))
async def assisted_order(request: Request, principal, station_id: int, body: AssistedOrderIn):
    return await assisted.create_assisted_order(principal, station_id, body, _idempotency_key(request))


@bp.get("/assisted-orders")
@endpoint(summary="Orders my station placed for villagers", roles=STAFF, query=AssistedOrderQuery,
          response=OrderPage, tags=TAGS)
async def assisted_orders(request: Request, principal, station_id: int, query: AssistedOrderQuery):
    return await assisted.list_assisted_orders(principal, station_id, query)


@bp.post("/assisted-orders/<order_id:int>/native-payment")
@endpoint(summary="WeChat Pay NATIVE code for the villager to scan on my phone", roles=STAFF,
          response=NativeOut, tags=TAGS, errors=(409, 502))
async def native_payment(request: Request, principal, station_id: int, order_id: int):
    return await assisted.native_payment(principal, station_id, order_id, request.remote_addr or request.ip)


@bp.post("/assisted-orders/<order_id:int>/cash-payment")
@endpoint(summary="Record cash paid at the counter (the station owes it to the platform)", roles=STAFF,
          response=PaymentOut, tags=TAGS, errors=(409,))
async def cash_payment(request: Request, principal, station_id: int, order_id: int):
    return await assisted.cash_payment(principal, station_id, order_id)


# ---- 代卖: the household merchants my station operates --------------------------------------
@bp.get("/operated-merchants")
@endpoint(summary="Household merchants my station sells for (manage their goods via /merchant)", roles=STAFF,
          response=list[OperatedMerchantOut], tags=TAGS)
async def operated_merchants(request: Request, principal, station_id: int):
    return [m.model_dump(mode="json") for m in await assisted.operated_merchants(principal, station_id)]


@bp.get("/operated-sales")
@endpoint(summary="Sales of the merchants my station operates, by product", roles=STAFF, query=SalesQuery,
          response=SalesOut, tags=TAGS)
async def operated_sales(request: Request, principal, station_id: int, query: SalesQuery):
    return await assisted.assisted_sales(principal, station_id, query)


@bp.get("/staff")
@endpoint(summary="My station's staff, the head (站长) first", roles=STAFF, response=list[StaffOut], tags=TAGS)
async def my_staff(request: Request, principal, station_id: int):
    return [s.model_dump(mode="json") for s in await staff.my_station_staff(principal, station_id)]
