"""The batch of a first-mile collection (村级揽收, server/collection): a collection opens a new batch of
the producer's product, or adds to an open, unsold batch of the same producer and product the staff
chose (a sold batch is never changed). Runs inside the collection's transaction; the collection is
written into the batch's process (a step), so the public trace page shows where and when it was
collected."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from server.kit import clock
from server.kit.db import atomic, lock_rows
from server.kit.errors import Conflict, ValidationFailed
from server.models.trace import Batch, BatchStatus, BatchStep
from server.trace import codes
from server.trace.errors import TraceErrorCode
from server.trace.service import _new_trace_code, invalidate_after_commit, sold


@dataclass(frozen=True)
class CollectedBatch:
    """What a collection knows of its batch."""
    id: int
    code: str
    trace_code: str
    new: bool


@dataclass(frozen=True)
class Producer:
    """The producer's batch details (生产者批次信息) as the station recorded them."""
    merchant_id: int
    product_id: int
    sku_id: int
    kind: str            # household | merchant
    name: str
    town: str
    village: str
    plot: str
    harvested_on: date | None
    responsible_name: str
    responsible_phone: str


async def open_batch(conn: Any, p: Producer, quantity: int, step: str, photos: list[str], *,
                     actor: str, actor_id: int | None, batch_id: int | None = None) -> CollectedBatch:
    """The collection's batch: the chosen open, unsold batch of the same producer and product (locked
    for the change), else a new one with its trace code; the collection becomes one of its steps."""
    now = clock.now()
    if batch_id is not None:
        rows = await lock_rows(Batch, [batch_id], conn)
        b = rows[0] if rows else None
        if b is None or b.merchant_id != p.merchant_id or b.product_id != p.product_id:
            raise ValidationFailed.field("batch_id", "not a batch of this producer and product")
        if b.sku_ids and p.sku_id not in [int(i) for i in b.sku_ids]:
            raise ValidationFailed.field("batch_id", "the batch does not cover this SKU")
        if b.status != BatchStatus.OPEN or b.locked_at is not None or await sold(b, conn):
            raise Conflict("goods from this batch were sold (or it was recalled): it is never changed; "
                           "open a new batch", code=TraceErrorCode.BATCH_LOCKED,
                           details=[{"field": "batch_id", "message": "sold or recalled"}])
        await Batch.filter(id=b.id).using_db(conn).update(quantity=F("quantity") + quantity
                                                          if b.quantity is not None else quantity)
        new = False
    else:
        code = "SJ" + now.astimezone(clock.SHANGHAI).strftime("%y%m%d") + "-" + codes.new_code()[:6]
        try:
            async with atomic() as inner:  # a savepoint: a number collision is a clear refusal
                b = await Batch.create(
                    merchant_id=p.merchant_id, product_id=p.product_id, code=code, sku_ids=[p.sku_id],
                    producer_kind=p.kind, producer_name=p.name, origin_town=p.town, origin_village=p.village,
                    origin_plot=p.plot, produced_on=p.harvested_on, quantity=quantity,
                    responsible_name=p.responsible_name, responsible_phone=p.responsible_phone,
                    note="村级揽收", trace_code="pending-" + codes.new_code()[:8], created_by_id=actor_id,
                    using_db=inner)
        except IntegrityError:
            raise Conflict("could not number the batch; try again", code=TraceErrorCode.CODE_BUSY) from None
        b.trace_code = await _new_trace_code(b.id, conn)
        await Batch.filter(id=b.id).using_db(conn).update(trace_code=b.trace_code)
        new = True
    await BatchStep.create(batch_id=b.id, at=now, actor=actor[:32], description=step[:500], photos=list(photos),
                           using_db=conn)
    invalidate_after_commit(b.id)
    return CollectedBatch(id=b.id, code=b.code, trace_code=b.trace_code, new=new)


async def add_received_step(conn: Any, batch_id: int, step: str, actor: str) -> None:
    """The county warehouse received a collection: a step of the batch while it is open (a sold batch
    is never changed: its collection step already says where the goods came from)."""
    b = await Batch.filter(id=batch_id).using_db(conn).first()
    if b is None or b.status != BatchStatus.OPEN or b.locked_at is not None or await sold(b, conn):
        return
    await BatchStep.create(batch_id=b.id, at=clock.now(), actor=actor[:32], description=step[:500], using_db=conn)
    invalidate_after_commit(b.id)
