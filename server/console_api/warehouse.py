"""County warehouse console (县仓): inbound notes, stock, task waves, pick, pack, dispatch, courier
handover; the county office's delivery-promise view; the WMS's signed status endpoint."""
from sanic import Blueprint, HTTPResponse, Request

from server.fulfillment import scans, shipping, sla, wms
from server.fulfillment import service as fulfillment
from server.fulfillment.schemas import (BreachOut, BreachQuery, CourierIn, InboundNoteIn, InboundNoteOut, PackIn,
                                        ParcelOut, PickIn, ReceiveIn, ScanResultOut, ShippingResolveIn,
                                        ShippingResolveOut, ShippingUploadOut, ShippingUploadQuery, SlaOut, SlaQuery,
                                        StockOut, StockQuery, TaskOut, TaskQuery, TimelineOut, WaveOut, WmsResultOut)
from server.inventory import service as inventory
from server.inventory.schemas import StockMovesPage, StockMovesQuery
from server.kit.auth import Role
from server.kit.http import endpoint
from server.kit.schemas import Page

bp = Blueprint("console_warehouse", url_prefix="/api/v1/console/warehouse")
WAREHOUSE = (Role.warehouse,)
OFFICE = (Role.admin, Role.warehouse)
TAGS = ("console: warehouse",)


@bp.post("/inbound-notes")
@endpoint(summary="Announce a merchant's delivery (入库单)", roles=WAREHOUSE, body=InboundNoteIn,
          response=InboundNoteOut, status=201, tags=TAGS)
async def create_inbound(request: Request, principal, body: InboundNoteIn):
    return await fulfillment.create_inbound(body, actor_id=principal.user_id)


@bp.get("/inbound-notes/<note_id:int>")
@endpoint(summary="An inbound note", roles=WAREHOUSE, response=InboundNoteOut, tags=TAGS, errors=(404,))
async def get_inbound(request: Request, principal, note_id: int):
    return await fulfillment.inbound_note(note_id)


@bp.post("/inbound-notes/<note_id:int>/receive")
@endpoint(summary="Receive the goods: received quantities become sellable stock", roles=WAREHOUSE,
          body=ReceiveIn, response=InboundNoteOut, tags=TAGS, errors=(404, 409))
async def receive_inbound(request: Request, principal, note_id: int, body: ReceiveIn):
    return await fulfillment.receive_inbound(note_id, body, actor_id=principal.user_id)


@bp.get("/stock")
@endpoint(summary="Stock on hand, reserved and sellable per SKU", roles=OFFICE, query=StockQuery,
          response=list[StockOut], tags=TAGS)
async def stock(request: Request, principal, query: StockQuery):
    return [s.model_dump(mode="json") for s in await fulfillment.stock(query.sku_id, query.merchant_id)]


@bp.get("/stock/<sku_id:int>/moves")
@endpoint(summary="The stock journal (库存流水) of any SKU: every change, why and what caused it, newest first",
          roles=OFFICE, query=StockMovesQuery, response=StockMovesPage, tags=TAGS, errors=(404, 422))
async def stock_moves(request: Request, principal, sku_id: int, query: StockMovesQuery):
    return await inventory.sku_journal(sku_id, query.cursor, query.limit)


@bp.get("/waves")
@endpoint(summary="Open tasks grouped into waves by destination town, route and cold chain",
          roles=WAREHOUSE, response=list[WaveOut], tags=TAGS)
async def waves(request: Request, principal):
    return [w.model_dump(mode="json") for w in await fulfillment.waves()]


@bp.get("/tasks")
@endpoint(summary="Fulfilment tasks", roles=WAREHOUSE, query=TaskQuery, response=Page[TaskOut], tags=TAGS)
async def list_tasks(request: Request, principal, query: TaskQuery):
    return await fulfillment.list_tasks(query)


@bp.get("/tasks/<task_id:int>")
@endpoint(summary="A task with its lines and parcels", roles=WAREHOUSE, response=TaskOut, tags=TAGS,
          errors=(404,))
async def get_task(request: Request, principal, task_id: int):
    return await fulfillment.get_task(task_id)


@bp.post("/tasks/<task_id:int>/pick")
@endpoint(summary="Pick scan: SKU, batch and quantity", roles=WAREHOUSE, body=PickIn, response=TaskOut,
          tags=TAGS, errors=(404, 409))
async def pick(request: Request, principal, task_id: int, body: PickIn):
    return await fulfillment.pick(task_id, body.sku_id, body.batch, body.quantity, actor_id=principal.user_id)


