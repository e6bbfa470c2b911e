"""Error codes of stations, pickups, imports:
the strings clients see in error.code (the catalogue: /docs/error-codes)."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class StationCode(DeclaredCode):
    ALREADY_PICKED_UP = "already_picked_up", 409
    IMPORT_EXPIRED = "import_expired", 410
    IMPORT_FILE_INVALID = "import_file_invalid", 422
    ORDER_NOT_READY = "order_not_ready", 409
    ORDER_NOT_RECEIVABLE = "order_not_receivable", 409
    PARCEL_TRACKED = "parcel_tracked", 409
    PICKUP_ATTEMPTS_EXCEEDED = "pickup_attempts_exceeded", 429
    PICKUP_CODE_EXHAUSTED = "pickup_code_exhausted", 409
    PICKUP_CODE_WRONG = "pickup_code_wrong", 404
    PICKUP_NOT_FOUND = "pickup_not_found", 404
    PICKUP_NOT_READY = "pickup_not_ready", 409
    QR_EXPIRED = "qr_expired", 400
    QR_INVALID = "qr_invalid", 400
    RECEIVE_CONFLICT = "receive_conflict", 409
    STATION_CODE_TAKEN = "station_code_taken", 409
    STATION_LOCKED = "station_locked", 423
    VILLAGER_CONFLICT = "villager_conflict", 409
    VILLAGER_NOT_BOUND = "villager_not_bound", 409
