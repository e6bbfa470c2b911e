"""Fee terms (费率): a merchant's platform fee and a station's service fee, each a series of terms
with effective dates set by the office. The global settings (KAZUO_PLATFORM_FEE_BP,
KAZUO_STATION_FEE_BP) are only the default while no term is in force. An order line records the
terms in force when it was paid (record_on_lines, inside the payment-applied transaction); the
ledger's sale shares and every later reversal read the line, never the current terms."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from server.kit import audit, clock, runtime
from server.kit.db import atomic
from server.kit.errors import Conflict, NotFound, ValidationFailed
from server.models.merchants import Merchant
from server.models.orders import Order, OrderLine
from server.models.settlement import FeeTerm
from server.models.stations import Station
from server.settlement.schemas import FeeTermIn, FeeTermOut, FeeTermsOut
from server.settlement.errors import SettlementCode

PARTIES = {"merchant": Merchant, "station": Station}


def default_bp(party_type: str) -> int:
    s = runtime.settings()
    return s.platform_fee_bp if party_type == "merchant" else s.station_fee_bp


async def in_force(party_type: str, party_ids: list[int], at: datetime, conn: Any = None) -> dict[int, int]:
    """{party_id: fee_bp} in force at `at` (the latest term that started by then, else the default)."""
    out = {pid: default_bp(party_type) for pid in party_ids}
    rows = await (FeeTerm.filter(party_type=party_type, party_id__in=list(set(party_ids)), effective_from__lte=at)
                  .using_db(conn).order_by("effective_from", "id").values("party_id", "fee_bp"))
    for r in rows:  # ascending: the last one seen is the one in force
        out[r["party_id"]] = r["fee_bp"]
    return out


def station_fee_applies(order: Order) -> bool:
    """The station service fee is earned on orders picked up at a station."""
    return order.fulfilment == "pickup" and order.station_id is not None


async def record_on_lines(order: Order, lines: list[OrderLine], conn: Any) -> None:
    """Record on each line the fees in force now (the payment is being applied in conn's transaction)."""
    now = clock.now()
    platform = await in_force("merchant", [x.merchant_id for x in lines], now, conn)
    station = (await in_force("station", [order.station_id], now, conn))[order.station_id] \
        if station_fee_applies(order) else 0
    for line in lines:
        if line.platform_fee_bp is not None:  # recorded once: a second payment path changes nothing
            continue
        line.platform_fee_bp, line.station_fee_bp = platform[line.merchant_id], station
        await OrderLine.filter(id=line.id, platform_fee_bp=None).using_db(conn).update(
            platform_fee_bp=line.platform_fee_bp, station_fee_bp=station)


def line_rates(order: Order, line: OrderLine) -> tuple[int, int]:
    """(platform_bp, station_bp) of a line: what it recorded when paid; a line paid before terms were
    recorded falls back to the global settings."""
    s = runtime.settings()
    platform = line.platform_fee_bp if line.platform_fee_bp is not None else s.platform_fee_bp
    if line.station_fee_bp is not None:
        return platform, line.station_fee_bp
    return platform, s.station_fee_bp if station_fee_applies(order) else 0


async def set_term(body: FeeTermIn, *, actor_id: int) -> FeeTermOut:
    """Add a term from effective_from (now or later; history is never rewritten); audited."""
    now = clock.now()
    start = body.effective_from or now
    # A minute's grace for the clock of the office's browser; earlier would change what lines already paid.
    if (now - start).total_seconds() > 60:
        raise ValidationFailed.field("effective_from", "a term cannot start in the past (lines already paid "
                                                       "keep the terms they were paid under)")
    start = max(start, now)
    async with atomic() as conn:
        if not await PARTIES[body.party_type].filter(id=body.party_id).using_db(conn).exists():
            raise NotFound(f"{body.party_type} not found")
        if await FeeTerm.filter(party_type=body.party_type, party_id=body.party_id,
                                effective_from=start).using_db(conn).exists():
            raise Conflict("a term already starts at that time", code=SettlementCode.TERM_EXISTS)
        term = await FeeTerm.create(party_type=body.party_type, party_id=body.party_id, fee_bp=body.fee_bp,
                                    effective_from=start, note=body.note, created_by=actor_id, using_db=conn)
        await audit.record(actor_id, "fee_term.create", body.party_type, body.party_id,
                           {"fee_bp": body.fee_bp, "effective_from": start.isoformat(), "term_id": term.id}, conn=conn)
    return FeeTermOut.model_validate(term)


async def list_terms(party_type: str, party_id: int) -> FeeTermsOut:
    """A party's terms (newest start first) and the fee in force now."""
    if not await PARTIES[party_type].filter(id=party_id).exists():
        raise NotFound(f"{party_type} not found")
    rows = await FeeTerm.filter(party_type=party_type, party_id=party_id).order_by("-effective_from", "-id")
    now_bp = (await in_force(party_type, [party_id], clock.now()))[party_id]
    return FeeTermsOut(party_type=party_type, party_id=party_id, in_force_bp=now_bp,
                       default_bp=default_bp(party_type), terms=[FeeTermOut.model_validate(r) for r in rows])
