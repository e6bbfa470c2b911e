"""Error codes of first-mile collection (the strings clients see in error.code; the catalogue:
/docs/error-codes). Impossible hops answer fulfilment's impossible_scan, the same rule as parcels."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class CollectionCode(DeclaredCode):
    COLLECTION_NOT_FOUND = "collection_not_found", 404
    COLLECTION_NOT_ARRIVED = "collection_not_arrived", 409
    COLLECTION_ALREADY_RECEIVED = "collection_already_received", 409
    NOT_A_COLLECTING_STATION = "not_a_collecting_station", 409
    PRODUCER_NOT_OPERATED = "producer_not_operated", 404
