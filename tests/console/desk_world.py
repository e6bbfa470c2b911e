"""Builders for the warehouse and station desk tests: a town with two villages, a merchant whose
batches were received, a paid pickup order handed off to the warehouse, and the steps a parcel takes
before the village sees it (made through the services, as the API would)."""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from server.fulfillment import floor, scans
from server.fulfillment import service as fulfillment
from server.fulfillment.schemas import InboundLineIn, InboundNoteIn, ReceiveIn, ReceiveLineIn
from server.models.catalog import Sku
from server.models.fulfillment import FulfillmentTask, Parcel
from server.models.merchants import Merchant
from server.models.orders import Order
from server.models.trace import Batch, TraceCode
from tests.fulfillment import factories as f


@dataclass
class Desk:
    net: f.Network
    merchant: Merchant
    skus: list[Sku]
    batches: list[str]      # received batch per SKU
    stray: str              # a received batch of a SKU that is in no order
    item_code: str          # an item 溯源码 of the second SKU's batch
    order: Order
    task_id: int
    wave_key: str


async def receive(merchant_id: int, sku_id: int, qty: int, batch: str) -> None:
    note = await fulfillment.create_inbound(InboundNoteIn(merchant_id=merchant_id, lines=[
        InboundLineIn(sku_id=sku_id, quantity=qty, batch=batch)]), actor_id=None)
    await fulfillment.receive_inbound(note.id, ReceiveIn(lines=[ReceiveLineIn(line_id=note.lines[0].id, quantity=qty)]),
                                      actor_id=None)


async def desk(buyer_id: int, *, quantities: tuple[int, int] = (2, 2)) -> Desk:
    """A paid pickup order for the first village (quantities of two SKUs), handed off; batches in."""
    net = await f.network()
    m, skus = await f.merchant_with_skus(3)
    tag = secrets.token_hex(3).upper()
    batches = [f"BA{tag}", f"BB{tag}"]
    stray = f"BC{tag}"
    for sku, batch in zip(skus, batches + [stray]):
        await receive(m.id, sku.id, 20, batch)
    b = await Batch.create(merchant=m, product_id=skus[1].product_id, code=batches[1], sku_ids=[skus[1].id],
                           trace_code="TB" + secrets.token_hex(6).upper())
    item = "TI" + secrets.token_hex(6).upper()
    await TraceCode.create(code=item, batch=b, kind="item", serial=1)
    order = await f.paid_order(buyer_id, [(skus[0], quantities[0]), (skus[1], quantities[1])], station=net.village)
    task_id = await fulfillment.handoff(order.id)
    task = await FulfillmentTask.get(id=task_id)
    key = f"{task.mode}-{task.town_station_id or 0}-{int(task.cold_chain)}"
    assert any(floor.wave_key(w) == key for w in await fulfillment.waves())
    return Desk(net, m, skus, batches, stray, item, order, task_id, key)


async def pick_and_pack(d: Desk) -> Parcel:
    """Everything picked and packed into one parcel (through the services)."""
    for sku, batch, q in zip(d.skus, d.batches, (2, 2)):
        for _ in range(q):
            await floor.scan_pick([d.task_id], batch, secrets.token_hex(8), actor_id=None)
    [p] = await floor.pack_picked(d.task_id, 1500, actor_id=None)
    return await Parcel.get(id=p.id)


async def to_village(d: Desk, parcel: Parcel) -> None:
    """Dispatched from the county and through the town: on its way to the village."""
    await scans.record_scan(parcel.label, "dispatched", d.net.county.id, actor_id=None)
    await scans.record_scan(parcel.label, "arrived", d.net.town.id, actor_id=None)
    await scans.record_scan(parcel.label, "dispatched", d.net.town.id, actor_id=None)