@bp.post("/tasks/<task_id:int>/parcels")
@endpoint(summary="Pack picked units into a labelled parcel", roles=WAREHOUSE, body=PackIn,
          response=ParcelOut, status=201, tags=TAGS, errors=(404, 409))
async def pack(request: Request, principal, task_id: int, body: PackIn):
    return await fulfillment.pack(task_id, body, actor_id=principal.user_id)


@bp.get("/parcels/<parcel_id:int>")
@endpoint(summary="A parcel", roles=WAREHOUSE, response=ParcelOut, tags=TAGS, errors=(404,))
async def get_parcel(request: Request, principal, parcel_id: int):
    return await fulfillment.get_parcel(parcel_id)


@bp.get("/parcels/<parcel_id:int>/label.png")
@endpoint(summary="The parcel label's QR code", roles=WAREHOUSE, tags=TAGS, errors=(404,),
          response_content={"image/png": {"schema": {"type": "string", "format": "binary"}}})
async def label_png(request: Request, principal, parcel_id: int):
    return HTTPResponse(await fulfillment.label_png(parcel_id), content_type="image/png")


@bp.post("/parcels/<parcel_id:int>/dispatch")
@endpoint(summary="Dispatch a packed parcel from the county warehouse onto its route", roles=WAREHOUSE,
          response=ScanResultOut, tags=TAGS, errors=(404, 409))
async def dispatch(request: Request, principal, parcel_id: int):
    return await scans.dispatch(principal, parcel_id)


@bp.post("/parcels/<parcel_id:int>/courier")
@endpoint(summary="Hand a parcel to a third-party courier (buyers outside the county)", roles=WAREHOUSE,
          body=CourierIn, response=ScanResultOut, tags=TAGS, errors=(404, 409))
async def courier(request: Request, principal, parcel_id: int, body: CourierIn):
    return await scans.ship_by_courier(parcel_id, body.company, body.tracking_no, actor_id=principal.user_id)


@bp.get("/sla")
@endpoint(summary="On-time rate of delivery promises by route leg and by town", roles=OFFICE, query=SlaQuery,
          response=SlaOut, tags=TAGS)
async def sla_stats(request: Request, principal, query: SlaQuery):
    return await sla.stats(query.since, query.until)


@bp.get("/sla/breaches")
@endpoint(summary="Delivery promises broken, newest first", roles=OFFICE, query=BreachQuery,
          response=Page[BreachOut], tags=TAGS)
async def breaches(request: Request, principal, query: BreachQuery):
    return await sla.breaches(query)


@bp.get("/shipping-uploads")
@endpoint(summary="WeChat shipping uploads (发货信息录入) by state; needs_person: refused for good, a person settles",
          roles=OFFICE, query=ShippingUploadQuery, response=Page[ShippingUploadOut], tags=TAGS)
async def shipping_uploads(request: Request, principal, query: ShippingUploadQuery):
    return await shipping.list_uploads(query.state, query.cursor, query.limit)


@bp.post("/shipping-uploads/<task_id:int>/resolve")
@endpoint(summary="Settle an upload that needs a person: done (entered by hand in the WeChat admin) or retry",
          roles=OFFICE, body=ShippingResolveIn, response=ShippingResolveOut, tags=TAGS, errors=(404, 409))
async def resolve_shipping_upload(request: Request, principal, task_id: int, body: ShippingResolveIn):
    return await shipping.resolve(task_id, body.action, body.note, actor_id=principal.user_id)


@bp.get("/parcels/by-label/<label:str>/timeline")
@endpoint(summary="A parcel's full transfer record", roles=OFFICE, response=TimelineOut, tags=TAGS,
          errors=(404,))
async def timeline(request: Request, principal, label: str):
    return await scans.timeline(principal, label)


@bp.post("/wms/events")
@endpoint(summary="WMS status event (signed: X-Kazuo-Timestamp, X-Kazuo-Signature, X-Kazuo-Event-Id)",
          body=None, response=WmsResultOut, tags=TAGS, errors=(401, 409),
          request_content={"application/json": {"schema": {
              "type": "object", "required": ["event_id", "type"],
              "properties": {"event_id": {"type": "string"}, "type": {
                  "type": "string", "enum": ["task.picked", "parcel.packed", "parcel.dispatched"]}}}}},
          description="HMAC-SHA256 over `timestamp + '.' + body` with the shared secret; an old "
                      "timestamp or a seen event id is refused.")
async def wms_event(request: Request):
    return await wms.handle_inbound(request.headers, request.body or b"")

