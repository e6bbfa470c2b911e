"""What the warehouse flow (service.py) and the scans (scans.py) share: a parcel as the API shows it,
its label's payload, and moving the order along. Its own module so that service imports scans and
scans does not import service (no import circle)."""
from __future__ import annotations

import logging
from typing import Any

from server.fulfillment.schemas import ParcelOut
from server.kit.errors import AppError
from server.models.fulfillment import Parcel
from server.orders import service as orders_service

log = logging.getLogger("kazuo.fulfillment")


async def transition_order(order_id: int, expected: str, new: str, *, conn: Any,
                           actor_id: int | None = None) -> bool:
    """Move the order through the orders capability; False when it is not in `expected` any more."""
    try:
        await orders_service.transition(order_id, expected, new, conn=conn, actor_id=actor_id)
        return True
    except AppError as exc:
        if exc.status in (404, 409):
            log.info("order %s not moved %s -> %s: %s", order_id, expected, new, exc.code)
            return False
        raise


def label_payload(label: str) -> str:
    """What the label's QR code and Code 128 barcode carry."""
    return f"KZP:{label}"


def parcel_out(p: Parcel) -> ParcelOut:
    return ParcelOut(id=p.id, label=p.label, task_id=p.task_id, order_id=p.order_id, status=p.status,
                     direction=p.direction, route=list(p.route or []), position=p.position, moving=p.moving,
                     weight_g=p.weight_g, cold_chain=p.cold_chain, qr_payload=label_payload(p.label),
                     courier_company=p.courier_company, tracking_no=p.tracking_no, packed_at=p.packed_at,
                     dispatched_at=p.dispatched_at)
