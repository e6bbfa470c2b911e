"""Error codes of picking, packing, scans, shipping:
the strings clients see in error.code (the catalogue: /docs/error-codes)."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class FulfillmentCode(DeclaredCode):
    ALREADY_DISPATCHED = "already_dispatched", 409
    ALREADY_RECEIVED = "already_received", 409
    ALREADY_SHIPPED = "already_shipped", 409
    BATCH_NOT_ON_NOTE = "batch_not_on_note", 409
    IMPOSSIBLE_SCAN = "impossible_scan", 409
    INBOUND_OVER_COUNT = "inbound_over_count", 409
    ITEM_ALREADY_PICKED = "item_already_picked", 409
    MIXED_COLD_CHAIN = "mixed_cold_chain", 409
    NOTHING_TO_PACK = "nothing_to_pack", 409
    NOT_PICKED = "not_picked", 409
    NO_COUNTY_STATION = "no_county_station", 409
    NO_PICKUP_STATION = "no_pickup_station", 409
    OVER_PICK = "over_pick", 409
    PARCEL_NOT_FOUND = "parcel_not_found", 404
    PICK_CONFLICT = "pick_conflict", 409
    REPLAYED = "replayed", 409
    ROUTE_EMPTY = "route_empty", 404
    SCAN_BUSY = "scan_busy", 409
    SCAN_UNKNOWN = "scan_unknown", 404
    SHIPPING_NOT_WAITING = "shipping_not_waiting", 409
    TASK_NOT_PACKABLE = "task_not_packable", 409
    TASK_NOT_PICKABLE = "task_not_pickable", 409
    UNPICK_DONE = "unpick_done", 409
    UNPACK_PENDING = "unpack_pending", 409
    WAVE_NOT_FOUND = "wave_not_found", 404
    WRONG_SKU = "wrong_sku", 409
